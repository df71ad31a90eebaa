package expr

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/weirhq/weir/libs/config/app"
	"github.com/weirhq/weir/libs/topics"
)

// corpusExpr is one expression of the differential test with the context it compiles in.
type corpusExpr struct {
	where string
	expr  hcl.Expression
	ctx   *hcl.EvalContext
}

// baseContext is the context of fragments and generated expressions.
func baseContext() *hcl.EvalContext {
	return &hcl.EvalContext{
		Variables: map[string]cty.Value{
			"var": cty.ObjectVal(map[string]cty.Value{
				"min_amount": cty.NumberIntVal(100),
				"names":      cty.TupleVal([]cty.Value{cty.StringVal("a"), cty.StringVal("b")}),
			}),
			"local": cty.ObjectVal(map[string]cty.Value{"currency": cty.StringVal("EUR"), "prefix": cty.StringVal("prod-")}),
		},
		Functions: app.Functions(),
	}
}

var hclBlockRE = regexp.MustCompile("(?s)```hcl\\n(.*?)```")

// appSources returns the examples' apps and every hcl block of the language reference.
func appSources(t testing.TB) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	paths, _ := filepath.Glob("../../../examples/*/app.hcl")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[p] = b
	}
	doc, err := os.ReadFile("../../../docs/language.md")
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range hclBlockRE.FindAllSubmatch(doc, -1) {
		out[fmt.Sprintf("language.md#%d", i)] = m[1]
	}
	if len(out) < 10 {
		t.Fatalf("found %d sources; want the examples and the reference", len(out))
	}
	return out
}

// exprAttrs are the attributes of pipeline steps and topics that hold record expressions.
var exprAttrs = map[string]bool{"when": true, "key": true, "value": true, "timestamp": true}

// stepBlocks are the blocks whose expression attributes are evaluated per record.
var stepBlocks = map[string]bool{
	"filter": true, "map": true, "set": true, "flat_map": true, "group_by": true, "key_by": true,
	"aggregate": true, "lookup": true, "emit": true, "topic": true,
}

// documentedExprs collects every per-record expression of the examples and the reference.
// Complete apps compile in their own context (variables and locals); fragments in
// baseContext.
func documentedExprs(t testing.TB) []corpusExpr {
	var out []corpusExpr
	for name, src := range appSources(t) {
		f, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatalf("%s: %s", name, diags)
		}
		ctx := baseContext()
		if a, diags := app.Parse(map[string][]byte{name: src}, app.Options{}); !diags.HasErrors() {
			ctx = a.EvalContext()
		}
		var walk func(b *hclsyntax.Body, blockType string)
		walk = func(b *hclsyntax.Body, blockType string) {
			if stepBlocks[blockType] {
				for attrName, at := range b.Attributes {
					if !exprAttrs[attrName] || (blockType == "topic" && attrName != "timestamp") {
						continue
					}
					// A topic's key and value attributes are codecs, not expressions.
					out = append(out, corpusExpr{where: fmt.Sprintf("%s: %s.%s", at.SrcRange, blockType, attrName), expr: at.Expr, ctx: ctx})
				}
			}
			for _, blk := range b.Blocks {
				walk(blk.Body, blk.Type)
			}
		}
		walk(f.Body.(*hclsyntax.Body), "")
	}
	return out
}

// sampleEnvs are the records every expression is evaluated on.
func sampleEnvs() []*Env {
	at := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	hdr := []topics.Header{{Key: "trace", Value: []byte("t-1")}, {Key: "weir-task", Value: []byte("g/0")}}
	payment := map[string]any{
		"id": "p1", "account": "acc-1", "amount": 120.5, "currency": "EUR", "at": "2024-05-01T10:00:00Z",
		"user": "ann", "page": "/Home", "items": []any{"apple", "Pear"}, "name": "Ann",
		"tags": []any{"x", 2.0, true}, "nested": map[string]any{"a": map[string]any{"b": 7.0}, "list": []any{1.0, 2.0}},
		"n": 3.0, "s": "42", "flag": true, "empty": "", "nothing": nil,
	}
	small := map[string]any{
		"id": "p2", "account": "acc-2", "amount": 0.0, "currency": "USD", "user": "bob", "page": "",
		"items": []any{}, "n": -2.0, "s": "x", "flag": false, "empty": "", "nothing": nil, "tags": []any{},
		"nested": map[string]any{"a": map[string]any{"b": -1.5}, "list": []any{}}, "name": "Bob", "at": "2024-05-01T10:00:00.5Z",
	}
	return []*Env{
		{Value: payment, Key: "acc-1", Headers: hdr, Timestamp: at, Partition: 3, Offset: 42,
			Lookups: map[string]any{"limit": map[string]any{"max_amount": 100.0}, "user": map[string]any{"name": "Zed"}}},
		{Value: small, Key: nil, Timestamp: at.Add(time.Second), Partition: 0, Offset: 0,
			Lookups: map[string]any{"limit": nil, "user": nil}},
		{Value: "  The quick brown Fox  jumps ", Key: "line-1", Timestamp: at, Partition: 1, Offset: 7},
		{Value: map[string]any{"amount": 1e15, "currency": "EUR", "items": []any{"a"}, "page": "p", "user": "u", "account": "a", "n": 0.5, "s": "1e3", "flag": true, "tags": []any{"a", "a"}, "at": "x"},
			Key: 12.0, Timestamp: at, Lookups: map[string]any{"limit": map[string]any{"max_amount": "big"}, "user": map[string]any{}}},
		{Value: nil, Key: "k", Timestamp: at},
	}
}

