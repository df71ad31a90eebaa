package expr

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// result is the outcome of evaluating one child expression natively.
type result struct {
	v   any
	err error
}

// precomputed is an hclsyntax expression standing for a child whose outcome compiled code
// already has: HCL's evaluator then applies the parent node's own rules (conversions,
// short circuits, type unification, error messages) to it. A failed child evaluates to
// an unknown value with its error, as a failing expression does inside HCL.
type precomputed struct {
	*hclsyntax.LiteralValueExpr
	diags hcl.Diagnostics
}

func (p precomputed) Value(*hcl.EvalContext) (cty.Value, hcl.Diagnostics) {
	return p.Val, p.diags
}

// pre wraps a child's outcome for a slow-path evaluation; rng is the child's range.
func pre(r result, rng hcl.Range) hclsyntax.Expression {
	lit := &hclsyntax.LiteralValueExpr{Val: cty.DynamicVal, SrcRange: rng}
	if r.err != nil {
		return precomputed{lit, hcl.Diagnostics{errDiag(r.err, rng)}}
	}
	v, err := ToCty(r.v)
	if err != nil {
		return precomputed{lit, hcl.Diagnostics{errDiag(err, rng)}}
	}
	lit.Val = v
	return precomputed{LiteralValueExpr: lit}
}

func errDiag(err error, rng hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Evaluation failed", Detail: err.Error(), Subject: rng.Ptr()}
}

// evalSlow evaluates node, whose children are precomputed, with HCL.
func evalSlow(node hclsyntax.Expression, ctx *hcl.EvalContext) (any, error) {
	v, diags := node.Value(ctx)
	if diags.HasErrors() {
		return nil, &Error{Diags: diags}
	}
	out, err := FromCty(v)
	if err != nil {
		return nil, &Error{Diags: hcl.Diagnostics{errDiag(err, node.Range())}}
	}
	return out, nil
}

// Error is an evaluation error: HCL diagnostics with the position in the app's source.
type Error struct {
	Diags hcl.Diagnostics
	// untyped marks the failure of a traversal or index, which HCL turns into a value of
	// unknown type; other failures (of operators and functions) keep their result type,
	// which a conditional or a logical operator around them may still check.
	untyped bool
}

// untyped reports whether err is a traversal's or an index's failure (see Error).
func untyped(err error) bool {
	e, ok := err.(*Error)
	return ok && e.untyped
}

func (e *Error) Error() string {
	// A precomputed child's error repeats the child's own; report the innermost.
	var last *hcl.Diagnostic
	for _, d := range e.Diags {
		if d.Severity == hcl.DiagError {
			last = d
			break
		}
	}
	if last == nil {
		return e.Diags.Error()
	}
	if last.Summary == "Evaluation failed" {
		return last.Detail
	}
	return hcl.Diagnostics{last}.Error()
}

// errAt is a native evaluation error at rng.
func errAt(rng hcl.Range, summary, detail string) error {
	return &Error{Diags: hcl.Diagnostics{{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: rng.Ptr()}}}
}

// untypedErrAt is a traversal's failure at rng.
func untypedErrAt(rng hcl.Range, summary, detail string) error {
	err := errAt(rng, summary, detail).(*Error)
	err.untyped = true
	return err
}

// typed returns err as the failure of an expression whose result type HCL still knows.
func typed(err error) error {
	if e, ok := err.(*Error); ok && e.untyped {
		c := *e
		c.untyped = false
		return &c
	}
	return err
}
