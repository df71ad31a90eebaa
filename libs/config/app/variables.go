package app

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// variableDecl is a decoded variable block before its value is known.
type variableDecl struct {
	v   *Variable
	ty  cty.Type
	def cty.Value // cty.NilVal when there is no default
}

// variables decodes the variable blocks, applies -var-file and -var, and puts the values in
// the evaluation context as var.NAME. A variable that cannot be set is unknown, so that
// attributes using it are not reported a second time.
func (p *parser) variables(a *App, blocks []block) {
	decls := map[string]*variableDecl{}
	for _, b := range blocks {
		d := b.d
		name := d.label(b.Block, 0)
		content, _ := d.content(b.Body, variableSchema)
		if name == "" {
			continue
		}
		if prev := decls[name]; prev != nil {
			d.add(errorAt(b.DefRange.Ptr(), "Duplicate variable", "Variable %q is already declared at %s.", name, prev.v.DeclRange))
			continue
		}
		decl := &variableDecl{v: &Variable{Name: name, DeclRange: b.DefRange}, ty: cty.DynamicPseudoType}
		decls[name] = decl
		attrs := content.Attributes
		if at := attrs["type"]; at != nil {
			ty, diags := typeexpr.TypeConstraint(at.Expr)
			d.addAll(diags)
			if !diags.HasErrors() {
				decl.ty = ty
			}
		}
		if at := attrs["description"]; at != nil {
			decl.v.Description, _ = d.str(at)
		}
		if at := attrs["default"]; at != nil {
			v, diags := at.Expr.Value(nil)
			d.addAll(diags)
			if !diags.HasErrors() {
				if cv, err := convert.Convert(v, decl.ty); err != nil {
					d.add(errorAt(at.Expr.Range().Ptr(), "Invalid default",
						"The default of variable %q does not fit its type %s: %s.", name, typeexpr.TypeString(decl.ty), err))
				} else {
					decl.def = cv
				}
			}
		}
		decl.v.Type = typeexpr.TypeString(decl.ty)
	}

	set := map[string]cty.Value{}
	for _, f := range p.opts.VarFiles {
		p.varFile(f, decls, set)
	}
	for _, kv := range p.opts.Vars {
		p.varFlag(kv, decls, set)
	}

	vals := map[string]cty.Value{}
	for _, name := range sortedKeys(decls) {
		decl := decls[name]
		v, ok := set[name]
		switch {
		case ok:
		case decl.def != cty.NilVal:
			v = decl.def
		default:
			*p.diags = append(*p.diags, errorAt(decl.v.DeclRange.Ptr(), "Missing variable value",
				"Variable %q has no default: set it with -var %s=VALUE or in a -var-file.", name, name))
			v = cty.DynamicVal
		}
		vals[name] = v
		if v.IsWhollyKnown() {
			decl.v.Value, _ = goValue(v)
		}
		a.Variables = append(a.Variables, decl.v)
	}
	a.vars = vals
	p.ctx.Variables = map[string]cty.Value{"var": cty.ObjectVal(vals)}
}

func (p *parser) varFile(f File, decls map[string]*variableDecl, set map[string]cty.Value) {
	file, diags := hclsyntax.ParseConfig(f.Src, f.Name, hcl.InitialPos)
	*p.diags = append(*p.diags, diags...)
	if diags.HasErrors() {
		return
	}
	attrs, diags := file.Body.JustAttributes()
	*p.diags = append(*p.diags, diags...)
	for _, name := range sortedKeys(attrs) {
		at := attrs[name]
		decl := decls[name]
		if decl == nil {
			*p.diags = append(*p.diags, errorAt(at.NameRange.Ptr(), "Undeclared variable",
				"%s sets variable %q, which the app does not declare.%s", f.Name, name, suggest(name, sortedKeys(decls), "")))
			continue
		}
		v, diags := at.Expr.Value(nil)
		*p.diags = append(*p.diags, diags...)
		if diags.HasErrors() {
			continue
		}
		p.setVar(decl, v, at.Expr.Range().Ptr(), set)
	}
}

