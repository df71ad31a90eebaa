package expr

import (
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

func (c *compiler) object(e *hclsyntax.ObjectConsExpr) (node, error) {
	type item struct {
		name string // a literal key; "" when key is computed
		key  node
		val  node
	}
	items := make([]item, len(e.Items))
	for i, it := range e.Items {
		ke := it.KeyExpr
		if k, ok := ke.(*hclsyntax.ObjectConsKeyExpr); ok && !k.ForceNonLiteral {
			items[i].name = hcl.ExprAsKeyword(k.Wrapped)
		}
		if items[i].name == "" {
			if k, ok := ke.(*hclsyntax.ObjectConsKeyExpr); ok {
				ke = k.Wrapped
			}
			n, err := c.compile(ke)
			if err != nil {
				return nil, err
			}
			items[i].key = n
		}
		n, err := c.compile(it.ValueExpr)
		if err != nil {
			return nil, err
		}
		items[i].val = n
	}
	ctx := c.ctx
	return func(env *Env) (any, error) {
		out := make(map[string]any, len(items))
		var keys, vals []result
		slow := false
		for i, it := range items {
			name := it.name
			var kr result
			if it.key != nil {
				kr.v, kr.err = it.key(env)
				s, ok := kr.v.(string)
				if kr.err != nil || !ok {
					slow = true
				}
				name = s
			} else {
				kr.v = name
			}
			v, err := it.val(env)
			if slow || err != nil {
				if keys == nil {
					keys, vals = make([]result, len(items)), make([]result, len(items))
					for j := range i {
						keys[j] = result{v: items[j].name}
						if items[j].key != nil {
							keys[j].v, keys[j].err = items[j].key(env)
						}
						vals[j].v, vals[j].err = items[j].val(env)
					}
				}
				slow = true
			}
			if keys != nil {
				keys[i], vals[i] = kr, result{v, err}
				continue
			}
			out[name] = v
		}
		if !slow {
			return out, nil
		}
		n := *e
		n.Items = make([]hclsyntax.ObjectConsItem, len(e.Items))
		for i, it := range e.Items {
			n.Items[i] = hclsyntax.ObjectConsItem{KeyExpr: pre(keys[i], it.KeyExpr.Range()), ValueExpr: pre(vals[i], it.ValueExpr.Range())}
		}
		return evalSlow(&n, ctx)
	}, nil
}

func (c *compiler) tuple(e *hclsyntax.TupleConsExpr) (node, error) {
	elems, err := c.compileAll(e.Exprs)
	if err != nil {
		return nil, err
	}
	return func(env *Env) (any, error) {
		out := make([]any, len(elems))
		for i, el := range elems {
			v, err := el(env)
			if err != nil {
				// HCL still builds a tuple (of a known type) around a failed element.
				return nil, typed(err)
			}
			out[i] = v
		}
		return out, nil
	}, nil
}

func (c *compiler) template(e *hclsyntax.TemplateExpr) (node, error) {
	parts, err := c.compileAll(e.Parts)
	if err != nil {
		return nil, err
	}
	ctx := c.ctx
	return func(env *Env) (any, error) {
		var b strings.Builder
		for i, p := range parts {
			v, err := p(env)
			if err == nil {
				if s, ok := scalarString(v); ok {
					b.WriteString(s)
					continue
				}
			}
			// Leave conversions and errors to HCL, with every part computed.
			rs := make([]result, len(parts))
			for j := range i {
				rs[j].v, rs[j].err = parts[j](env)
			}
			rs[i] = result{v, err}
			for j := i + 1; j < len(parts); j++ {
				rs[j].v, rs[j].err = parts[j](env)
			}
			n := *e
			n.Parts = make([]hclsyntax.Expression, len(parts))
			for j, r := range rs {
				n.Parts[j] = pre(r, e.Parts[j].Range())
			}
			return evalSlow(&n, ctx)
		}
		return b.String(), nil
	}, nil
}

// scalarString converts a string, number or bool to a string as cty does.
func scalarString(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case float64:
		return formatNumber(v), true
	case bool:
		return strconv.FormatBool(v), true
	}
	return "", false
}

// formatNumber formats f as cty's number-to-string conversion does for a float64.
func formatNumber(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
