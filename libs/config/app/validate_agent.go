package app

import (
	"fmt"
	"slices"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/weirhq/weir/libs/config/cron"
)

func (v *validator) agent(g *Agent) {
	var sources []*Topic
	seen := map[string]bool{}
	for _, r := range g.From {
		if seen[r.Name] {
			v.errorf(r.Range.Ptr(), "Duplicate source", "Agent %q reads topic.%s twice.", g.Name, r.Name)
			continue
		}
		seen[r.Name] = true
		if t := v.topicRef(r); t != nil {
			sources = append(sources, t)
		}
	}
	v.handlerOrSteps("Agent", g.Name, g.ranges, g.DeclRange, g.Handler, g.Steps)
	v.onError(g)
	sc := &scope{context: "agent " + g.Name, roots: recordRoots, lookups: map[string]*Table{}, value: v.sourcesShape(sources)}
	v.pipeline(g.Name, g.Steps, sc, false)
}

// handlerOrSteps checks that a handler or a pipeline is given, not both, and that the
// handler is known.
func (v *validator) handlerOrSteps(kind, name string, r ranges, decl hcl.Range, handler string, steps []*Step) {
	switch {
	case r.has("handler") && len(steps) > 0:
		v.errorf(steps[0].DeclRange.Ptr(), "Handler and pipeline",
			"%s %q has handler = %q and pipeline steps; give one or the other.", kind, name, handler)
	case !r.has("handler") && len(steps) == 0:
		v.errorf(decl.Ptr(), "Nothing to do",
			"%s %q has neither a handler nor pipeline steps; give handler = \"NAME\" or steps such as filter, aggregate and emit.", kind, name)
	}
	if handler == "" {
		if r.has("handler") {
			v.errorf(r.at("handler", decl), "Invalid handler", "handler must name a Go handler, got an empty string.")
		}
		return
	}
	if reg := v.a.opts.Handlers; len(reg) > 0 && !slices.Contains(reg, handler) {
		v.errorf(r.at("handler", decl), "Unknown handler",
			"There is no Go handler %q in this build; the handlers are %s.%s", handler, listNames(slices.Sorted(slices.Values(reg))), suggest(handler, reg, ""))
	}
}

func (v *validator) onError(g *Agent) {
	p := g.OnError
	at := func(name string) *hcl.Range { return p.ranges.at(name, p.DeclRange) }
	dl := v.topicRef(p.DeadLetter)
	switch {
	case p.Then == ThenDeadLetter && !p.ranges.has("dead_letter"):
		v.errorf(at("then"), "Missing dead_letter", "then = \"dead_letter\" needs dead_letter = topic.NAME.")
	case p.Then != ThenDeadLetter && p.Then != "" && p.DeadLetter.IsSet():
		v.errorf(p.DeadLetter.Range.Ptr(), "Unused dead_letter",
			"dead_letter is only used with then = \"dead_letter\"; this policy has then = %q.", p.Then)
	}
	if dl != nil && slices.ContainsFunc(g.From, func(r Ref) bool { return r.Name == dl.Name }) {
		v.errorf(p.DeadLetter.Range.Ptr(), "Dead letters to a source",
			"Agent %q reads topic.%s; sending its failures there would loop.", g.Name, dl.Name)
	}
	if p.ranges.has("backoff") && p.ranges.has("max_backoff") && p.Backoff > p.MaxBackoff {
		v.errorf(at("max_backoff"), "Backoff above its maximum", "max_backoff (%s) is smaller than backoff (%s).", p.MaxBackoff, p.Backoff)
	}
}

func (v *validator) timer(t *Timer) {
	switch {
	case t.ranges.has("every") && t.ranges.has("cron"):
		v.errorf(t.ranges.at("cron", t.DeclRange), "Both every and cron", "Timer %q gives every and cron; give one.", t.Name)
	case !t.ranges.has("every") && !t.ranges.has("cron"):
		v.errorf(t.DeclRange.Ptr(), "Missing schedule", "Timer %q needs every = \"DURATION\" or cron = \"EXPRESSION\".", t.Name)
	}
	if t.Cron != "" {
		if _, err := cron.Parse(t.Cron); err != nil {
			v.errorf(t.ranges.at("cron", t.DeclRange), "Invalid cron expression", "%s.", err)
		}
	}
	v.handlerOrSteps("Timer", t.Name, t.ranges, t.DeclRange, t.Handler, t.Steps)
	sc := &scope{context: "timer " + t.Name, roots: []string{"timestamp"}, lookups: map[string]*Table{}}
	v.pipeline(t.Name, t.Steps, sc, true)
}