func (p *parser) varFlag(kv string, decls map[string]*variableDecl, set map[string]cty.Value) {
	name, raw, ok := strings.Cut(kv, "=")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		*p.diags = append(*p.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid -var option",
			Detail: fmt.Sprintf("-var %q: want NAME=VALUE.", kv)})
		return
	}
	decl := decls[name]
	if decl == nil {
		*p.diags = append(*p.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Undeclared variable",
			Detail: fmt.Sprintf("-var sets variable %q, which the app does not declare.%s", name, suggest(name, sortedKeys(decls), ""))})
		return
	}
	if decl.ty == cty.String || decl.ty == cty.DynamicPseudoType {
		set[name] = cty.StringVal(raw)
		return
	}
	expr, diags := hclsyntax.ParseExpression([]byte(raw), "-var "+name, hcl.InitialPos)
	*p.diags = append(*p.diags, diags...)
	if diags.HasErrors() {
		return
	}
	v, diags := expr.Value(nil)
	*p.diags = append(*p.diags, diags...)
	if !diags.HasErrors() {
		p.setVar(decl, v, nil, set)
	}
}

func (p *parser) setVar(decl *variableDecl, v cty.Value, rng *hcl.Range, set map[string]cty.Value) {
	cv, err := convert.Convert(v, decl.ty)
	if err != nil {
		*p.diags = append(*p.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid variable value", Subject: rng,
			Detail: fmt.Sprintf("Variable %q wants %s: %s.", decl.v.Name, typeexpr.TypeString(decl.ty), err)})
		set[decl.v.Name] = cty.DynamicVal
		return
	}
	set[decl.v.Name] = cv
}

// locals evaluates the locals blocks in dependency order and puts them in the context as
// local.NAME. A local that refers to itself through others, or to an unknown local, is
// reported.
func (p *parser) locals(a *App, blocks []block) {
	type pending struct {
		attr *hcl.Attribute
		d    *decoder
	}
	todo := map[string]pending{}
	for _, b := range blocks {
		attrs, diags := b.Body.JustAttributes()
		b.d.addAll(diags)
		for _, name := range sortedKeys(attrs) {
			at := attrs[name]
			if prev, dup := todo[name]; dup {
				b.d.add(errorAt(at.NameRange.Ptr(), "Duplicate local", "Local %q is already defined at %s.", name, prev.attr.NameRange))
				continue
			}
			todo[name] = pending{attr: at, d: b.d}
		}
	}
	vals := map[string]cty.Value{}
	setCtx := func() {
		p.ctx.Variables["local"] = cty.ObjectVal(vals)
	}
	setCtx()
	for progress := true; progress && len(todo) > 0; {
		progress = false
		for _, name := range sortedKeys(todo) {
			pd := todo[name]
			if !localsReady(pd.attr.Expr, vals) {
				continue
			}
			v, diags := pd.attr.Expr.Value(p.ctx)
			pd.d.addAll(diags)
			if diags.HasErrors() {
				v = cty.DynamicVal
			}
			vals[name] = v
			a.Locals = append(a.Locals, &Local{Name: name, DeclRange: pd.attr.NameRange})
			if v.IsWhollyKnown() {
				a.Locals[len(a.Locals)-1].Value, _ = goValue(v)
			}
			delete(todo, name)
			setCtx()
			progress = true
		}
	}
	for _, name := range sortedKeys(todo) {
		pd := todo[name]
		missing := ""
		for _, tr := range pd.attr.Expr.Variables() {
			if tr.RootName() != "local" || len(tr) < 2 {
				continue
			}
			if at, ok := tr[1].(hcl.TraverseAttr); ok {
				if _, known := todo[at.Name]; !known {
					if _, done := vals[at.Name]; !done {
						missing = at.Name
					}
				}
			}
		}
		if missing != "" {
			pd.d.add(errorAt(pd.attr.Expr.Range().Ptr(), "Unknown local",
				"Local %q refers to local.%s, which is not defined.", name, missing))
		} else {
			pd.d.add(errorAt(pd.attr.Expr.Range().Ptr(), "Cycle in locals",
				"Local %q depends on itself through other locals.", name))
		}
		vals[name] = cty.DynamicVal
	}
	setCtx()
	sortByName(a.Locals, func(l *Local) string { return l.Name })
	a.locals = vals
}

// localsReady reports whether every local expr refers to is already evaluated.
func localsReady(expr hcl.Expression, vals map[string]cty.Value) bool {
	for _, tr := range expr.Variables() {
		if tr.RootName() != "local" || len(tr) < 2 {
			continue
		}
		at, ok := tr[1].(hcl.TraverseAttr)
		if !ok {
			continue
		}
		if _, done := vals[at.Name]; !done {
			return false
		}
	}
	return true
}
