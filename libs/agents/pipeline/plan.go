package pipeline

import (
	"fmt"
	"slices"
	"sort"

	"github.com/hashicorp/hcl/v2"

	"github.com/weirhq/weir/libs/agents"
	"github.com/weirhq/weir/libs/agents/expr"
	"github.com/weirhq/weir/libs/config/app"
	"github.com/weirhq/weir/libs/topics"
)

type evalContext = *hcl.EvalContext

// Plan is an app compiled for execution: immutable, shared by all its tasks.
type Plan struct {
	app      *app.App
	byKafka  map[string]*topicCodec // every topic, including repartition topics
	byLabel  map[string]*topicCodec // the app's topics by label
	routes   map[string][]*stage    // Kafka topic → the stages reading it, by agent name
	agents   []*agent
	globals  map[string]*app.Table // Kafka topic → the global table it feeds
	tables   map[string]*app.Table
	internal map[string]int    // repartition topic → its partition count
	windowed map[string]bool   // windowed tables
	windowFn map[string]string // windowed table → the aggregate function folding into it
	groupOf  map[string]string // partitioned table → its task group
	timers   map[string]*Timer
}

type agent struct {
	name       string
	group      string
	policy     *app.ErrorPolicy
	deadLetter *topicCodec
	handler    agents.Handler
	stages     []*stage
}

// stage is a run of an agent's steps starting at a topic.
type stage struct {
	agent       *agent
	index       int
	steps       []*step
	repartition bool // reads a repartition topic
}

type step struct {
	kind, label      string
	rng              hcl.Range
	when, key, value *expr.Program
	table            *app.Table
	to               *topicCodec
	repartitionTopic string // set when the step re-keys through a repartition topic
	// emit, on a map step whose value is an object constructor and which the stage's last
	// step follows, is that step when it emits the mapped record as it is to a json topic:
	// the map step then encodes the object straight into the output (see exec.mapEmit).
	emit *step
}

// Compile compiles the app's agents. handlers must hold every handler the app uses.
func Compile(a *app.App, handlers agents.Handlers) (*Plan, error) {
	p := &Plan{
		app: a, byKafka: map[string]*topicCodec{}, byLabel: map[string]*topicCodec{},
		routes: map[string][]*stage{}, globals: map[string]*app.Table{}, tables: map[string]*app.Table{},
		internal: map[string]int{}, windowed: map[string]bool{}, windowFn: map[string]string{}, groupOf: map[string]string{},
		timers: map[string]*Timer{},
	}
	ctx := a.EvalContext()
	models := map[string]*topics.RecordSchema{}
	for _, m := range a.Models {
		s := m.RecordSchema()
		models[m.Name] = &s
	}
	for _, t := range a.Topics {
		tc, err := newTopicCodec(t, models, ctx)
		if err != nil {
			return nil, err
		}
		p.byKafka[t.Kafka], p.byLabel[t.Name] = tc, tc
	}
	for _, t := range a.Tables {
		p.tables[t.Name] = t
		if t.Window != nil {
			p.windowed[t.Name] = true
		}
		if t.Global {
			if src := p.byLabel[t.Source.Name]; src != nil {
				p.globals[src.kafka] = t
			}
		}
	}
	groupOf := map[string]string{}
	for _, g := range a.TaskGroups() {
		for _, name := range g.Agents {
			groupOf[name] = g.Name
		}
		for _, r := range g.RepartitionTopics {
			p.internal[r] = g.Partitions
		}
		for _, t := range g.Tables {
			p.groupOf[t] = g.Name
		}
	}
	for _, g := range a.Agents { // sorted by name
		ag, err := p.compileAgent(g, groupOf[g.Name], handlers, ctx)
		if err != nil {
			return nil, fmt.Errorf("compiling agent %s: %w", g.Name, err)
		}
		p.agents = append(p.agents, ag)
	}
	for _, tm := range a.Timers {
		if err := p.compileTimer(tm, handlers, ctx); err != nil {
			return nil, fmt.Errorf("compiling timer %s: %w", tm.Name, err)
		}
	}
	return p, nil
}

