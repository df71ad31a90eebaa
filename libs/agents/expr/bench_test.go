package expr

import (
	"encoding/json"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// benchRecord is a ~100-byte JSON record.
var benchRecord = []byte(`{"user":"user-1234","page":"/Products/42","amount":42.5,"currency":"EUR","at":"2024-05-01T10:00:00Z"}`)

const (
	benchFilter = `value.amount > 10 && value.currency == "EUR"`
	benchMap    = `{ user = value.user, page = lower(value.page), cents = floor(value.amount * 100) }`
)

func parseBench(b *testing.B, src string) hcl.Expression {
	e, diags := hclsyntax.ParseExpression([]byte(src), "bench.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	return e
}

// BenchmarkFilterMapEncode decodes a ~100-byte JSON record, filters it, maps it to a new
// object and encodes that as JSON: with compiled programs, with cty evaluation of the
// same expressions, and in plain Go (the floor).
func BenchmarkFilterMapEncode(b *testing.B) {
	ctx := baseContext()
	filter, mapping := parseBench(b, benchFilter), parseBench(b, benchMap)
	b.Run("compiled", func(b *testing.B) {
		fp, err := Compile(filter, ctx)
		if err != nil {
			b.Fatal(err)
		}
		mp, err := Compile(mapping, ctx)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			var v any
			if err := json.Unmarshal(benchRecord, &v); err != nil {
				b.Fatal(err)
			}
			env := Env{Value: v}
			ok, err := fp.EvalBool(&env)
			if err != nil || !ok {
				b.Fatal(ok, err)
			}
			out, err := mp.Eval(&env)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := json.Marshal(out); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cty", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v any
			if err := json.Unmarshal(benchRecord, &v); err != nil {
				b.Fatal(err)
			}
			env := Env{Value: v}
			ok, err := EvalCty(filter, ctx, &env)
			if err != nil || ok != true {
				b.Fatal(ok, err)
			}
			out, err := EvalCty(mapping, ctx, &env)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := json.Marshal(out); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("go", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v map[string]any
			if err := json.Unmarshal(benchRecord, &v); err != nil {
				b.Fatal(err)
			}
			amount, _ := v["amount"].(float64)
			if !(amount > 10 && v["currency"] == "EUR") {
				b.Fatal("filtered out")
			}
			page, _ := v["page"].(string)
			out := map[string]any{"user": v["user"], "page": lowerASCII(page), "cents": float64(int64(amount * 100))}
			if _, err := json.Marshal(out); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