// timerSteps are the steps a timer's pipeline may have: it has no record to transform.
var timerSteps = []string{StepFilter, StepLookup, StepEmit}

// pipeline checks the steps of an agent or timer in order, tracking what the value looks
// like and which lookups are defined.
func (v *validator) pipeline(owner string, steps []*Step, sc *scope, timer bool) {
	lookupNames := map[string]*Step{}
	for i, s := range steps {
		if timer && !slices.Contains(timerSteps, s.Kind) {
			v.errorf(s.DeclRange.Ptr(), "Step not allowed in a timer",
				"A timer has no incoming record, so it can only filter, lookup global tables and emit; %s is not allowed.", s.Kind)
			continue
		}
		what := func(attr string) string { return fmt.Sprintf("%s.%s", s.Kind, attr) }
		switch s.Kind {
		case StepFilter:
			v.checkExpr(s.When, sc, what("when"))
			if ft := v.staticType(s.When, sc); ft != "" && ft != "bool" {
				v.errorf(s.When.Range.Ptr(), "Wrong type", "filter.when must be true or false; %s is a %s.", s.When.Source, ft)
			}
		case StepMap:
			if !s.Key.IsSet() && !s.Value.IsSet() {
				v.errorf(s.DeclRange.Ptr(), "Empty map step", "A map step sets key, value or both.")
			}
			v.checkExpr(s.Key, sc, what("key"))
			v.checkExpr(s.Value, sc, what("value"))
			if s.Value.IsSet() {
				sc.value = exprShape(s.Value)
			}
		case StepSet:
			v.checkExpr(s.Value, sc, what("value"))
			if sc.value.scalar != "" {
				v.errorf(s.DeclRange.Ptr(), "Set on a non-record value",
					"set adds a field to a record, but the value is a %s (%s); use map to replace it.", sc.value.scalar, sc.value.origin)
			} else if sc.value.known && s.Label != "" && findField(sc.value.fields, s.Label) == nil {
				sc.value.fields = append(slices.Clone(sc.value.fields), &Field{Name: s.Label})
			}
		case StepFlatMap:
			v.checkExpr(s.Value, sc, what("value"))
			if ft := v.staticType(s.Value, sc); ft != "" && ft != "list" {
				v.errorf(s.Value.Range.Ptr(), "Wrong type", "flat_map.value must be a list, one record per element; %s is a %s.", s.Value.Source, ft)
			}
			sc.value = shape{}
		case StepGroupBy, StepKeyBy:
			v.checkExpr(s.Key, sc, what("key"))
			s.Repartition = ""
			if s.Kind == StepGroupBy || needsPartitionedState(steps[i+1:], v.tables) {
				s.Repartition = fmt.Sprintf("%s%s.%s.repartition-%d", weirInternalPrefix, v.a.Name, owner, i)
			}
		case StepAggregate:
			v.aggregate(s, sc, what)
		case StepLookup:
			v.lookup(s, sc, timer, lookupNames)
		case StepEmit:
			v.emit(s, sc, timer, what)
		}
	}
}

// needsPartitionedState reports whether a step among rest keeps or reads per-key state of
// a partitioned table, so that a new key must be repartitioned first.
func needsPartitionedState(rest []*Step, tables map[string]*Table) bool {
	for _, s := range rest {
		switch s.Kind {
		case StepAggregate:
			return true
		case StepLookup:
			if t := tables[s.Table.Name]; t == nil || !t.Global {
				return true
			}
		case StepGroupBy:
			return false
		}
	}
	return false
}

// exprShape is the value's shape after map sets it to e: the keys of an object
// constructor, otherwise unknown.
func exprShape(e Expr) shape {
	obj, ok := e.Expr.(*hclsyntax.ObjectConsExpr)
	if !ok {
		return shape{}
	}
	out := shape{known: true, origin: "the object built by map at " + e.Range.String()}
	for _, item := range obj.Items {
		name := hcl.ExprAsKeyword(item.KeyExpr)
		if name == "" {
			if v, diags := item.KeyExpr.Value(nil); !diags.HasErrors() && v.IsKnown() && !v.IsNull() && v.Type().FriendlyName() == "string" {
				name = v.AsString()
			}
		}
		if name == "" {
			return shape{}
		}
		out.fields = append(out.fields, &Field{Name: name})
	}
	return out
}