func (p *Plan) compileAgent(g *app.Agent, group string, handlers agents.Handlers, ctx evalContext) (*agent, error) {
	ag := &agent{name: g.Name, group: group, policy: g.OnError}
	if ag.policy == nil {
		ag.policy = &app.ErrorPolicy{Backoff: app.DefaultBackoff, MaxBackoff: app.DefaultMaxBackoff, Then: app.ThenStop}
	}
	if ag.policy.Then == app.ThenDeadLetter {
		if ag.deadLetter = p.byLabel[ag.policy.DeadLetter.Name]; ag.deadLetter == nil {
			return nil, fmt.Errorf("unknown dead-letter topic %q", ag.policy.DeadLetter.Name)
		}
	}
	var sources []string
	for _, r := range g.From {
		tc := p.byLabel[r.Name]
		if tc == nil {
			return nil, fmt.Errorf("unknown source topic %q", r.Name)
		}
		sources = append(sources, tc.kafka)
	}
	if g.Handler != "" {
		if ag.handler = handlers[g.Handler]; ag.handler == nil {
			return nil, fmt.Errorf("no Go handler %q is registered (registered: %v)", g.Handler, handlers.Names())
		}
		st := &stage{agent: ag}
		ag.stages = append(ag.stages, st)
		p.route(sources, st)
		return ag, nil
	}
	cur := &stage{agent: ag}
	ag.stages = append(ag.stages, cur)
	p.route(sources, cur)
	for _, s := range g.Steps {
		cs, err := p.compileStep(s, ctx)
		if err != nil {
			return nil, err
		}
		cur.steps = append(cur.steps, cs)
		if cs.repartitionTopic != "" {
			topic := cs.repartitionTopic
			p.byKafka[topic] = &topicCodec{kafka: topic, key: topics.Bytes, value: topics.JSON}
			cur = &stage{agent: ag, index: len(ag.stages), repartition: true}
			ag.stages = append(ag.stages, cur)
			p.route([]string{topic}, cur)
		}
	}
	for _, st := range ag.stages {
		fuseMapEmit(st.steps)
	}
	return ag, nil
}

// fuseMapEmit links a map step to the emit step that ends the stage right after it, when
// the emit encodes the mapped value as it is (no key or value of its own) as JSON: nothing
// after the map then needs the value itself, only its encoding.
func fuseMapEmit(steps []*step) {
	n := len(steps)
	if n < 2 {
		return
	}
	m, e := steps[n-2], steps[n-1]
	if m.kind == app.StepMap && m.value != nil && e.kind == app.StepEmit && e.key == nil && e.value == nil &&
		e.to != nil && e.to.value.Name() == "json" {
		m.emit = e
	}
}

func (p *Plan) route(topicNames []string, st *stage) {
	for _, t := range topicNames {
		p.routes[t] = append(p.routes[t], st)
		sort.SliceStable(p.routes[t], func(i, j int) bool { return p.routes[t][i].agent.name < p.routes[t][j].agent.name })
	}
}

func (p *Plan) compileStep(s *app.Step, ctx evalContext) (*step, error) {
	cs := &step{kind: s.Kind, label: s.Label, rng: s.DeclRange}
	compile := func(e app.Expr) (*expr.Program, error) {
		if !e.IsSet() {
			return nil, nil
		}
		prog, err := expr.Compile(e.Expr, ctx)
		if err != nil {
			return nil, fmt.Errorf("compiling %s step at %s: %w", s.Kind, s.DeclRange, err)
		}
		return prog, nil
	}
	var err error
	if cs.when, err = compile(s.When); err != nil {
		return nil, err
	}
	if cs.key, err = compile(s.Key); err != nil {
		return nil, err
	}
	if cs.value, err = compile(s.Value); err != nil {
		return nil, err
	}
	switch s.Kind {
	case app.StepAggregate:
		cs.table = p.tables[s.Into.Name]
		if cs.table != nil && cs.table.Window != nil {
			if fn, ok := p.windowFn[cs.table.Name]; ok && fn != s.Label {
				return nil, fmt.Errorf("aggregate step at %s: windowed table %q is folded with both %q and %q; a windowed table takes one aggregate function",
					s.DeclRange, cs.table.Name, fn, s.Label)
			}
			p.windowFn[cs.table.Name] = s.Label
		}
	case app.StepLookup:
		cs.table = p.tables[s.Table.Name]
	case app.StepEmit:
		cs.to = p.byLabel[s.To.Name]
		if cs.to == nil {
			return nil, fmt.Errorf("emit step at %s: unknown topic %q", s.DeclRange, s.To.Name)
		}
	case app.StepGroupBy, app.StepKeyBy:
		cs.repartitionTopic = s.Repartition
	}
	if (s.Kind == app.StepAggregate || s.Kind == app.StepLookup) && cs.table == nil {
		return nil, fmt.Errorf("%s step at %s: unknown table", s.Kind, s.DeclRange)
	}
	return cs, nil
}

