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
	"github.com/weirhq/weir/libs/topics"
)

// Input is one record sent into the app.
type Input struct {
	Topic     string            `json:"topic"`
	Key       any               `json:"key"`
	Value     any               `json:"value"`
	Timestamp string            `json:"timestamp,omitempty"`
	Headers   map[string]string `json:"headers,omitempty"`
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
}

// WithPartitions gives every topic (and so every task group) n partitions instead of the
// app's counts.
func WithPartitions(n int) Option { return func(c *config) { c.partitions = n } }

// WithHandlers registers the Go handlers the app's agents use.
func WithHandlers(h agents.Handlers) Option { return func(c *config) { c.handlers = h } }

// WithLogger sets the logger of agents and handlers (default: discard).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// Driver runs an app in memory. It is not safe for concurrent use.
type Driver struct {
	cfg     config
	plan    *pipeline.Plan
	tasks   map[int32]*pipeline.Task
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
	return &Driver{cfg: cfg, plan: plan, tasks: map[int32]*pipeline.Task{},
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

func (d *Driver) task(partition int32) (*pipeline.Task, error) {
	if t := d.tasks[partition]; t != nil {
		return t, nil
	}
	t, err := d.plan.NewTask(pipeline.TaskConfig{
		Partition: partition,
		Tables:    partitionTables{d: d, partition: partition},
		Emitter:   agents.EmitterFunc(d.enqueue),
		Sleep: func(_ context.Context, w time.Duration) error {
			d.waits = append(d.waits, w)
			return nil
		},
		Logger: d.cfg.logger,
	})
	if err != nil {
		return nil, err
	}
	d.tasks[partition] = t
	return t, nil
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

// Send produces one record and processes it and everything it causes.
func (d *Driver) Send(ctx context.Context, in Input) error {
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
	for len(d.queue) > 0 {
		next := d.queue[0]
		d.queue = d.queue[1:]
		if err := d.dispatch(ctx, next); err != nil {
			return err
		}
	}
	return nil
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
	if !d.plan.Reads(rec.Topic) {
		return nil
	}
	t, err := d.task(rec.Partition)
	if err != nil {
		return err
	}
	return t.Process(ctx, in)
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
