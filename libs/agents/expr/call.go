package expr

import (
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// nativeFunc is a function implemented on Go values. It returns handled = false when
// its arguments are not the types its fast path knows, and the call goes to cty.
type nativeFunc func(args []any) (v any, handled bool, err error)

func (c *compiler) call(e *hclsyntax.FunctionCallExpr) (node, error) {
	args, err := c.compileAll(e.Args)
	if err != nil {
		return nil, err
	}
	fn := nativeFuncs[e.Name]
	if e.ExpandFinal {
		fn = nil
	}
	ctx := c.ctx
	return func(env *Env) (any, error) {
		vals := make([]any, len(args))
		var failed []result
		for i, a := range args {
			v, err := a(env)
			if err != nil && failed == nil {
				failed = make([]result, len(args))
				for j := range i {
					failed[j].v = vals[j]
				}
			}
			if failed != nil {
				failed[i] = result{v, err}
			}
			vals[i] = v
		}
		if failed == nil && fn != nil {
			if v, ok, err := fn(vals); ok {
				return v, err
			}
		}
		n := *e
		n.Args = make([]hclsyntax.Expression, len(args))
		for i := range args {
			r := result{v: vals[i]}
			if failed != nil {
				r = failed[i]
			}
			n.Args[i] = pre(r, e.Args[i].Range())
		}
		return evalSlow(&n, ctx)
	}, nil
}
