package testkit

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/weirhq/weir/libs/agents"
	"github.com/weirhq/weir/libs/agents/pipeline"
	"github.com/weirhq/weir/libs/config/app"
	"github.com/weirhq/weir/libs/tables"
	"github.com/weirhq/weir/libs/topics"
)

// Input is one line of a test's input: a record sent into the app (Topic set), a timer
// firing (Timer and At) or a wall-clock tick (Tick).
type Input struct {
	Topic     string            `json:"topic,omitempty"`
	Key       any               `json:"key,omitempty"`
	Value     any               `json:"value,omitempty"`
	Timestamp string            `json:"timestamp,omitempty"`
	Headers   map[string]string `json:"headers,omitempty"`
	// Timer fires the app's timer of that name for the scheduled time At (RFC 3339).
	Timer string `json:"timer,omitempty"`
	At    string `json:"at,omitempty"`
	// Tick (RFC 3339) is a wall-clock tick of every task: windows of a task idle for the
	// idle time (WithIdleAfter) close as the worker's ticks would close them.
	Tick string `json:"tick,omitempty"`
}

// Output is one record an agent emitted to one of the app's topics.
type Output struct {
	Topic     string `json:"topic"`
	Key       any    `json:"key"`
	Value     any    `json:"value"`
	Timestamp string `json:"timestamp,omitempty"`
}

// Record is an emitted record with everything Kafka would hold.
type Record struct {
	agents.Message
	Partition int32
	Offset    int64
}

// Option configures a Driver.
type Option func(*config)

type config struct {
	partitions int
	handlers   agents.Handlers
	logger     *slog.Logger
	idleAfter  time.Duration
}

// WithPartitions gives every topic (and so every task group) n partitions instead of the
// app's counts.
func WithPartitions(n int) Option { return func(c *config) { c.partitions = n } }

// WithHandlers registers the Go handlers the app's agents use.
func WithHandlers(h agents.Handlers) Option { return func(c *config) { c.handlers = h } }

// WithIdleAfter sets how long a task sees no record before a Tick closes its windows by
// wall clock (default pipeline.DefaultIdleAfter).
func WithIdleAfter(d time.Duration) Option { return func(c *config) { c.idleAfter = d } }

// WithLogger sets the logger of agents and handlers (default: discard).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// Driver runs an app in memory. It is not safe for concurrent use.
type Driver struct {
	cfg     config
	plan    *pipeline.Plan
	tasks   map[taskKey]*pipeline.Task
	windows map[taskKey]*memWindows
	timers  *pipeline.Timers
	tables  map[string]map[int32]*memTable
	logs    map[string]map[int32]int64 // next offset per topic partition
	emitted []Record                   // records emitted to the app's topics, in emission order
	queue   []Record
	waits   []time.Duration
}

// New compiles the app for an in-memory run.
func New(a *app.App, opts ...Option) (*Driver, error) {
	cfg := config{handlers: agents.Handlers{}}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.partitions < 0 {
		return nil, fmt.Errorf("creating a test driver: partitions must be positive, got %d", cfg.partitions)
	}
	plan, err := pipeline.Compile(a, cfg.handlers)
	if err != nil {
		return nil, fmt.Errorf("creating a test driver: %w", err)
	}
	if cfg.idleAfter < 0 {
		return nil, fmt.Errorf("creating a test driver: idle time must be positive, got %s", cfg.idleAfter)
	}
	return &Driver{cfg: cfg, plan: plan, tasks: map[taskKey]*pipeline.Task{}, windows: map[taskKey]*memWindows{},
		tables: map[string]map[int32]*memTable{}, logs: map[string]map[int32]int64{}}, nil
}

// partitions returns the partition count of a Kafka topic.
func (d *Driver) partitions(topic string) int {
	if d.cfg.partitions > 0 {
		return d.cfg.partitions
	}
	if n, ok := d.plan.RepartitionTopics()[topic]; ok {
		return n
	}
	for _, t := range d.plan.App().Topics {
		if t.Kafka == topic {
			return t.Partitions
		}
	}
	return 1
}

