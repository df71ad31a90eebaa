package expr

import (
	"math"

	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// arith and compare implement the operators on float64 operands.
var (
	arith = map[*hclsyntax.Operation]func(a, b float64) (float64, bool){
		hclsyntax.OpAdd:      func(a, b float64) (float64, bool) { return a + b, true },
		hclsyntax.OpSubtract: func(a, b float64) (float64, bool) { return a - b, true },
		hclsyntax.OpMultiply: func(a, b float64) (float64, bool) { return a * b, true },
		hclsyntax.OpDivide: func(a, b float64) (float64, bool) {
			// 0/0 and Inf/Inf are errors in cty: leave them to it.
			if (a == 0 && b == 0) || (math.IsInf(a, 0) && math.IsInf(b, 0)) {
				return 0, false
			}
			return a / b, true
		},
		hclsyntax.OpModulo: func(a, b float64) (float64, bool) {
			// cty truncates the quotient, as math.Mod does; x % 0 is x.
			if a != math.Trunc(a) || b != math.Trunc(b) || math.IsInf(a, 0) || math.IsInf(b, 0) {
				return 0, false
			}
			if b == 0 {
				return a, true
			}
			return math.Mod(a, b), true
		},
	}
	compare = map[*hclsyntax.Operation]func(a, b float64) bool{
		hclsyntax.OpGreaterThan:        func(a, b float64) bool { return a > b },
		hclsyntax.OpGreaterThanOrEqual: func(a, b float64) bool { return a >= b },
		hclsyntax.OpLessThan:           func(a, b float64) bool { return a < b },
		hclsyntax.OpLessThanOrEqual:    func(a, b float64) bool { return a <= b },
	}
)

func (c *compiler) binary(e *hclsyntax.BinaryOpExpr) (node, error) {
	lhs, err := c.compile(e.LHS)
	if err != nil {
		return nil, err
	}
	rhs, err := c.compile(e.RHS)
	if err != nil {
		return nil, err
	}
	ctx := c.ctx
	slow := func(l, r result) (any, error) {
		n := *e
		n.LHS = pre(l, e.LHS.Range())
		n.RHS = pre(r, e.RHS.Range())
		return evalSlow(&n, ctx)
	}
	both := func(env *Env) (result, result) {
		lv, lerr := lhs(env)
		rv, rerr := rhs(env)
		return result{lv, lerr}, result{rv, rerr}
	}
	switch op := e.Op; {
	case arith[op] != nil:
		f := arith[op]
		return func(env *Env) (any, error) {
			l, r := both(env)
			if l.err == nil && r.err == nil {
				a, aok := l.v.(float64)
				b, bok := r.v.(float64)
				if aok && bok {
					if x, ok := f(a, b); ok {
						return x, nil
					}
				}
			}
			return slow(l, r)
		}, nil
	case compare[op] != nil:
		f := compare[op]
		return func(env *Env) (any, error) {
			l, r := both(env)
			if l.err == nil && r.err == nil {
				a, aok := l.v.(float64)
				b, bok := r.v.(float64)
				if aok && bok {
					return f(a, b), nil
				}
			}
			return slow(l, r)
		}, nil
	case op == hclsyntax.OpEqual || op == hclsyntax.OpNotEqual:
		negate := op == hclsyntax.OpNotEqual
		return func(env *Env) (any, error) {
			l, r := both(env)
			if l.err == nil && r.err == nil {
				if eq, ok := scalarEqual(l.v, r.v); ok {
					return eq != negate, nil
				}
			}
			return slow(l, r)
		}, nil
	case op == hclsyntax.OpLogicalAnd || op == hclsyntax.OpLogicalOr:
		and := op == hclsyntax.OpLogicalAnd
		whole := c.whole(e)
		return func(env *Env) (any, error) {
			// HCL evaluates both sides; a controlling side drops the other's errors.
			l, r := both(env)
			if l.err == nil && r.err == nil {
				a, aok := l.v.(bool)
				b, bok := r.v.(bool)
				if aok && bok {
					if and {
						return a && b, nil
					}
					return a || b, nil
				}
			}
			if typedFailure(l, r) {
				return whole(env)
			}
			return slow(l, r)
		}, nil
	}
	return c.fallback(e)
}

// scalarEqual compares two values when both are null or scalars; ok is false when either
// is a collection, which cty compares by type and content.
func scalarEqual(a, b any) (eq, ok bool) {
	switch a := a.(type) {
	case nil:
		switch b.(type) {
		case nil:
			return true, true
		case string, float64, bool:
			return false, true
		}
	case string:
		switch b := b.(type) {
		case string:
			return a == b, true
		case nil, float64, bool:
			return false, true
		}
	case float64:
		switch b := b.(type) {
		case float64:
			return a == b, true
		case nil, string, bool:
			return false, true
		}
	case bool:
		switch b := b.(type) {
		case bool:
			return a == b, true
		case nil, string, float64:
			return false, true
		}
	}
	return false, false
}

func (c *compiler) unary(e *hclsyntax.UnaryOpExpr) (node, error) {
	val, err := c.compile(e.Val)
	if err != nil {
		return nil, err
	}
	ctx := c.ctx
	not := e.Op == hclsyntax.OpLogicalNot
	return func(env *Env) (any, error) {
		v, verr := val(env)
		if verr == nil {
			if b, ok := v.(bool); ok && not {
				return !b, nil
			}
			if f, ok := v.(float64); ok && !not {
				return -f, nil
			}
		}
		n := *e
		n.Val = pre(result{v, verr}, e.Val.Range())
		return evalSlow(&n, ctx)
	}, nil
}

func (c *compiler) conditional(e *hclsyntax.ConditionalExpr) (node, error) {
	cond, err := c.compile(e.Condition)
	if err != nil {
		return nil, err
	}
	yes, err := c.compile(e.TrueResult)
	if err != nil {
		return nil, err
	}
	no, err := c.compile(e.FalseResult)
	if err != nil {
		return nil, err
	}
	ctx := c.ctx
	whole := c.whole(e)
	return func(env *Env) (any, error) {
		// HCL evaluates both results to unify their types, then keeps one.
		cv, cerr := cond(env)
		tv, terr := yes(env)
		fv, ferr := no(env)
		if b, ok := cv.(bool); ok && cerr == nil {
			sel, other := result{tv, terr}, result{fv, ferr}
			if !b {
				sel, other = other, sel
			}
			if sel.err == nil && sameKind(sel.v, other) {
				return sel.v, nil
			}
		}
		if typedFailure(result{cv, cerr}, result{tv, terr}, result{fv, ferr}) {
			return whole(env)
		}
		n := *e
		n.Condition = pre(result{cv, cerr}, e.Condition.Range())
		n.TrueResult = pre(result{tv, terr}, e.TrueResult.Range())
		n.FalseResult = pre(result{fv, ferr}, e.FalseResult.Range())
		return evalSlow(&n, ctx)
	}, nil
}

// sameKind reports whether a conditional may return v unchanged next to other: other
// failed (its type is unknown), either is null, or both are scalars of one type.
func sameKind(v any, other result) bool {
	if other.err != nil {
		return untyped(other.err)
	}
	if other.v == nil {
		return true
	}
	if v == nil {
		return false // HCL returns a null of the other result's type
	}
	switch v.(type) {
	case string:
		_, ok := other.v.(string)
		return ok
	case float64:
		_, ok := other.v.(float64)
		return ok
	case bool:
		_, ok := other.v.(bool)
		return ok
	}
	return false
}

// typedFailure reports whether a child failed with a typed unknown result (see Error):
// then the parent is evaluated with cty as a whole, which knows that type.
func typedFailure(rs ...result) bool {
	for _, r := range rs {
		if r.err != nil && !untyped(r.err) {
			return true
		}
	}
	return false
}
