package app

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const examplesDir = "../../../examples"

// exampleFiles returns every .hcl file under examples/.
func exampleFiles(t testing.TB) []string {
	var out []string
	err := filepath.WalkDir(examplesDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".hcl") {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestExamples checks that every example app is valid and formatted.
func TestExamples(t *testing.T) {
	paths := exampleFiles(t)
	for _, want := range []string{"wordcount/app.hcl", "pageviews/app.hcl", "fraud/app.hcl"} {
		found := false
		for _, p := range paths {
			found = found || strings.HasSuffix(filepath.ToSlash(p), want)
		}
		if !found {
			t.Errorf("examples/%s is missing", want)
		}
	}
	for _, p := range paths {
		t.Run(p, func(t *testing.T) {
			src, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			a, diags := Parse(map[string][]byte{p: src}, Options{})
			for _, d := range diags {
				t.Error(FormatDiagnostic(d))
			}
			if a == nil {
				return
			}
			if !strings.HasPrefix(string(src), "#") {
				t.Errorf("%s does not start with a comment explaining it", p)
			}
			formatted, err := FormatFile(p, src)
			if err != nil {
				t.Fatal(err)
			}
			if string(formatted) != string(src) {
				t.Errorf("%s is not canonically formatted (run controller fmt)", p)
			}
		})
	}
}
