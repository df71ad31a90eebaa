package app

import (
	"cmp"
	"regexp"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/weirhq/weir/libs/topics"
)

// Validate checks the app as a whole and returns every problem it finds, each with the
// range it is about. Parse calls it; it may be called again (it does not modify what was
// declared, only fills in what it derives: task groups and repartition topics).
func (a *App) Validate() hcl.Diagnostics { return a.validate() }

// validator collects the diagnostics of one Validate.
type validator struct {
	a      *App
	diags  hcl.Diagnostics
	models map[string]*Model
	topics map[string]*Topic
	tables map[string]*Table
}

func (v *validator) errorf(rng *hcl.Range, summary, detail string, args ...any) {
	v.diags = append(v.diags, errorAt(rng, summary, detail, args...))
}

func (a *App) validate() hcl.Diagnostics {
	sortByName(a.Models, func(m *Model) string { return m.Name })
	sortByName(a.Topics, func(t *Topic) string { return t.Name })
	sortByName(a.Tables, func(t *Table) string { return t.Name })
	sortByName(a.Agents, func(g *Agent) string { return g.Name })
	sortByName(a.Timers, func(t *Timer) string { return t.Name })
	v := &validator{a: a}
	v.models = uniqueNames(v, "model", a.Models, func(m *Model) (string, hcl.Range) { return m.Name, m.DeclRange })
	v.topics = uniqueNames(v, "topic", a.Topics, func(t *Topic) (string, hcl.Range) { return t.Name, t.DeclRange })
	v.tables = uniqueNames(v, "table", a.Tables, func(t *Table) (string, hcl.Range) { return t.Name, t.DeclRange })
	uniqueNames(v, "agent", a.Agents, func(g *Agent) (string, hcl.Range) { return g.Name, g.DeclRange })
	uniqueNames(v, "timer", a.Timers, func(t *Timer) (string, hcl.Range) { return t.Name, t.DeclRange })

	for _, m := range a.Models {
		v.model(m)
	}
	v.modelCycles()
	v.kafkaNames()
	for _, t := range a.Topics {
		v.topic(t)
	}
	for _, t := range a.Tables {
		v.table(t)
	}
	for _, g := range a.Agents {
		v.agent(g)
	}
	for _, t := range a.Timers {
		v.timer(t)
	}
	v.taskGroups()
	sortDiagnostics(v.diags)
	return v.diags
}

