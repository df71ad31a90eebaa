package app

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// errorAt returns an error diagnostic about the source at rng.
func errorAt(rng *hcl.Range, summary, detail string, args ...any) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: fmt.Sprintf(detail, args...), Subject: rng}
}

// FormatDiagnostic writes d on one line as "file:line:col: error: summary: detail", with
// the file's base name; the golden files of the tests hold this form.
func FormatDiagnostic(d *hcl.Diagnostic) string {
	where := "-"
	if d.Subject != nil {
		where = fmt.Sprintf("%s:%d:%d", filepath.Base(d.Subject.Filename), d.Subject.Start.Line, d.Subject.Start.Column)
	}
	sev := "error"
	if d.Severity == hcl.DiagWarning {
		sev = "warning"
	}
	detail := strings.Join(strings.Fields(d.Detail), " ")
	if detail == "" {
		return fmt.Sprintf("%s: %s: %s", where, sev, d.Summary)
	}
	return fmt.Sprintf("%s: %s: %s: %s", where, sev, d.Summary, detail)
}

// suggest returns " Did you mean X?" for the candidate closest to given, or "".
func suggest(given string, candidates []string, prefix string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		if d := levenshtein(given, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" Did you mean %s%s?", prefix, best)
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// listOr formats alternatives for a diagnostic: "a, b or c".
func listOr(names []string) string {
	s := listNames(names)
	if i := strings.LastIndex(s, " and "); i >= 0 && len(names) > 1 {
		s = s[:i] + " or " + s[i+5:]
	}
	return s
}

// listNames formats names for a diagnostic: "a, b and c", or "none".
func listNames(names []string) string {
	switch len(names) {
	case 0:
		return "none"
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}
