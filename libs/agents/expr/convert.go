package expr

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// List is a cty list: a sequence whose elements have one type, as split returns. Go code
// may treat it as a []any; the distinction matters only to cty's type unification (a
// conditional choosing between split(...) and [] is a list, between two tuples of
// different lengths an error).
type List []any

// ToCty converts a Go value of an Env or a result into a cty value: nil, bool, numbers,
// string, []byte (as a string), time.Time (as an RFC 3339 string), map[string]any (an
// object), map[string]string (a map of strings), []any (a tuple), List, json.Number and
// cty.Value itself.
func ToCty(v any) (cty.Value, error) {
	switch v := v.(type) {
	case nil:
		return cty.NullVal(cty.DynamicPseudoType), nil
	case bool:
		return cty.BoolVal(v), nil
	case string:
		return cty.StringVal(v), nil
	case float64:
		if math.IsNaN(v) {
			return cty.NilVal, fmt.Errorf("converting NaN: not a number")
		}
		return cty.NumberFloatVal(v), nil
	case int:
		return cty.NumberIntVal(int64(v)), nil
	case int32:
		return cty.NumberIntVal(int64(v)), nil
	case int64:
		return cty.NumberIntVal(v), nil
	case json.Number:
		n, err := cty.ParseNumberVal(string(v))
		if err != nil {
			return cty.NilVal, fmt.Errorf("converting number %q: %w", v, err)
		}
		return n, nil
	case []byte:
		return cty.StringVal(string(v)), nil
	case time.Time:
		return cty.StringVal(FormatTime(v)), nil
	case cty.Value:
		return v, nil
	case map[string]any:
		if len(v) == 0 {
			return cty.EmptyObjectVal, nil
		}
		attrs := make(map[string]cty.Value, len(v))
		for k, e := range v {
			c, err := ToCty(e)
			if err != nil {
				return cty.NilVal, err
			}
			attrs[k] = c
		}
		return cty.ObjectVal(attrs), nil
	case map[string]string:
		if len(v) == 0 {
			return cty.MapValEmpty(cty.String), nil
		}
		m := make(map[string]cty.Value, len(v))
		for k, e := range v {
			m[k] = cty.StringVal(e)
		}
		return cty.MapVal(m), nil
	case []any:
		if len(v) == 0 {
			return cty.EmptyTupleVal, nil
		}
		elems, err := toCtySlice(v)
		if err != nil {
			return cty.NilVal, err
		}
		return cty.TupleVal(elems), nil
	case List:
		return listToCty(v)
	}
	return cty.NilVal, fmt.Errorf("converting %T: not a value expressions can use", v)
}

func toCtySlice(v []any) ([]cty.Value, error) {
	elems := make([]cty.Value, len(v))
	for i, e := range v {
		c, err := ToCty(e)
		if err != nil {
			return nil, err
		}
		elems[i] = c
	}
	return elems, nil
}

func listToCty(v List) (cty.Value, error) {
	if len(v) == 0 {
		return cty.ListValEmpty(cty.DynamicPseudoType), nil
	}
	elems, err := toCtySlice(v)
	if err != nil {
		return cty.NilVal, err
	}
	types := make([]cty.Type, len(elems))
	for i, e := range elems {
		types[i] = e.Type()
	}
	ty, convs := convert.UnifyUnsafe(types)
	if ty == cty.NilType {
		return cty.TupleVal(elems), nil
	}
	for i, c := range convs {
		if c == nil {
			continue
		}
		if elems[i], err = c(elems[i]); err != nil {
			return cty.TupleVal(elems), nil
		}
	}
	return cty.ListVal(elems), nil
}

// FromCty converts a cty value into the Go values compiled code works on: objects become
// map[string]any, tuples []any, lists List, and sets and maps stay cty.Value (so that a
// later cty operation sees their type); Export turns those into plain values.
func FromCty(v cty.Value) (any, error) {
	v, _ = v.UnmarkDeep()
	if !v.IsWhollyKnown() {
		// Left for cty operations, which may drop it (coalesce) or fail; Export fails.
		return v, nil
	}
	ty := v.Type()
	if v.IsNull() {
		if ty == cty.DynamicPseudoType {
			return nil, nil
		}
		return v, nil // a typed null (tostring(null)), whose type later cty operations check
	}
	switch {
	case ty == cty.String:
		return v.AsString(), nil
	case ty == cty.Number:
		f, _ := v.AsBigFloat().Float64()
		return f, nil
	case ty == cty.Bool:
		return v.True(), nil
	case ty.IsObjectType():
		m := make(map[string]any, v.LengthInt())
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			g, err := FromCty(e)
			if err != nil {
				return nil, err
			}
			m[k.AsString()] = g
		}
		return m, nil
	case ty.IsTupleType():
		return sliceFromCty(v)
	case ty.IsListType():
		s, err := sliceFromCty(v)
		return List(s), err
	case ty.IsSetType(), ty.IsMapType():
		return v, nil
	}
	return nil, fmt.Errorf("converting a value of type %s: not supported", ty.FriendlyName())
}

func sliceFromCty(v cty.Value) ([]any, error) {
	out := make([]any, 0, v.LengthInt())
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		g, err := FromCty(e)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

// Export returns v as plain JSON-like Go values: nil, bool, float64, string,
// map[string]any and []any. Lists become []any, cty sets and maps become []any and
// map[string]any. Values that need no change are returned as they are.
func Export(v any) (any, error) {
	out, _, err := export(v)
	return out, err
}

func export(v any) (any, bool, error) {
	switch v := v.(type) {
	case map[string]any:
		var copied map[string]any
		for k, e := range v {
			x, changed, err := export(e)
			if err != nil {
				return nil, false, err
			}
			if changed {
				if copied == nil {
					copied = make(map[string]any, len(v))
					for k2, e2 := range v {
						copied[k2] = e2
					}
				}
				copied[k] = x
			}
		}
		if copied != nil {
			return copied, true, nil
		}
		return v, false, nil
	case []any:
		var copied []any
		for i, e := range v {
			x, changed, err := export(e)
			if err != nil {
				return nil, false, err
			}
			if changed {
				if copied == nil {
					copied = append([]any(nil), v...)
				}
				copied[i] = x
			}
		}
		if copied != nil {
			return copied, true, nil
		}
		return v, false, nil
	case List:
		x, _, err := export([]any(v))
		return x, true, err
	case cty.Value:
		x, err := exportCty(v)
		return x, true, err
	}
	return v, false, nil
}

func exportCty(v cty.Value) (any, error) {
	v, _ = v.UnmarkDeep()
	if !v.IsWhollyKnown() {
		return nil, fmt.Errorf("the result is not known")
	}
	if v.IsNull() {
		return nil, nil
	}
	ty := v.Type()
	switch {
	case ty.IsObjectType() || ty.IsMapType():
		m := make(map[string]any, v.LengthInt())
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			g, err := exportCty(e)
			if err != nil {
				return nil, err
			}
			m[k.AsString()] = g
		}
		return m, nil
	case ty.IsTupleType() || ty.IsListType() || ty.IsSetType():
		out := make([]any, 0, v.LengthInt())
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			g, err := exportCty(e)
			if err != nil {
				return nil, err
			}
			out = append(out, g)
		}
		return out, nil
	}
	return FromCty(v)
}

// FormatTime formats t as expressions see timestamps: RFC 3339 with nanoseconds as needed,
// in UTC.
func FormatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
