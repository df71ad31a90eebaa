package expr

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/weirhq/weir/libs/topics"
)

// node is a compiled expression.
type node func(env *Env) (any, error)

// Program is a compiled expression. It is immutable and safe for concurrent use.
type Program struct {
	expr  hcl.Expression
	eval  node
	stats Stats
	obj   *objectJSON // set for an object constructor with distinct literal keys
}

// objectJSON is an object constructor's keys, sorted, with their values' nodes.
type objectJSON struct {
	keys []string
	vals []node
}

// Stats says how much of an expression was compiled natively.
type Stats struct {
	Nodes     int // expression nodes compiled
	Constants int // of them, folded into constants
	Fallbacks int // of them, evaluated with cty as a whole (for expressions, splats, for-templates)
}

// Compile compiles e once. ctx is the app's evaluation context (app.EvalContext): its var
// and local values are folded into the program and its functions are the ones
// expressions may call. e's variables other than var and local must be among Roots.
func Compile(e hcl.Expression, ctx *hcl.EvalContext) (*Program, error) {
	if e == nil {
		return nil, fmt.Errorf("compiling: no expression")
	}
	if ctx == nil {
		ctx = &hcl.EvalContext{}
	}
	for _, tr := range e.Variables() {
		if r := tr.RootName(); r != "var" && r != "local" && !slices.Contains(Roots, r) {
			rng := tr.SourceRange()
			return nil, fmt.Errorf("compiling %s: unknown variable %q", rng, r)
		}
	}
	c := &compiler{ctx: ctx}
	var fn node
	var err error
	if se, ok := e.(hclsyntax.Expression); ok {
		fn, err = c.compile(se)
	} else {
		fn, err = c.fallback(e)
	}
	if err != nil {
		return nil, err
	}
	p := &Program{expr: e, eval: fn, stats: c.stats}
	if oe, ok := e.(*hclsyntax.ObjectConsExpr); ok {
		p.obj = compileObjectJSON(oe, ctx)
	}
	return p, nil
}

// compileObjectJSON compiles an object constructor's values one by one, for AppendJSON;
// nil when a key is not a literal or is repeated, or a value does not compile.
func compileObjectJSON(e *hclsyntax.ObjectConsExpr, ctx *hcl.EvalContext) *objectJSON {
	type item struct {
		key string
		val node
	}
	items := make([]item, 0, len(e.Items))
	c := &compiler{ctx: ctx}
	for _, it := range e.Items {
		k, ok := it.KeyExpr.(*hclsyntax.ObjectConsKeyExpr)
		if !ok || k.ForceNonLiteral {
			return nil
		}
		name := hcl.ExprAsKeyword(k.Wrapped)
		if name == "" || slices.ContainsFunc(items, func(i item) bool { return i.key == name }) {
			return nil
		}
		n, err := c.compile(it.ValueExpr)
		if err != nil {
			return nil
		}
		items = append(items, item{name, n})
	}
	slices.SortFunc(items, func(a, b item) int { return strings.Compare(a.key, b.key) })
	o := &objectJSON{}
	for _, it := range items {
		o.keys, o.vals = append(o.keys, it.key), append(o.vals, it.val)
	}
	return o
}

// AppendJSON appends the program's value encoded as topics.AppendJSON encodes what Eval
// returns, without building the value, when the program is an object constructor with
// distinct literal keys (`{ user = value.user, n = 1 }`) and every value evaluates to
// something topics' fast encoder takes. Otherwise ok is false and dst is returned as it
// was: Eval and encoding then give the value, or the error.
func (p *Program) AppendJSON(dst []byte, env *Env) (out []byte, ok bool) {
	o := p.obj
	if o == nil {
		return dst, false
	}
	var buf [8]any
	vals := buf[:0]
	for _, n := range o.vals {
		v, err := n(env)
		if err != nil {
			return dst, false
		}
		if v, err = Export(v); err != nil {
			return dst, false
		}
		vals = append(vals, v)
	}
	return topics.AppendJSONObject(dst, o.keys, vals)
}

// Stats reports how the program was compiled.
func (p *Program) Stats() Stats { return p.stats }

// Range is where the expression is written.
func (p *Program) Range() hcl.Range { return p.expr.Range() }

// Eval evaluates the program on env and returns a plain value (see Export).
func (p *Program) Eval(env *Env) (any, error) {
	v, err := p.eval(env)
	if err != nil {
		return nil, err
	}
	return Export(v)
}