// table returns a table's partition (the whole table when it is global).
func (d *Driver) table(name string, partition int32) *memTable {
	if t := d.plan.App().Table(name); t != nil && t.Global {
		partition = -1
	}
	if d.tables[name] == nil {
		d.tables[name] = map[int32]*memTable{}
	}
	t := d.tables[name][partition]
	if t == nil {
		t = newMemTable()
		d.tables[name][partition] = t
	}
	return t
}

// taskKey names a task: a partition of a task group.
type taskKey struct {
	group     string
	partition int32
}

func (d *Driver) task(group string, partition int32) (*pipeline.Task, error) {
	k := taskKey{group, partition}
	if t := d.tasks[k]; t != nil {
		return t, nil
	}
	cfg := pipeline.TaskConfig{
		Group:     group,
		Partition: partition,
		Tables:    partitionTables{d: d, partition: partition},
		Emitter:   agents.EmitterFunc(d.enqueue),
		IdleAfter: d.cfg.idleAfter,
		Sleep: func(_ context.Context, w time.Duration) error {
			d.waits = append(d.waits, w)
			return nil
		},
		Logger: d.cfg.logger,
	}
	if wts := d.plan.WindowedTables(group); len(wts) > 0 {
		ws := newMemWindows(fmt.Sprintf("%s/%d", d.changelog(group), partition))
		for _, wt := range wts {
			spec, err := tables.SpecFromConfig(wt.Table.Window, wt.Merge)
			if err != nil {
				return nil, fmt.Errorf("windowed table %s: %w", wt.Table.Name, err)
			}
			if err := ws.register(wt.Table.Name, spec); err != nil {
				return nil, err
			}
		}
		d.windows[k] = ws
		cfg.Windows = ws
	}
	t, err := d.plan.NewTask(cfg)
	if err != nil {
		return nil, err
	}
	d.tasks[k] = t
	return t, nil
}

// changelog is a task group's changelog topic, which close identities name.
func (d *Driver) changelog(group string) string {
	for _, g := range d.plan.App().TaskGroups() {
		if g.Name == group {
			return g.Changelog
		}
	}
	return group
}

// resolve returns the Kafka name of a topic given by its name in the app or in Kafka.
func (d *Driver) resolve(topic string) (string, error) {
	if k, ok := d.plan.TopicByLabel(topic); ok {
		return k, nil
	}
	for _, t := range d.plan.App().Topics {
		if t.Kafka == topic {
			return topic, nil
		}
	}
	return "", fmt.Errorf("unknown topic %q", topic)
}

// Send feeds one input: it produces a record and processes it and everything it causes,
// fires a timer (Input.Timer) or ticks the wall clock (Input.Tick).
func (d *Driver) Send(ctx context.Context, in Input) error {
	switch {
	case in.Timer != "":
		at, err := parseTime("at", in.At)
		if err != nil {
			return fmt.Errorf("firing timer %s: %w", in.Timer, err)
		}
		return d.Fire(ctx, in.Timer, at)
	case in.Tick != "":
		now, err := parseTime("tick", in.Tick)
		if err != nil {
			return fmt.Errorf("ticking: %w", err)
		}
		return d.Tick(ctx, now)
	}
	topic, err := d.resolve(in.Topic)
	if err != nil {
		return fmt.Errorf("sending a record: %w", err)
	}
	kb, vb, err := d.plan.EncodeRecord(topic, in.Key, in.Value)
	if err != nil {
		return fmt.Errorf("sending a record: %w", err)
	}
	m := agents.Message{Topic: topic, Key: kb, Value: vb}
	if in.Timestamp != "" {
		if m.Timestamp, err = time.Parse(time.RFC3339Nano, in.Timestamp); err != nil {
			return fmt.Errorf("sending a record: timestamp %q is not RFC 3339", in.Timestamp)
		}
	}
	for _, k := range slices.Sorted(mapKeys(in.Headers)) {
		m.Headers = append(m.Headers, topics.Header{Key: k, Value: []byte(in.Headers[k])})
	}
	rec := d.place(m)
	if !d.plan.Reads(topic) && d.plan.GlobalTable(topic) == nil {
		return fmt.Errorf("sending a record: nothing in the app reads topic %s", in.Topic)
	}
	if err := d.dispatch(ctx, rec); err != nil {
		return err
	}
	return d.drain(ctx)
}