// generated builds a deterministic random corpus of expressions over the sample records'
// fields, the operators and the functions, each parsed from source.
func generated(t testing.TB, n int) []corpusExpr {
	seed := uint64(7)
	if s, err := strconv.ParseUint(os.Getenv("WEIR_EXPR_SEED"), 10, 64); err == nil {
		seed = s
	}
	r := rand.New(rand.NewPCG(seed, 11))
	atoms := []string{
		"value.amount", "value.currency", "value.user", "value.page", "value.items", "value.items[0]",
		"value[\"page\"]", "value.nested.a.b", "value.nested.list", "value.n", "value.s", "value.flag",
		"value.empty", "value.nothing", "value.tags", "value.missing", "value", "key", "partition",
		"offset", "timestamp", "headers[\"trace\"]", "headers.trace", "headers", "lookup.limit",
		"lookup.limit.max_amount", "lookup.user", "var.min_amount", "local.currency", "var.names",
		"1", "0", "2.5", "-3", "100", "\"x\"", "\"EUR\"", "\"\"", "\"a b c\"", "\"3\"", "\"true\"", "true", "false", "null",
		"[1, 2]", "[\"a\", \"b\"]", "[]", "{ a = 1 }", "{}", "value.items[1]", "value.nested[\"a\"]",
	}
	funcs := []struct {
		name  string
		arity int
	}{
		{"lower", 1}, {"upper", 1}, {"trimspace", 1}, {"strlen", 1}, {"split", 2}, {"join", 2}, {"length", 1},
		{"contains", 2}, {"concat", 2}, {"coalesce", 2}, {"tostring", 1}, {"tonumber", 1}, {"jsonencode", 1},
		{"jsondecode", 1}, {"min", 2}, {"max", 2}, {"abs", 1}, {"floor", 1}, {"ceil", 1}, {"substr", 3},
		{"replace", 3}, {"trimprefix", 2}, {"trimsuffix", 2}, {"keys", 1}, {"merge", 2}, {"toset", 1},
		{"tolist", 1}, {"title", 1}, {"format", 2}, {"element", 2}, {"reverse", 1}, {"distinct", 1},
	}
	ops := []string{"+", "-", "*", "/", "%", "==", "!=", "<", ">", "<=", ">=", "&&", "||"}
	var gen func(depth int) string
	gen = func(depth int) string {
		if depth <= 0 {
			return atoms[r.IntN(len(atoms))]
		}
		switch r.IntN(11) {
		case 0, 1:
			return atoms[r.IntN(len(atoms))]
		case 2, 3:
			return "(" + gen(depth-1) + " " + ops[r.IntN(len(ops))] + " " + gen(depth-1) + ")"
		case 4:
			return gen(depth-1) + " ? " + gen(depth-1) + " : " + gen(depth-1)
		case 5, 6:
			f := funcs[r.IntN(len(funcs))]
			args := make([]string, f.arity)
			for i := range args {
				args[i] = gen(depth - 1)
			}
			return f.name + "(" + strings.Join(args, ", ") + ")"
		case 7:
			return "\"${" + gen(depth-1) + "}-${" + gen(depth-1) + "}\""
		case 8:
			return "{ k = " + gen(depth-1) + ", \"q\" = " + gen(depth-1) + " }"
		case 9:
			return "[" + gen(depth-1) + ", " + gen(depth-1) + "]"
		default:
			if r.IntN(2) == 0 {
				return "!" + gen(depth-1)
			}
			return "-" + gen(depth-1)
		}
	}
	ctx := baseContext()
	var out []corpusExpr
	for len(out) < n {
		src := gen(1 + r.IntN(3))
		e, diags := hclsyntax.ParseExpression([]byte(src), "gen.hcl", hcl.InitialPos)
		if diags.HasErrors() {
			continue
		}
		out = append(out, corpusExpr{where: "generated: " + src, expr: e, ctx: ctx})
	}
	return out
}

