package expr

import (
	"math"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// step is one compiled traversal step: an attribute or a constant index.
type step func(v any) (any, error)

func (c *compiler) traversal(e *hclsyntax.ScopeTraversalExpr) (node, error) {
	tr := e.Traversal
	for _, s := range tr {
		if _, ok := s.(hcl.TraverseSplat); ok {
			return c.fallback(e)
		}
	}
	name := tr.RootName()
	rest := tr[1:]
	var root node
	switch name {
	case "value":
		root = func(env *Env) (any, error) { return env.Value, nil }
	case "key":
		root = func(env *Env) (any, error) { return env.Key, nil }
	case "lookup":
		if len(rest) > 0 {
			if at, ok := rest[0].(hcl.TraverseAttr); ok {
				rest = rest[1:]
				lookupName, rng := at.Name, at.SrcRange
				root = func(env *Env) (any, error) {
					v, ok := env.Lookups[lookupName]
					if !ok {
						return nil, untypedErrAt(rng, "Unknown lookup", "There is no lookup named \""+lookupName+"\" before this step.")
					}
					return v, nil
				}
			}
		}
	case "headers":
		if len(rest) > 0 {
			if hname, ok := stepName(rest[0]); ok {
				rng := rest[0].SourceRange()
				rest = rest[1:]
				root = func(env *Env) (any, error) {
					if v, ok := env.header(hname); ok {
						return v, nil
					}
					return nil, untypedErrAt(rng, "Invalid index", "The given key does not identify an element in this collection value: there is no header \""+hname+"\".")
				}
			}
		}
	}
	if root == nil {
		root = func(env *Env) (any, error) { return env.root(name) }
	}
	steps := compileSteps(rest)
	if len(steps) == 0 {
		return root, nil
	}
	return func(env *Env) (any, error) {
		v, err := root(env)
		if err != nil {
			return nil, err
		}
		return applySteps(steps, v)
	}, nil
}

func (c *compiler) relTraversal(e *hclsyntax.RelativeTraversalExpr) (node, error) {
	for _, s := range e.Traversal {
		if _, ok := s.(hcl.TraverseSplat); ok {
			return c.fallback(e)
		}
	}
	src, err := c.compile(e.Source)
	if err != nil {
		return nil, err
	}
	steps := compileSteps(e.Traversal)
	return func(env *Env) (any, error) {
		v, err := src(env)
		if err != nil {
			return nil, err
		}
		return applySteps(steps, v)
	}, nil
}

func applySteps(steps []step, v any) (any, error) {
	var err error
	for _, s := range steps {
		if v, err = s(v); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// stepName returns the name an attribute or constant string index step selects.
func stepName(s hcl.Traverser) (string, bool) {
	switch s := s.(type) {
	case hcl.TraverseAttr:
		return s.Name, true
	case hcl.TraverseIndex:
		if s.Key.Type() == cty.String && s.Key.IsKnown() && !s.Key.IsNull() {
			return s.Key.AsString(), true
		}
	}
	return "", false
}

func compileSteps(tr hcl.Traversal) []step {
	out := make([]step, 0, len(tr))
	for _, s := range tr {
		out = append(out, compileStep(s))
	}
	return out
}

func compileStep(s hcl.Traverser) step {
	slow := func(v any) (any, error) {
		c, err := ToCty(v)
		if err != nil {
			return nil, err
		}
		r, diags := s.TraversalStep(c)
		if diags.HasErrors() {
			return nil, &Error{Diags: diags, untyped: true}
		}
		return FromCty(r)
	}
	if name, ok := stepName(s); ok {
		return func(v any) (any, error) {
			if m, ok := v.(map[string]any); ok {
				if x, found := m[name]; found {
					return x, nil
				}
			}
			return slow(v)
		}
	}
	if ix, ok := s.(hcl.TraverseIndex); ok && ix.Key.Type() == cty.Number && ix.Key.IsKnown() && !ix.Key.IsNull() {
		f, _ := ix.Key.AsBigFloat().Float64()
		return func(v any) (any, error) {
			if x, ok := sliceIndex(v, f); ok {
				return x, nil
			}
			return slow(v)
		}
	}
	return slow
}

// sliceIndex returns v[f] when v is a tuple or list and f an index in range.
func sliceIndex(v any, f float64) (any, bool) {
	var s []any
	switch v := v.(type) {
	case []any:
		s = v
	case List:
		s = v
	default:
		return nil, false
	}
	if f != math.Trunc(f) || f < 0 || f >= float64(len(s)) {
		return nil, false
	}
	return s[int(f)], true
}

func (c *compiler) index(e *hclsyntax.IndexExpr) (node, error) {
	coll, err := c.compile(e.Collection)
	if err != nil {
		return nil, err
	}
	key, err := c.compile(e.Key)
	if err != nil {
		return nil, err
	}
	ctx := c.ctx
	return func(env *Env) (any, error) {
		cv, cerr := coll(env)
		kv, kerr := key(env)
		if cerr == nil && kerr == nil {
			switch k := kv.(type) {
			case string:
				if m, ok := cv.(map[string]any); ok {
					if x, found := m[k]; found {
						return x, nil
					}
				}
			case float64:
				if x, ok := sliceIndex(cv, k); ok {
					return x, nil
				}
			}
		}
		n := *e
		n.Collection = pre(result{cv, cerr}, e.Collection.Range())
		n.Key = pre(result{kv, kerr}, e.Key.Range())
		v, err := evalSlow(&n, ctx)
		if e, ok := err.(*Error); ok && cerr == nil && kerr == nil {
			e.untyped = true
		}
		return v, err
	}, nil
}
