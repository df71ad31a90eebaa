package expr

import (
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"testing"
)

// TestDifferential compiles every expression of the examples, the language reference, a
// hand-written list of edge cases and a generated corpus, evaluates each on sample records
// natively and with cty, and requires the same results: the same value, or an error from
// both.
func TestDifferential(t *testing.T) {
	var corpus []corpusExpr
	corpus = append(corpus, documentedExprs(t)...)
	documented := len(corpus)
	corpus = append(corpus, handWrittenExprs(t)...)
	corpus = append(corpus, generated(t, corpusSize())...)
	if documented < 20 {
		t.Fatalf("found %d documented expressions; want the examples' and the reference's", documented)
	}
	envs := sampleEnvs()
	var evals, failures, fallbacks int
	for _, c := range corpus {
		p, err := Compile(c.expr, c.ctx)
		if err != nil {
			// Compilation fails only for constants that do not evaluate: so must cty.
			if _, cerr := EvalCty(c.expr, c.ctx, envs[0]); cerr == nil {
				t.Errorf("%s: compile failed but cty evaluates it: %v", c.where, err)
			}
			continue
		}
		if p.Stats().Fallbacks > 0 {
			fallbacks++
		}
		for i, env := range envs {
			evals++
			got, gerr := p.Eval(env)
			want, werr := EvalCty(c.expr, c.ctx, env)
			switch {
			case gerr != nil && werr != nil:
			case gerr != nil || werr != nil:
				failures++
				t.Errorf("%s on record %d:\n compiled: %v (err %v)\n cty:      %v (err %v)", c.where, i, show(got), gerr, show(want), werr)
			case !sameValue(got, want):
				failures++
				t.Errorf("%s on record %d:\n compiled: %s\n cty:      %s", c.where, i, show(got), show(want))
			}
			if failures > 40 {
				t.Fatal("too many differences")
			}
		}
	}
	t.Logf("%d expressions (%d documented), %d evaluations, %d with a whole-node cty fallback", len(corpus), documented, evals, fallbacks)
}

func show(v any) string { return fmt.Sprintf("%#v", v) }

// sameValue compares results; numbers may differ in the last bits, where cty computed
// with a 512-bit literal (see the package comment).
func sameValue(a, b any) bool {
	switch a := a.(type) {
	case float64:
		b, ok := b.(float64)
		if !ok {
			return false
		}
		if a == b || (math.IsInf(a, 0) && a == b) {
			return true
		}
		return math.Abs(a-b) <= 1e-12*math.Max(math.Abs(a), math.Abs(b))
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, v := range a {
			w, ok := b[k]
			if !ok || !sameValue(v, w) {
				return false
			}
		}
		return true
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !sameValue(a[i], b[i]) {
				return false
			}
		}
		return true
	case string:
		b, ok := b.(string)
		return ok && (a == b || roundDecimals(a) == roundDecimals(b))
	}
	return a == b
}

var decimalRE = regexp.MustCompile(`[0-9]+\.[0-9]+`)

// roundDecimals rounds the decimal numbers in s to 12 significant digits: a number
// formatted into a string keeps the precision it was computed with.
func roundDecimals(s string) string {
	return decimalRE.ReplaceAllStringFunc(s, func(d string) string {
		f, err := strconv.ParseFloat(d, 64)
		if err != nil {
			return d
		}
		return strconv.FormatFloat(f, 'g', 12, 64)
	})
}

// corpusSize is the generated corpus' size: WEIR_EXPR_CORPUS overrides the default 3000.
func corpusSize() int {
	n := 3000
	if s := os.Getenv("WEIR_EXPR_CORPUS"); s != "" {
		if v, err := strconv.Atoi(s); err == nil && v > 0 {
			n = v
		}
	}
	return n
}
