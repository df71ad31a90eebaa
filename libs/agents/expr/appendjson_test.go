package expr

import (
	"bytes"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/weirhq/weir/libs/topics"
)

// objectOf wraps expressions as the values of an object constructor with literal keys.
func objectOf(keys []string, vals []hclsyntax.Expression) *hclsyntax.ObjectConsExpr {
	o := &hclsyntax.ObjectConsExpr{}
	for i, k := range keys {
		o.Items = append(o.Items, hclsyntax.ObjectConsItem{
			KeyExpr:   &hclsyntax.ObjectConsKeyExpr{Wrapped: &hclsyntax.ScopeTraversalExpr{Traversal: hcl.Traversal{hcl.TraverseRoot{Name: k}}}},
			ValueExpr: vals[i],
		})
	}
	return o
}

// TestAppendJSONMatchesEval checks, over the differential corpus wrapped in objects, that
// AppendJSON gives exactly the bytes of topics.AppendJSON on what Eval returns whenever it
// applies, and that it does not apply where Eval fails.
func TestAppendJSONMatchesEval(t *testing.T) {
	var corpus []corpusExpr
	corpus = append(corpus, documentedExprs(t)...)
	corpus = append(corpus, handWrittenExprs(t)...)
	corpus = append(corpus, generated(t, 500)...)
	envs := sampleEnvs()
	applied := 0
	for _, c := range corpus {
		se, ok := c.expr.(hclsyntax.Expression)
		if !ok {
			continue
		}
		// Keys out of order, so that the encoding must sort them.
		p, err := Compile(objectOf([]string{"z", "a", "m"}, []hclsyntax.Expression{se, se, &hclsyntax.LiteralValueExpr{}}), c.ctx)
		if err != nil {
			continue
		}
		for i, env := range envs {
			got, ok := p.AppendJSON([]byte("prefix"), env)
			v, err := p.Eval(env)
			if !ok {
				if string(got) != "prefix" {
					t.Errorf("%s on record %d: not applied, but dst changed to %q", c.where, i, got)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s on record %d: AppendJSON gave %s but Eval fails: %v", c.where, i, got, err)
				continue
			}
			want, err := topics.AppendJSON([]byte("prefix"), v)
			if err != nil {
				t.Errorf("%s on record %d: AppendJSON gave %s but encoding Eval's value fails: %v", c.where, i, got, err)
				continue
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s on record %d:\n AppendJSON: %s\n Eval+AppendJSON: %s", c.where, i, got, want)
			}
			applied++
		}
	}
	if applied < 1000 {
		t.Fatalf("AppendJSON applied %d times over the corpus; want most of it", applied)
	}
	t.Logf("%d evaluations encoded directly", applied)
}

func TestAppendJSONOnlyLiteralDistinctKeys(t *testing.T) {
	env := &Env{Value: map[string]any{"user": "u1", "n": 2.0}}
	for src, want := range map[string]bool{
		`{ user = value.user, n = value.n }`:      true,
		`{ b = 1, a = [value.n, "x"], c = null }`: true,
		`{ (value.user) = 1 }`:                    false, // computed key
		`{ "user" = 1 }`:                          false, // quoted key: a template
		`{ a = 1, a = 2 }`:                        false, // repeated key
		`value`:                                   false, // not a constructor
		`{ a = value.missing.deeper }`:            false, // fails to evaluate
	} {
		e, diags := hclsyntax.ParseExpression([]byte(src), "t.hcl", hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		p, err := Compile(e, baseContext())
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		got, ok := p.AppendJSON(nil, env)
		if ok != want {
			t.Errorf("%s: applied = %v (%s), want %v", src, ok, got, want)
		}
		if ok {
			v, err := p.Eval(env)
			if err != nil {
				t.Fatalf("%s: %v", src, err)
			}
			if enc, _ := topics.AppendJSON(nil, v); !bytes.Equal(got, enc) {
				t.Errorf("%s: %s, want %s", src, got, enc)
			}
		}
	}
}