// handWritten are expressions that probe the edges of the fast paths.
var handWritten = []string{
	`value.amount >= var.min_amount && value.currency == local.currency`,
	`lookup.limit == null || value.amount > lookup.limit.max_amount`,
	`lookup.user == null ? "unknown" : lookup.user.name`,
	`value.flag ? 1 : "x"`, `value.flag ? split(",", "a,b") : []`, `value.flag ? [1] : [1, 2]`,
	`value.flag ? { a = 1 } : { b = 2 }`, `value.flag ? null : value.amount`,
	`"1" + 2`, `"a" + 1`, `value.s * 2`, `value.amount / 0`, `0 / 0`, `value.n % 2`, `value.amount % 0`, `-7 % 3`, `value.n % -2`,
	`value.amount > "100"`, `true && "true"`, `value.nothing && true`, `false && value.missing`, `value.missing || true`,
	`value.flag && value.missing`, `1 == "1"`, `[1, 2] == [1, 2]`, `value.items == ["apple", "Pear"]`, `value.nothing == null`,
	`"${value.amount} EUR"`, `"${value.flag}"`, `"${value.nothing}"`, `"${value.items}"`, `"%{if value.flag}yes%{else}no%{endif}"`,
	`"%{for x in value.items}${x};%{endfor}"`, `[for x in value.items : upper(x)]`, `{ for x in value.items : x => length(x) }`,
	`value.tags[*]`, `value.items[2]`, `value.items[-1]`, `value.items[0.5]`, `value.items["0"]`, `value["missing"]`,
	`value.nested.list[1]`, `value.nested["a"].b`, `value[key]`, `{ (key) = 1 }`, `{ (value.n) = 1 }`, `{ (value.nothing) = 1 }`,
	`{ a = 1, a = 2 }`, `split(" ", lower(trimspace(value)))`, `length(split(" ", value))`, `upper(value)`, `lower("ÀÉ")`,
	`length("abc")`, `length(value)`, `length(headers)`, `headers["nope"]`, `keys(headers)`, `contains(value.items, "apple")`,
	`contains(split(",", "a,b"), "b")`, `contains(value.tags, 2)`, `concat(value.items, ["z"])`, `concat(split(",", "a"), ["z"])`,
	`coalesce(value.nothing, "d")`, `coalesce(value.nothing, 1, "d")`, `coalesce(value.nothing)`, `tostring(value.amount)`,
	`tostring(value.nothing)`, `tonumber(value.s)`, `tonumber("0x10")`, `tonumber(" 1")`, `format("%s-%d", value.user, value.n)`,
	`format("%05.1f", value.amount)`, `format("%d", 1.5)`, `format("%v %q", value.user, value.flag)`,
	`jsonencode(value)`, `jsonencode({ a = "<b>", n = 1e21, f = 0.1 })`, `jsondecode("{\"a\": [1, 2.5]}")`, `jsondecode("nope")`,
	`min(value.amount, 3, -1)`, `max(value.n)`, `abs(value.n)`, `floor(-2.5)`, `ceil(value.amount)`, `floor(value.amount)`,
	`substr(value.user, 1, 2)`, `substr("hello", 0, -1)`, `substr("hello", 9, 1)`, `substr("hello", -3, 2)`, `substr("héllo", 1, 2)`,
	`replace(value.page, "/", "_")`, `replace("aaa", "", "b")`, `replace("abc", "/b/", "x")`, `trimprefix(value.page, "/")`,
	`formatdate("YYYY-MM-DD'T'hh:mm:ssZ", timestamp)`, `timeadd(timestamp, "1h")`, `partition + offset`, `offset * 2`,
	`regex_replace(value.page, "[a-z]", "x")`, `toset(value.items)`, `length(toset(["a", "a"]))`, `tomap({ a = 1 })`,
	`merge(value, { extra = 1 })`, `lookup(value, "page", "none")`, `element(value.items, 3)`, `jsonencode(split(",", "a,b"))`,
	`key == null ? "none" : key`, `!value.flag`, `-value.amount`, `-value.s`, `!value.s`, `value.amount + value.n * 2 - 1`,
	`value.amount * 100`, `floor(value.amount * 100)`, `{ user = value.user, page = lower(value.page) }`, `{ item = upper(value) }`,
	`value.page != ""`, `value != ""`, `lower(value.missing)`, `value.a.b.c`, `value.nothing.x`, `key.x`,
}

func handWrittenExprs(t testing.TB) []corpusExpr {
	ctx := baseContext()
	var out []corpusExpr
	for _, src := range handWritten {
		e, diags := hclsyntax.ParseExpression([]byte(src), "hand.hcl", hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatalf("parsing %s: %s", src, diags)
		}
		out = append(out, corpusExpr{where: "hand-written: " + src, expr: e, ctx: ctx})
	}
	return out
}