func parseTime(what, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, fmt.Errorf("no %s time", what)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q is not RFC 3339", what, s)
	}
	return t, nil
}

// drain processes the records emitted to topics agents read, in emission order.
func (d *Driver) drain(ctx context.Context) error {
	for len(d.queue) > 0 {
		next := d.queue[0]
		d.queue = d.queue[1:]
		if err := d.dispatch(ctx, next); err != nil {
			return err
		}
	}
	return nil
}

// Fire runs the timer called name for the scheduled time at, as the worker running it
// would, and processes what it emits. The test driver is one worker ("testkit"), so an
// every_worker timer fires once.
func (d *Driver) Fire(ctx context.Context, name string, at time.Time) error {
	if d.timers == nil {
		ts, err := d.plan.NewTimers(pipeline.TimerConfig{Worker: "testkit", Tables: globalTables{d},
			Emitter: agents.EmitterFunc(d.enqueue), Logger: d.cfg.logger})
		if err != nil {
			return err
		}
		d.timers = ts
	}
	if err := d.timers.Fire(ctx, name, at); err != nil {
		return err
	}
	return d.drain(ctx)
}

// Tick is a wall-clock tick at now for every task (in group, then partition order): a
// task idle for the idle time closes its windows by wall clock. As on a worker, idleness
// starts at the first tick after a task's last record, so it takes two ticks to close.
func (d *Driver) Tick(ctx context.Context, now time.Time) error {
	keys := slices.SortedFunc(mapKeysOf(d.tasks), func(a, b taskKey) int {
		if c := strings.Compare(a.group, b.group); c != 0 {
			return c
		}
		return int(a.partition) - int(b.partition)
	})
	for _, k := range keys {
		if err := d.tasks[k].Tick(now); err != nil {
			return err
		}
	}
	return d.drain(ctx)
}