// EvalBool evaluates the program as a condition: true or false, or a value cty converts to
// a bool (the strings "true" and "false"). Null is an error.
func (p *Program) EvalBool(env *Env) (bool, error) {
	v, err := p.eval(env)
	if err != nil {
		return false, err
	}
	if b, ok := v.(bool); ok {
		return b, nil
	}
	rng := p.expr.Range()
	if v == nil {
		return false, errAt(rng, "Null condition", "The condition is null; it must be true or false.")
	}
	c, err := ToCty(v)
	if err == nil {
		c, err = convert.Convert(c, cty.Bool)
	}
	if err != nil {
		return false, errAt(rng, "Not a bool", fmt.Sprintf("The condition must be true or false: %v.", err))
	}
	if c.IsNull() || !c.IsKnown() {
		return false, errAt(rng, "Null condition", "The condition is null; it must be true or false.")
	}
	return c.True(), nil
}

type compiler struct {
	ctx   *hcl.EvalContext
	stats Stats
}

// constant reports whether e needs no record: it refers to var and local only.
func constant(e hcl.Expression) bool {
	for _, tr := range e.Variables() {
		if r := tr.RootName(); r != "var" && r != "local" {
			return false
		}
	}
	return true
}

func (c *compiler) compile(e hclsyntax.Expression) (node, error) {
	c.stats.Nodes++
	if constant(e) {
		return c.fold(e)
	}
	switch e := e.(type) {
	case *hclsyntax.ParenthesesExpr:
		c.stats.Nodes--
		return c.compile(e.Expression)
	case *hclsyntax.TemplateWrapExpr:
		c.stats.Nodes--
		return c.compile(e.Wrapped)
	case *hclsyntax.ScopeTraversalExpr:
		return c.traversal(e)
	case *hclsyntax.RelativeTraversalExpr:
		return c.relTraversal(e)
	case *hclsyntax.IndexExpr:
		return c.index(e)
	case *hclsyntax.BinaryOpExpr:
		return c.binary(e)
	case *hclsyntax.UnaryOpExpr:
		return c.unary(e)
	case *hclsyntax.ConditionalExpr:
		return c.conditional(e)
	case *hclsyntax.FunctionCallExpr:
		return c.call(e)
	case *hclsyntax.ObjectConsExpr:
		return c.object(e)
	case *hclsyntax.TupleConsExpr:
		return c.tuple(e)
	case *hclsyntax.TemplateExpr:
		return c.template(e)
	}
	return c.fallback(e)
}

// fold evaluates an expression that needs no record once, at compile time.
func (c *compiler) fold(e hclsyntax.Expression) (node, error) {
	c.stats.Constants++
	v, diags := e.Value(c.ctx)
	if diags.HasErrors() {
		// Validation reports constants that fail; one that is left (in a branch a
		// conditional may drop) fails when evaluated, as it does in HCL.
		err := &Error{Diags: diags}
		return func(*Env) (any, error) { return nil, err }, nil
	}
	g, err := FromCty(v)
	if err != nil {
		return nil, fmt.Errorf("evaluating the constant %s: %w", e.Range(), err)
	}
	return func(*Env) (any, error) { return g, nil }, nil
}

// fallback evaluates e with cty: its per-record variables are converted for each
// evaluation.
func (c *compiler) fallback(e hcl.Expression) (node, error) {
	c.stats.Fallbacks++
	return c.whole(e), nil
}

// whole evaluates e with cty as a whole, for the rare records a native node cannot
// decide alone.
func (c *compiler) whole(e hcl.Expression) node {
	var roots []string
	for _, tr := range e.Variables() {
		if r := tr.RootName(); r != "var" && r != "local" && !slices.Contains(roots, r) {
			roots = append(roots, r)
		}
	}
	ctx := c.ctx
	return func(env *Env) (any, error) {
		child := ctx.NewChild()
		child.Variables = make(map[string]cty.Value, len(roots))
		for _, r := range roots {
			v, err := env.ctyRoot(r)
			if err != nil {
				return nil, err
			}
			child.Variables[r] = v
		}
		v, diags := e.Value(child)
		if diags.HasErrors() {
			return nil, &Error{Diags: diags}
		}
		return FromCty(v)
	}
}

// compileAll compiles expressions in order.
func (c *compiler) compileAll(es []hclsyntax.Expression) ([]node, error) {
	out := make([]node, len(es))
	for i, e := range es {
		n, err := c.compile(e)
		if err != nil {
			return nil, err
		}
		out[i] = n
	}
	return out, nil
}

// EvalCty evaluates e the way HCL does, with cty, in a child of ctx holding env's
// variables. It is the reference compiled programs agree with, and what the benchmarks
// compare against.
func EvalCty(e hcl.Expression, ctx *hcl.EvalContext, env *Env) (any, error) {
	child := ctx.NewChild()
	child.Variables = map[string]cty.Value{}
	for _, r := range Roots {
		v, err := env.ctyRoot(r)
		if err != nil {
			return nil, err
		}
		child.Variables[r] = v
	}
	v, diags := e.Value(child)
	if diags.HasErrors() {
		return nil, &Error{Diags: diags}
	}
	g, err := FromCty(v)
	if err != nil {
		return nil, err
	}
	return Export(g)
}
