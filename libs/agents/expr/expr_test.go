package expr

import (
	"sync"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

func compileSrc(t *testing.T, src string) *Program {
	t.Helper()
	e, diags := hclsyntax.ParseExpression([]byte(src), "t.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	p, err := Compile(e, baseContext())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDocumentedExpressionsAreNative checks that the examples' and the reference's
// expressions compile without any whole-node cty fallback.
func TestDocumentedExpressionsAreNative(t *testing.T) {
	for _, c := range documentedExprs(t) {
		p, err := Compile(c.expr, c.ctx)
		if err != nil {
			t.Errorf("%s: %v", c.where, err)
			continue
		}
		if p.Stats().Fallbacks > 0 {
			t.Errorf("%s: %d fallbacks", c.where, p.Stats().Fallbacks)
		}
	}
}

func TestStatsAndFolding(t *testing.T) {
	p := compileSrc(t, `value.amount >= var.min_amount * 2 && local.currency == "EUR"`)
	if s := p.Stats(); s.Fallbacks != 0 || s.Constants < 2 {
		t.Errorf("stats = %+v; want constants folded and no fallback", s)
	}
	if s := compileSrc(t, `[for x in value.items : upper(x)]`).Stats(); s.Fallbacks != 1 {
		t.Errorf("a for expression: stats = %+v; want one fallback", s)
	}
}

func TestEvalBool(t *testing.T) {
	for src, want := range map[string]any{
		`value.flag`: true, `"true"`: true, `value.s`: "error", `value.nothing`: "error", `tostring(null)`: "error", `1`: "error",
	} {
		got, err := compileSrc(t, src).EvalBool(&Env{Value: map[string]any{"flag": true, "s": "x", "nothing": nil}})
		if want == "error" {
			if err == nil {
				t.Errorf("%s: got %v; want an error", src, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("%s = %v, %v; want %v", src, got, err, want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	e, _ := hclsyntax.ParseExpression([]byte(`nope.x`), "t.hcl", hcl.InitialPos)
	if _, err := Compile(e, baseContext()); err == nil {
		t.Error("compiling an unknown variable succeeded")
	}
	if _, err := Compile(nil, nil); err == nil {
		t.Error("compiling nil succeeded")
	}
}

// TestConcurrentEval evaluates one program from many goroutines (run with -race).
func TestConcurrentEval(t *testing.T) {
	p := compileSrc(t, `{ u = upper(value.user), n = value.n * 2, t = "${key}-${partition}" }`)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 100 {
				v, err := p.Eval(&Env{Value: map[string]any{"user": "a", "n": float64(i)}, Key: "k"})
				if err != nil {
					t.Error(err)
					return
				}
				if m := v.(map[string]any); m["n"] != float64(2*i) || m["t"] != "k-0" {
					t.Errorf("got %v", m)
					return
				}
			}
		})
	}
	wg.Wait()
}