var numericAggregates = []string{"sum", "avg"}

func (v *validator) aggregate(s *Step, sc *scope, what func(string) string) {
	t := v.tableRef(s.Into)
	v.checkExpr(s.Value, sc, what("value"))
	fn := s.Label
	switch {
	case fn == "count" && s.Value.IsSet():
		v.errorf(s.Value.Range.Ptr(), "Unexpected value", "aggregate \"count\" counts records and takes no value.")
	case fn != "" && fn != "count" && !s.Value.IsSet():
		v.errorf(s.DeclRange.Ptr(), "Missing value", "aggregate %q needs value = EXPRESSION: what to %s.", fn, fn)
	}
	if slices.Contains(numericAggregates, fn) {
		if ft := v.staticType(s.Value, sc); ft != "" && ft != "number" {
			v.errorf(s.Value.Range.Ptr(), "Wrong type", "aggregate %q adds numbers; %s is a %s.", fn, s.Value.Source, ft)
		}
	}
	sc.value = shape{}
	if t == nil {
		return
	}
	sc.value = v.tableShape(t)
	if t.Global {
		v.errorf(s.Into.Range.Ptr(), "Aggregate into a global table",
			"Global table %q is fed only by its source topic; aggregate into a partitioned table.", t.Name)
		return
	}
	want := ""
	switch fn {
	case "count", "sum", "avg":
		want = "number"
	case "collect_set":
		want = "list"
	}
	if want != "" && t.Value.Name != "json" && t.Value.Name != "" && t.Value.Name != want {
		v.errorf(s.Into.Range.Ptr(), "Table value type mismatch",
			"aggregate %q stores a %s, but table %q holds %s values.", fn, want, t.Name, t.Value)
	}
}

func (v *validator) lookup(s *Step, sc *scope, timer bool, names map[string]*Step) {
	if prev := names[s.Label]; prev != nil && s.Label != "" {
		v.errorf(s.DeclRange.Ptr(), "Duplicate lookup", "A lookup named %q is already at %s.", s.Label, prev.DeclRange)
	}
	names[s.Label] = s
	t := v.tableRef(s.Table)
	v.checkExpr(s.Key, sc, "lookup.key")
	if t == nil {
		return
	}
	if s.Label != "" {
		sc.lookups[s.Label] = t
	}
	if t.Global {
		return
	}
	switch {
	case timer:
		v.errorf(s.Table.Range.Ptr(), "Lookup of a partitioned table in a timer",
			"A timer runs outside any partition, so it can only look up global tables; table %q is partitioned.", t.Name)
	case s.Key.IsSet() && !isPlainKey(s.Key):
		v.errorf(s.Key.Range.Ptr(), "Lookup in another partition",
			"Table %q is partitioned by key, so a lookup by %s could read another task's partition. Look up by key (re-key with group_by first) or make the table global.",
			t.Name, s.Key.Source)
	}
}

// isPlainKey reports whether e is exactly the record's key.
func isPlainKey(e Expr) bool {
	tr, diags := hcl.AbsTraversalForExpr(e.Expr)
	return !diags.HasErrors() && len(tr) == 1 && tr.RootName() == "key"
}

func (v *validator) emit(s *Step, sc *scope, timer bool, what func(string) string) {
	t := v.topicRef(s.To)
	v.checkExpr(s.Key, sc, what("key"))
	v.checkExpr(s.Value, sc, what("value"))
	if timer && !s.Value.IsSet() {
		v.errorf(s.DeclRange.Ptr(), "Missing value", "A timer has no record to forward: emit needs value = EXPRESSION.")
	}
	if t == nil {
		return
	}
	target := v.topicShape(t)
	if !target.known || !s.Value.IsSet() {
		return
	}
	obj, ok := s.Value.Expr.(*hclsyntax.ObjectConsExpr)
	if !ok {
		return
	}
	for _, item := range obj.Items {
		name := hcl.ExprAsKeyword(item.KeyExpr)
		if name != "" && findField(target.fields, name) == nil && !v.models[t.Value.Model].AllowExtra {
			rng := item.KeyExpr.Range()
			v.errorf(&rng, "Unknown field", "Topic %q holds %s, which has no field %q.", t.Name, target.origin, name)
		}
	}
}