// App returns the app the plan was compiled from.
func (p *Plan) App() *app.App { return p.app }

// Reads reports whether an agent reads the Kafka topic.
func (p *Plan) Reads(topic string) bool { return len(p.routes[topic]) > 0 }

// GroupsReading returns the task groups with an agent reading the Kafka topic, by name.
func (p *Plan) GroupsReading(topic string) []string {
	var out []string
	for _, st := range p.routes[topic] {
		if !slices.Contains(out, st.agent.group) {
			out = append(out, st.agent.group)
		}
	}
	slices.Sort(out)
	return out
}

// GlobalTable returns the global table the Kafka topic feeds, or nil.
func (p *Plan) GlobalTable(topic string) *app.Table { return p.globals[topic] }

// RepartitionTopics returns the internal repartition topics with their partition counts.
func (p *Plan) RepartitionTopics() map[string]int { return p.internal }

// TopicByLabel returns the Kafka name of the app's topic called label.
func (p *Plan) TopicByLabel(label string) (string, bool) {
	tc := p.byLabel[label]
	if tc == nil {
		return "", false
	}
	return tc.kafka, true
}

// GlobalEntry decodes a record of a global table's source topic into the table's entry:
// the key's bytes (EncodeKey of the decoded key) and the value as JSON, or del for a
// tombstone.
func (p *Plan) GlobalEntry(rec agents.Record) (table string, key, value []byte, del bool, err error) {
	t := p.globals[rec.Topic]
	tc := p.byKafka[rec.Topic]
	if t == nil || tc == nil {
		return "", nil, nil, false, fmt.Errorf("topic %s feeds no global table", rec.Topic)
	}
	k, err := decode(tc.key, rec.Key)
	if err != nil {
		return "", nil, nil, false, fmt.Errorf("decoding the key of %s/%d@%d: %w", rec.Topic, rec.Partition, rec.Offset, err)
	}
	if key, err = agents.EncodeKey(k); err != nil {
		return "", nil, nil, false, err
	}
	if rec.Value == nil {
		return t.Name, key, nil, true, nil
	}
	v, err := decode(tc.value, rec.Value)
	if err != nil {
		return "", nil, nil, false, fmt.Errorf("decoding the value of %s/%d@%d: %w", rec.Topic, rec.Partition, rec.Offset, err)
	}
	if value, err = encodeJSON(v); err != nil {
		return "", nil, nil, false, err
	}
	return t.Name, key, value, false, nil
}

// EncodeRecord encodes a key and a value for the Kafka topic with its codecs, as a
// producer of the app's topics would (repartition topics take the envelope).
func (p *Plan) EncodeRecord(topic string, key, value any) ([]byte, []byte, error) {
	tc := p.byKafka[topic]
	if tc == nil {
		return nil, nil, fmt.Errorf("encoding a record for %s: the app has no such topic", topic)
	}
	kb, err := encode(tc.key, key)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding the key for %s: %w", topic, err)
	}
	vb, err := encode(tc.value, value)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding the value for %s: %w", topic, err)
	}
	return kb, vb, nil
}

// DecodeRecord decodes a record of the Kafka topic with its codecs, bytes and timestamps
// as strings.
func (p *Plan) DecodeRecord(topic string, key, value []byte) (any, any, error) {
	tc := p.byKafka[topic]
	if tc == nil {
		return nil, nil, fmt.Errorf("decoding a record of %s: the app has no such topic", topic)
	}
	k, err := decode(tc.key, key)
	if err != nil {
		return nil, nil, fmt.Errorf("decoding the key of a record of %s: %w", topic, err)
	}
	v, err := decode(tc.value, value)
	if err != nil {
		return nil, nil, fmt.Errorf("decoding the value of a record of %s: %w", topic, err)
	}
	return k, v, nil
}