// uniqueNames reports every name declared twice and returns the first declaration of each.
func uniqueNames[T any](v *validator, kind string, items []*T, key func(*T) (string, hcl.Range)) map[string]*T {
	out := map[string]*T{}
	first := map[string]hcl.Range{}
	for _, it := range items {
		name, rng := key(it)
		if prev, dup := first[name]; dup {
			v.errorf(&rng, "Duplicate "+kind, "%s %q is already declared at %s; names must be unique.", titleCase(kind), name, prev)
			continue
		}
		first[name] = rng
		out[name] = it
	}
	return out
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// sortDiagnostics orders diagnostics by file and position so that output is stable.
func sortDiagnostics(diags hcl.Diagnostics) {
	slices.SortStableFunc(diags, func(x, y *hcl.Diagnostic) int {
		if x.Subject == nil || y.Subject == nil {
			return cmp.Compare(boolInt(x.Subject != nil), boolInt(y.Subject != nil))
		}
		return cmp.Or(
			cmp.Compare(x.Subject.Filename, y.Subject.Filename),
			cmp.Compare(x.Subject.Start.Byte, y.Subject.Start.Byte),
		)
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// model checks a model's fields: unique names, model.X references, and the schema as
// libs/topics would build it.
func (v *validator) model(m *Model) {
	before := len(v.diags)
	v.fields(m.Name, m.Fields)
	if len(v.diags) > before {
		return
	}
	if _, err := topics.NewRecordCodec(m.RecordSchema()); err != nil {
		v.errorf(m.DeclRange.Ptr(), "Invalid model", "Model %q is not a valid record schema: %s.", m.Name, oneLine(err))
	}
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }

func (v *validator) fields(path string, fields []*Field) {
	seen := map[string]*Field{}
	for _, f := range fields {
		if prev := seen[f.Name]; prev != nil {
			v.errorf(f.DeclRange.Ptr(), "Duplicate field", "Field %q of %s is already declared at %s.", f.Name, path, prev.DeclRange)
			continue
		}
		seen[f.Name] = f
		v.fieldModel(f)
		if f.Elem != nil {
			v.fieldModel(f.Elem)
		}
		v.fields(path+"."+f.Name, f.Fields)
	}
}

func (v *validator) fieldModel(f *Field) {
	if f.Model == "" {
		return
	}
	m := v.models[f.Model]
	if m == nil {
		v.errorf(f.TypeRange.Ptr(), "Unknown model", "There is no model %q.%s", f.Model, suggest(f.Model, sortedKeys(v.models), "model."))
		return
	}
	f.model = m
}

// modelCycles reports models that contain themselves through model.X fields: their
// records would have no end.
func (v *validator) modelCycles() {
	state := map[*Model]int{} // 1: visiting, 2: done
	var visit func(m *Model, path []string) bool
	visit = func(m *Model, path []string) bool {
		switch state[m] {
		case 1:
			return true
		case 2:
			return false
		}
		state[m] = 1
		defer func() { state[m] = 2 }()
		for _, f := range allFields(m.Fields) {
			if f.model != nil && visit(f.model, append(path, f.model.Name)) {
				if f.model == m || len(path) == 1 {
					v.errorf(f.TypeRange.Ptr(), "Recursive model",
						"Model %q contains itself through %s; a record cannot hold itself.", m.Name, strings.Join(append(path, f.model.Name), " → "))
				}
				return true
			}
		}
		return false
	}
	for _, m := range v.a.Models {
		if state[m] == 0 {
			visit(m, []string{m.Name})
		}
	}
}

// allFields returns fields and, recursively, the fields of their objects and elements.
func allFields(fields []*Field) []*Field {
	var out []*Field
	for _, f := range fields {
		out = append(out, f)
		if f.Elem != nil {
			out = append(out, f.Elem)
		}
		out = append(out, allFields(f.Fields)...)
	}
	return out
}

var kafkaNameRE = regexp.MustCompile(`^[a-zA-Z0-9._-]+$`)

// kafkaNames checks each topic's Kafka name: valid, not reserved, not used twice.
func (v *validator) kafkaNames() {
	seen := map[string]*Topic{}
	for _, t := range v.a.Topics {
		at := t.ranges.at("name", t.DeclRange)
		switch {
		case t.Kafka == "":
			continue
		case len(t.Kafka) > 249 || t.Kafka == "." || t.Kafka == ".." || !kafkaNameRE.MatchString(t.Kafka):
			v.errorf(at, "Invalid topic name",
				"Kafka topic name %q must be 1 to 249 letters, digits, '.', '_' or '-', and not \".\" or \"..\".", t.Kafka)
			continue
		case reservedTopicName(t.Kafka):
			v.errorf(at, "Reserved topic name",
				"Topic name %q is reserved: names starting with %q belong to Kafka and names starting with %q to Weir's internal topics.",
				t.Kafka, kafkaInternalPrefix, weirInternalPrefix)
			continue
		}
		if v.topics[t.Name] != t {
			continue // a duplicate block, reported already
		}
		if prev := seen[t.Kafka]; prev != nil && prev != t {
			v.errorf(at, "Duplicate topic name", "Topics %q and %q both name Kafka topic %q.", prev.Name, t.Name, t.Kafka)
			continue
		}
		seen[t.Kafka] = t
	}
}

func (v *validator) topic(t *Topic) {
	for _, c := range []Codec{t.Key, t.Value} {
		if c.Name == "model" && v.models[c.Model] == nil {
			v.errorf(c.Range.Ptr(), "Unknown model", "There is no model %q.%s", c.Model, suggest(c.Model, sortedKeys(v.models), "model."))
		}
	}
	if t.Timestamp.IsSet() {
		sc := v.topicScope(t)
		v.checkExpr(t.Timestamp, sc, "timestamp")
		if ft := v.staticType(t.Timestamp, sc); ft != "" && ft != string(topics.TypeTimestamp) && ft != string(topics.TypeNumber) {
			v.errorf(t.Timestamp.Range.Ptr(), "Wrong type",
				"A topic's timestamp must be a timestamp or a number of epoch milliseconds; %s is a %s.", t.Timestamp.Source, ft)
		}
	}
	if t.MinCompactionLag > 0 && t.Cleanup == topics.CleanupDelete {
		v.errorf(t.ranges.at("min_compaction_lag", t.DeclRange), "Compaction setting on a deleting topic",
			"min_compaction_lag applies to compacted topics; topic %q has cleanup = %q.", t.Name, t.Cleanup)
	}
	typed := t.Spec()
	typed.Configs = nil
	set := typed.ConfigEntries()
	for _, k := range sortedKeys(t.Configs) {
		if _, dup := set[k]; dup {
			v.errorf(t.ranges.at("configs", t.DeclRange), "Config set twice",
				"configs sets %q, which an attribute of topic %q already sets.", k, t.Name)
		}
	}
}

// topicRef resolves a topic reference, reporting an unknown one.
func (v *validator) topicRef(r Ref) *Topic {
	if !r.IsSet() {
		return nil
	}
	t := v.topics[r.Name]
	if t == nil {
		v.errorf(r.Range.Ptr(), "Unknown topic", "There is no topic %q.%s", r.Name, suggest(r.Name, sortedKeys(v.topics), "topic."))
	}
	return t
}

// tableRef resolves a table reference, reporting an unknown one.
func (v *validator) tableRef(r Ref) *Table {
	if !r.IsSet() {
		return nil
	}
	t := v.tables[r.Name]
	if t == nil {
		v.errorf(r.Range.Ptr(), "Unknown table", "There is no table %q.%s", r.Name, suggest(r.Name, sortedKeys(v.tables), "table."))
	}
	return t
}

func (v *validator) table(t *Table) {
	if t.Value.Name == "model" && v.models[t.Value.Model] == nil {
		v.errorf(t.Value.Range.Ptr(), "Unknown model", "There is no model %q.%s", t.Value.Model, suggest(t.Value.Model, sortedKeys(v.models), "model."))
	}
	src := v.topicRef(t.Source)
	switch {
	case t.Global && !t.ranges.has("source"):
		v.errorf(t.ranges.at("global", t.DeclRange), "Global table without a source",
			"Global table %q needs source = topic.NAME: a global table is fed from its own topic.", t.Name)
	case !t.Global && t.Source.IsSet():
		v.errorf(t.Source.Range.Ptr(), "Source on a partitioned table",
			"Only a global table has a source; table %q is filled by aggregate steps. Set global = true to feed it from topic.%s.", t.Name, t.Source.Name)
	}
	if t.Global && t.Window != nil {
		v.errorf(t.Window.DeclRange.Ptr(), "Window on a global table",
			"Global table %q mirrors its source topic and cannot be windowed.", t.Name)
	}
	if t.Global && t.Partitions > 0 {
		v.errorf(t.ranges.at("partitions", t.DeclRange), "Partitions on a global table",
			"Global table %q has all of its source's partitions on every worker; drop partitions.", t.Name)
	}
	if src != nil && t.Global && t.Key.Name != "" && src.Key.Name == "bytes" && t.Key.Name != "bytes" {
		v.errorf(t.ranges.at("key", t.DeclRange), "Key type mismatch",
			"Global table %q has %s keys but its source topic %q has bytes keys.", t.Name, t.Key.Name, src.Name)
	}
	if t.OnClose.IsSet() {
		v.topicRef(t.OnClose)
		if t.Window == nil {
			v.errorf(t.OnClose.Range.Ptr(), "on_close without a window",
				"on_close receives each window's final value; table %q has no window.", t.Name)
		}
	}
	if t.Window != nil {
		v.window(t, t.Window)
	}
}

// window checks a window's parameters against its kind and each other.
func (v *validator) window(t *Table, w *Window) {
	given := func(name string) bool { return w.ranges.has(name) }
	valid := func(name string) bool { return w.ranges.has(name) && !w.failed[name] }
	at := func(name string) *hcl.Range { return w.ranges.at(name, w.DeclRange) }
	need := func(name, why string) {
		if !given(name) {
			v.errorf(w.DeclRange.Ptr(), "Missing window "+name, "A %s window needs %s: %s.", w.Kind, name, why)
		}
	}
	forbid := func(name, why string) {
		if given(name) {
			v.errorf(at(name), "Unexpected window "+name, "A %s window has no %s: %s.", w.Kind, name, why)
		}
	}
	positive := func(name string, d Duration) {
		if valid(name) && d <= 0 {
			v.errorf(at(name), "Invalid window "+name, "%s must be positive, got %s.", name, d)
		}
	}
	switch w.Kind {
	case WindowTumbling:
		need("size", "the length of each window")
		forbid("step", "use a hopping window for windows that overlap")
		forbid("gap", "gap belongs to session windows")
	case WindowHopping:
		need("size", "the length of each window")
		need("step", "how far each window starts after the one before")
		forbid("gap", "gap belongs to session windows")
	case WindowSession:
		need("gap", "the inactivity that closes a session")
		forbid("size", "a session lasts as long as its records keep coming")
		forbid("step", "sessions do not hop")
	}
	positive("size", w.Size)
	positive("step", w.Step)
	positive("gap", w.Gap)
	if valid("grace") && w.Grace < 0 {
		v.errorf(at("grace"), "Negative grace", "grace is how long a window accepts late records; it may not be negative, got %s.", w.Grace)
	}
	if w.Kind == WindowHopping && w.Step > 0 && w.Size > 0 && w.Step > w.Size {
		v.errorf(at("step"), "Window step larger than size",
			"step (%s) is larger than size (%s): records between windows would be dropped. Use step <= size.", w.Step, w.Size)
	}
	length, lengthName := w.Size, "size"
	if w.Kind == WindowSession {
		length, lengthName = w.Gap, "gap"
	}
	if valid("expires") {
		switch {
		case w.Expires <= 0:
			v.errorf(at("expires"), "Invalid window expires", "expires must be positive, got %s.", w.Expires)
		case length > 0 && w.Expires < length+max(w.Grace, 0):
			v.errorf(at("expires"), "Window expires too early",
				"expires (%s) is shorter than %s + grace (%s + %s): windows of table %q would be dropped before they close.",
				w.Expires, lengthName, length, max(w.Grace, 0), t.Name)
		}
	} else if length > 0 && !given("expires") {
		w.Expires = max(length+max(w.Grace, 0), length*2) // a default long enough to close every window
	}
}
