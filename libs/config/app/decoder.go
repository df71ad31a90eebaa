package app

import (
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// decoder decodes the blocks of one file: it evaluates static attributes in ctx (var,
// local and the functions) and checks the type of every value itself, since HCL would
// convert a number to a string silently. Problems go to diags; a value that failed to
// decode is left unset, so validation does not report it again.
type decoder struct {
	src   []byte
	ctx   *hcl.EvalContext
	diags *hcl.Diagnostics
}

func (d *decoder) add(diag *hcl.Diagnostic) { *d.diags = append(*d.diags, diag) }

func (d *decoder) addAll(diags hcl.Diagnostics) { *d.diags = append(*d.diags, diags...) }

// content decodes body against schema and returns its content with the ranges of its
// attributes.
func (d *decoder) content(body hcl.Body, schema *hcl.BodySchema) (*hcl.BodyContent, ranges) {
	content, diags := body.Content(schema)
	d.addAll(diags)
	r := ranges{}
	for name, attr := range content.Attributes {
		r[name] = attr.Expr.Range()
	}
	return content, r
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// label checks that a block label can be used in a reference (topic.NAME).
func (d *decoder) label(b *hcl.Block, i int) string {
	if i >= len(b.Labels) {
		return ""
	}
	name := b.Labels[i]
	if !identRE.MatchString(name) {
		rng := b.LabelRanges[i]
		d.add(errorAt(&rng, "Invalid name",
			"%s name %q must start with a letter or '_' and hold only letters, digits and '_', so that it can be referenced as %s.NAME.",
			b.Type, name, b.Type))
		return ""
	}
	return name
}

// value evaluates attr. It returns false, without a diagnostic of its own, when the value
// is unknown (it depends on something that already failed).
func (d *decoder) value(attr *hcl.Attribute) (cty.Value, bool) {
	v, diags := attr.Expr.Value(d.ctx)
	d.addAll(diags)
	if diags.HasErrors() || !v.IsWhollyKnown() {
		return cty.NilVal, false
	}
	if v.IsNull() {
		d.add(errorAt(attr.Expr.Range().Ptr(), "Invalid value", "%s may not be null.", attr.Name))
		return cty.NilVal, false
	}
	return v, true
}

func (d *decoder) wrongType(attr *hcl.Attribute, want string, v cty.Value) {
	d.add(errorAt(attr.Expr.Range().Ptr(), "Wrong type",
		"%s must be %s, got %s.", attr.Name, want, describe(v)))
}

// describe names the type of v for a diagnostic, with the value when it is short.
func describe(v cty.Value) string {
	ty := v.Type()
	switch {
	case ty == cty.String:
		s := v.AsString()
		if len(s) > 30 {
			s = s[:30] + "…"
		}
		return fmt.Sprintf("the string %q", s)
	case ty == cty.Number:
		return "the number " + v.AsBigFloat().Text('g', -1)
	case ty == cty.Bool:
		return fmt.Sprintf("the bool %t", v.True())
	case ty.IsObjectType() || ty.IsMapType():
		return "an object"
	case ty.IsTupleType() || ty.IsListType() || ty.IsSetType():
		return "a list"
	}
	return ty.FriendlyName()
}

func (d *decoder) str(attr *hcl.Attribute) (string, bool) {
	v, ok := d.value(attr)
	if !ok {
		return "", false
	}
	if v.Type() != cty.String {
		d.wrongType(attr, "a string", v)
		return "", false
	}
	return v.AsString(), true
}

func (d *decoder) boolean(attr *hcl.Attribute) (bool, bool) {
	v, ok := d.value(attr)
	if !ok {
		return false, false
	}
	if v.Type() != cty.Bool {
		d.wrongType(attr, "true or false", v)
		return false, false
	}
	return v.True(), true
}

// integer decodes a whole number between lo and hi.
func (d *decoder) integer(attr *hcl.Attribute, lo, hi int) (int, bool) {
	v, ok := d.value(attr)
	if !ok {
		return 0, false
	}
	if v.Type() != cty.Number {
		d.wrongType(attr, "a whole number", v)
		return 0, false
	}
	f := v.AsBigFloat()
	if !f.IsInt() {
		d.wrongType(attr, "a whole number", v)
		return 0, false
	}
	if f.Cmp(big.NewFloat(float64(lo))) < 0 || f.Cmp(big.NewFloat(float64(hi))) > 0 {
		d.add(errorAt(attr.Expr.Range().Ptr(), "Value out of range",
			"%s must be between %d and %d, got %s.", attr.Name, lo, hi, f.Text('g', -1)))
		return 0, false
	}
	n, _ := f.Int64()
	return int(n), true
}

func (d *decoder) duration(attr *hcl.Attribute) (Duration, bool) {
	s, ok := d.str(attr)
	if !ok {
		return 0, false
	}
	dur, err := ParseDuration(s)
	if err != nil {
		d.add(errorAt(attr.Expr.Range().Ptr(), "Invalid duration", "%s: %s.", attr.Name, err))
		return 0, false
	}
	return dur, true
}

// oneOf decodes a string that must be one of allowed.
func (d *decoder) oneOf(attr *hcl.Attribute, allowed ...string) (string, bool) {
	s, ok := d.str(attr)
	if !ok {
		return "", false
	}
	for _, a := range allowed {
		if s == a {
			return s, true
		}
	}
	d.add(errorAt(attr.Expr.Range().Ptr(), "Invalid value",
		"%s must be one of %s, got %q.%s", attr.Name, quoteAll(allowed), s, suggest(s, allowed, "")))
	return "", false
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return listOr(q)
}

// stringMap decodes an object of strings.
func (d *decoder) stringMap(attr *hcl.Attribute) (map[string]string, bool) {
	v, ok := d.value(attr)
	if !ok {
		return nil, false
	}
	if !v.Type().IsObjectType() && !v.Type().IsMapType() {
		d.wrongType(attr, "an object of strings", v)
		return nil, false
	}
	out := map[string]string{}
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		if e.IsNull() || e.Type() != cty.String {
			d.add(errorAt(attr.Expr.Range().Ptr(), "Wrong type",
				"%s[%q] must be a string, got %s.", attr.Name, k.AsString(), describeMaybeNull(e)))
			return nil, false
		}
		out[k.AsString()] = e.AsString()
	}
	return out, true
}

func describeMaybeNull(v cty.Value) string {
	if v.IsNull() {
		return "null"
	}
	return describe(v)
}

// goValue converts a known value to what encoding/json would decode it to.
func goValue(v cty.Value) (any, error) {
	b, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return nil, fmt.Errorf("encoding value as JSON: %w", err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("decoding value JSON: %w", err)
	}
	return out, nil
}

// anyValue decodes a static value of any type as a Go value.
func (d *decoder) anyValue(attr *hcl.Attribute) (any, cty.Value, bool) {
	v, ok := d.value(attr)
	if !ok {
		return nil, cty.NilVal, false
	}
	g, err := goValue(v)
	if err != nil {
		d.add(errorAt(attr.Expr.Range().Ptr(), "Invalid value", "%s: %s.", attr.Name, err))
		return nil, cty.NilVal, false
	}
	return g, v, true
}

// ref decodes a reference kind.NAME.
func (d *decoder) ref(attr *hcl.Attribute, kind string) (Ref, bool) {
	return d.refExpr(attr.Name, attr.Expr, kind)
}

func (d *decoder) refExpr(what string, expr hcl.Expression, kind string) (Ref, bool) {
	trav, diags := hcl.AbsTraversalForExpr(expr)
	if diags.HasErrors() || len(trav) != 2 || trav.RootName() != kind {
		d.add(errorAt(expr.Range().Ptr(), "Invalid reference",
			"%s must be a reference to a %s, such as %s.NAME; got %s.", what, kind, kind, d.describeExpr(expr)))
		return Ref{}, false
	}
	name, ok := trav[1].(hcl.TraverseAttr)
	if !ok {
		d.add(errorAt(expr.Range().Ptr(), "Invalid reference",
			"%s must be a reference to a %s, such as %s.NAME.", what, kind, kind))
		return Ref{}, false
	}
	return Ref{Kind: kind, Name: name.Name, Range: expr.Range()}, true
}

// describeExpr names what an expression is, for diagnostics: a literal's type, or its text.
func (d *decoder) describeExpr(expr hcl.Expression) string {
	if len(expr.Variables()) == 0 {
		if v, diags := expr.Value(nil); !diags.HasErrors() && v.IsWhollyKnown() && !v.IsNull() {
			return describe(v)
		}
	}
	rng := expr.Range()
	if rng.End.Byte <= len(d.src) && rng.Start.Byte <= rng.End.Byte {
		return fmt.Sprintf("%q", string(rng.SliceBytes(d.src)))
	}
	return "an expression"
}

// refList decodes one reference or a list of them.
func (d *decoder) refList(attr *hcl.Attribute, kind string) ([]Ref, bool) {
	exprs, diags := hcl.ExprList(attr.Expr)
	if diags.HasErrors() {
		r, ok := d.ref(attr, kind)
		if !ok {
			return nil, false
		}
		return []Ref{r}, true
	}
	if len(exprs) == 0 {
		d.add(errorAt(attr.Expr.Range().Ptr(), "Invalid value", "%s must name at least one %s.", attr.Name, kind))
		return nil, false
	}
	var out []Ref
	ok := true
	for _, e := range exprs {
		r, good := d.refExpr(attr.Name, e, kind)
		ok = ok && good
		if good {
			out = append(out, r)
		}
	}
	return out, ok
}

// typeName decodes a type keyword such as string, or model.NAME, from allowed. A quoted
// keyword ("string") is accepted too.
func (d *decoder) typeName(attr *hcl.Attribute, allowModel bool, allowed ...string) (Type, bool) {
	rng := attr.Expr.Range()
	if trav, diags := hcl.AbsTraversalForExpr(attr.Expr); !diags.HasErrors() {
		if len(trav) == 2 && trav.RootName() == "model" && allowModel {
			if a, ok := trav[1].(hcl.TraverseAttr); ok {
				return Type{Name: "model", Model: a.Name, Range: rng}, true
			}
		}
	}
	kw := hcl.ExprAsKeyword(attr.Expr)
	if kw == "" && len(attr.Expr.Variables()) == 0 {
		if v, diags := attr.Expr.Value(nil); !diags.HasErrors() && v.Type() == cty.String && v.IsKnown() && !v.IsNull() {
			kw = v.AsString()
		}
	}
	for _, a := range allowed {
		if kw == a {
			return Type{Name: kw, Range: rng}, true
		}
	}
	want := listOr(allowed)
	if allowModel {
		want += " or model.NAME"
	}
	d.add(errorAt(rng.Ptr(), "Invalid type", "%s must be one of %s; got %s.%s", attr.Name, want, d.describeExpr(attr.Expr), suggest(kw, allowed, "")))
	return Type{}, false
}

// expr captures a pipeline expression.
func (d *decoder) expr(attr *hcl.Attribute) Expr { return newExpr(attr.Expr, d.src) }