func mapKeysOf[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// place gives a record its partition and offset.
func (d *Driver) place(m agents.Message) Record {
	var p int32
	if m.Key != nil {
		p = topics.KeyPartition(m.Key, d.partitions(m.Topic))
	}
	if d.logs[m.Topic] == nil {
		d.logs[m.Topic] = map[int32]int64{}
	}
	off := d.logs[m.Topic][p]
	d.logs[m.Topic][p] = off + 1
	return Record{Message: m, Partition: p, Offset: off}
}

// enqueue is the tasks' emitter.
func (d *Driver) enqueue(m agents.Message) error {
	rec := d.place(m)
	if !strings.HasPrefix(m.Topic, "weir.") {
		d.emitted = append(d.emitted, rec)
	}
	if d.plan.Reads(m.Topic) || d.plan.GlobalTable(m.Topic) != nil {
		d.queue = append(d.queue, rec)
	}
	return nil
}

func (d *Driver) dispatch(ctx context.Context, rec Record) error {
	in := agents.Record{Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset, Key: rec.Key,
		Value: rec.Value, Headers: rec.Headers, Timestamp: rec.Timestamp}
	if d.plan.GlobalTable(rec.Topic) != nil {
		name, k, v, del, err := d.plan.GlobalEntry(in)
		if err != nil {
			return fmt.Errorf("updating a global table: %w", err)
		}
		t := d.table(name, -1)
		if del {
			_ = t.Delete(k)
		} else {
			_ = t.Set(k, v)
		}
	}
	for _, g := range d.plan.GroupsReading(rec.Topic) {
		t, err := d.task(g, rec.Partition)
		if err != nil {
			return err
		}
		if err := t.Process(ctx, in); err != nil {
			return err
		}
	}
	return nil
}

// Records returns the records emitted to the app's topics, in output order (see Outputs).
func (d *Driver) Records() []Record {
	out := slices.Clone(d.emitted)
	slices.SortStableFunc(out, func(a, b Record) int {
		if c := strings.Compare(a.Topic, b.Topic); c != 0 {
			return c
		}
		return int(a.Partition) - int(b.Partition)
	})
	return out
}

// Outputs returns the emitted records decoded: by topic, then partition, then emission
// order.
func (d *Driver) Outputs() ([]Output, error) {
	var out []Output
	for _, r := range d.Records() {
		k, v, err := d.plan.DecodeRecord(r.Topic, r.Key, r.Value)
		if err != nil {
			return nil, err
		}
		o := Output{Topic: r.Topic, Key: k, Value: v}
		if !r.Timestamp.IsZero() {
			o.Timestamp = r.Timestamp.UTC().Format(time.RFC3339Nano)
		}
		out = append(out, o)
	}
	return out, nil
}

// Retries returns the waits of the retries so far, in order.
func (d *Driver) Retries() []time.Duration { return slices.Clone(d.waits) }

// TableGet returns the value of key in a table, from the partition owning the key: the
// JSON value, and whether there is one.
func (d *Driver) TableGet(table string, key any) (any, bool, error) {
	kb, err := agents.EncodeKey(key)
	if err != nil {
		return nil, false, err
	}
	t := d.plan.App().Table(table)
	if t == nil {
		return nil, false, fmt.Errorf("unknown table %q", table)
	}
	var p int32 = -1
	if !t.Global {
		n := d.cfg.partitions
		if n == 0 {
			n = d.groupPartitions(table)
		}
		p = topics.KeyPartition(kb, n)
	}
	b, ok, _ := d.table(table, p).Get(kb)
	if !ok {
		return nil, false, nil
	}
	v, err := decodeJSON(b)
	return v, true, err
}

func (d *Driver) groupPartitions(table string) int {
	for _, g := range d.plan.App().TaskGroups() {
		if slices.Contains(g.Tables, table) {
			return g.Partitions
		}
	}
	return 1
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// Plan returns the compiled app.
func (d *Driver) Plan() *pipeline.Plan { return d.plan }

// Window is one window of a windowed table, decoded.
type Window struct {
	Start, End time.Time
	Value      any
}

// WindowRange returns the windows of key in a windowed table whose start is in [from,
// to], by start, from the task owning the key (closed windows included until they
// expire).
func (d *Driver) WindowRange(table string, key any, from, to time.Time) ([]Window, error) {
	kb, err := agents.EncodeKey(key)
	if err != nil {
		return nil, err
	}
	t := d.plan.App().Table(table)
	if t == nil || t.Window == nil {
		return nil, fmt.Errorf("reading windows: %q is not a windowed table of the app", table)
	}
	group := ""
	for _, g := range d.plan.App().TaskGroups() {
		if slices.Contains(g.Tables, table) {
			group = g.Name
		}
	}
	n := d.cfg.partitions
	if n == 0 {
		n = d.groupPartitions(table)
	}
	ws := d.windows[taskKey{group, topics.KeyPartition(kb, n)}]
	if ws == nil {
		return nil, nil
	}
	wt, err := ws.Table(table)
	if err != nil {
		return nil, err
	}
	wins, err := wt.Range(kb, from.UnixMilli(), to.UnixMilli())
	if err != nil {
		return nil, err
	}
	out := make([]Window, 0, len(wins))
	for _, w := range wins {
		v, err := d.plan.WindowResult(table, w.Value)
		if err != nil {
			return nil, err
		}
		out = append(out, Window{Start: time.UnixMilli(w.Start).UTC(), End: time.UnixMilli(w.End).UTC(), Value: v})
	}
	return out, nil
}

// LateRecords returns how many records were dropped from windowed aggregates because all
// their windows were closed, over every task.
func (d *Driver) LateRecords() int64 {
	var n int64
	for _, t := range d.tasks {
		n += t.Metrics().LateRecords
	}
	return n
}
