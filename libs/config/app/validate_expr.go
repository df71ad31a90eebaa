package app

import (
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// checkExpr checks what a pipeline expression refers to and the functions it calls, and
// evaluates it when it is constant. what names the attribute for diagnostics.
func (v *validator) checkExpr(e Expr, sc *scope, what string) {
	if !e.IsSet() {
		return
	}
	bad := false
	for _, tr := range e.Expr.Variables() {
		if !v.checkTraversal(tr, sc, what) {
			bad = true
		}
	}
	if node, ok := e.Expr.(hclsyntax.Node); ok {
		hclsyntax.VisitAll(node, func(n hclsyntax.Node) hcl.Diagnostics {
			if call, ok := n.(*hclsyntax.FunctionCallExpr); ok && !v.checkCall(call) {
				bad = true
			}
			return nil
		})
	}
	if bad || len(e.Expr.Variables()) > 0 {
		return
	}
	if _, diags := e.Expr.Value(v.a.EvalContext()); diags.HasErrors() {
		v.diags = append(v.diags, diags...)
	}
}

func (v *validator) checkTraversal(tr hcl.Traversal, sc *scope, what string) bool {
	root := tr.RootName()
	rng := tr.SourceRange()
	if !sc.allows(root) {
		v.errorf(&rng, "Unknown variable",
			"%s cannot use %q: in %s the variables are %s.%s", what, root, sc.context, listNames(sc.rootNames()), suggest(root, sc.rootNames(), ""))
		return false
	}
	name := ""
	if len(tr) > 1 {
		if at, ok := tr[1].(hcl.TraverseAttr); ok {
			name = at.Name
		}
	}
	switch root {
	case "var":
		if _, ok := v.a.vars[name]; !ok {
			v.errorf(&rng, "Unknown variable", "There is no variable %q; declare it with a variable block.%s", name, suggest(name, sortedKeys(v.a.vars), "var."))
			return false
		}
	case "local":
		if _, ok := v.a.locals[name]; !ok {
			v.errorf(&rng, "Unknown local", "There is no local %q.%s", name, suggest(name, sortedKeys(v.a.locals), "local."))
			return false
		}
	case "lookup":
		if sc.lookups[name] == nil {
			v.errorf(&rng, "Unknown lookup", "lookup.%s is not the result of an earlier lookup step in %s.%s", name, sc.context, suggest(name, sortedKeys(sc.lookups), "lookup."))
			return false
		}
	case "value":
		if _, problem := sc.value.fieldAt(attrPath(tr[1:])); problem != "" {
			v.errorf(&rng, "Unknown field", "%s refers to %s, but %s", what, traversalText(tr), problem)
			return false
		}
	}
	return true
}

// attrPath returns the leading attribute names of a traversal.
func attrPath(tr hcl.Traversal) []string {
	var out []string
	for _, step := range tr {
		switch s := step.(type) {
		case hcl.TraverseAttr:
			out = append(out, s.Name)
		case hcl.TraverseIndex:
			if s.Key.Type() == cty.String && s.Key.IsKnown() && !s.Key.IsNull() {
				out = append(out, s.Key.AsString())
				continue
			}
			return out
		default:
			return out
		}
	}
	return out
}

func traversalText(tr hcl.Traversal) string {
	var b strings.Builder
	b.WriteString(tr.RootName())
	for _, name := range attrPath(tr[1:]) {
		b.WriteString("." + name)
	}
	return b.String()
}

// checkCall checks that a function exists and gets a number of arguments it accepts.
func (v *validator) checkCall(call *hclsyntax.FunctionCallExpr) bool {
	fns := Functions()
	f, ok := fns[call.Name]
	rng := call.NameRange
	if !ok {
		v.errorf(&rng, "Unknown function", "There is no function %q.%s See docs/language.md for the functions.", call.Name, suggest(call.Name, sortedKeys(fns), ""))
		return false
	}
	if call.ExpandFinal {
		return true
	}
	params, variadic := len(f.Params()), f.VarParam() != nil
	switch {
	case len(call.Args) < params:
		v.errorf(&rng, "Not enough arguments", "Function %q wants %s, got %d.", call.Name, argCount(params, variadic), len(call.Args))
		return false
	case len(call.Args) > params && !variadic:
		v.errorf(&rng, "Too many arguments", "Function %q wants %s, got %d.", call.Name, argCount(params, variadic), len(call.Args))
		return false
	}
	return true
}

func argCount(n int, variadic bool) string {
	s := "1 argument"
	if n != 1 {
		s = strconv.Itoa(n) + " arguments"
	}
	if variadic {
		return "at least " + s
	}
	return s
}

// staticType returns the type of an expression when it is knowable without a record: a
// constant's, or a field's named by a plain reference such as value.amount. "" is unknown.
func (v *validator) staticType(e Expr, sc *scope) string {
	if !e.IsSet() {
		return ""
	}
	if len(e.Expr.Variables()) == 0 {
		val, diags := e.Expr.Value(v.a.EvalContext())
		if diags.HasErrors() || !val.IsKnown() || val.IsNull() {
			return ""
		}
		switch ty := val.Type(); {
		case ty == cty.String:
			return "string"
		case ty == cty.Number:
			return "number"
		case ty == cty.Bool:
			return "bool"
		case ty.IsTupleType() || ty.IsListType() || ty.IsSetType():
			return "list"
		case ty.IsObjectType() || ty.IsMapType():
			return "object"
		}
		return ""
	}
	tr, diags := hcl.AbsTraversalForExpr(e.Expr)
	if diags.HasErrors() {
		return ""
	}
	switch tr.RootName() {
	case "value":
		path := attrPath(tr[1:])
		if len(path) != len(tr)-1 || len(path) == 0 {
			return ""
		}
		f, _ := sc.value.fieldAt(path)
		if f != nil {
			return string(f.Type)
		}
	case "timestamp":
		if len(tr) == 1 {
			return "timestamp"
		}
	case "partition", "offset":
		if len(tr) == 1 {
			return "number"
		}
	}
	return ""
}
