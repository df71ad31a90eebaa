package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/weirhq/weir/libs/agents"
	"github.com/weirhq/weir/libs/agents/expr"
	"github.com/weirhq/weir/libs/config/app"
	"github.com/weirhq/weir/libs/topics"
)

// Sleeper waits d or until ctx is done; tests inject one that does not wait.
type Sleeper func(ctx context.Context, d time.Duration) error

// Sleep is the real Sleeper.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// TaskConfig configures one task.
type TaskConfig struct {
	// Group is the task group whose agents the task runs; "" runs every agent (the test
	// kit does, one task per partition).
	Group     string
	Partition int32
	Tables    agents.Tables
	Emitter   agents.Emitter
	// Windows is the task's event-time clock and windowed tables; required when the
	// task's group has windowed tables (Plan.WindowedTables).
	Windows agents.Windows
	// IdleAfter is how long a task must see no record before Tick closes its windows by
	// wall clock; 0: DefaultIdleAfter.
	IdleAfter time.Duration
	Sleep     Sleeper      // nil: Sleep
	Logger    *slog.Logger // nil: discard
	// OnError, if set, is called for each record an agent failed on after its retries, with
	// the policy applied (app.ThenSkip, app.ThenDeadLetter or app.ThenStop), for metrics.
	OnError func(agent, then string)
}

// Task runs the agents of one partition. It is used by one goroutine.
type Task struct {
	plan   *Plan
	cfg    TaskConfig
	known  map[string]bool
	logger *slog.Logger
	stats  taskCounters
	// ids caches each agent's task id (HeaderTask); sources the last input
	// topic-partition's HeaderSource value. Header values are shared by the records
	// emitted, which never change them.
	ids     map[*agent]*taskIdent
	lastID  *taskIdent
	sources sourceCache
	tables  tableCache
	// depth counts the Process calls running (more than one when an emitter processes
	// what it is given at once); the outermost works on cur and scratch rather than on
	// copies of its own.
	depth   int
	cur     agents.Record
	scratch decoded
	// spare is an exec of a finished attempt, reused by the next one (nil while in use):
	// what an attempt hands on (emitted records, table writes) lives outside it.
	spare *exec
	slab  slab
}

// tableCache opens each of the task's tables once: a task's tables are the same for its
// whole life.
type tableCache struct {
	base   agents.Tables
	opened map[string]agents.Table
}

func (c *tableCache) Table(name string) (agents.Table, error) {
	if tb, ok := c.opened[name]; ok {
		return tb, nil
	}
	tb, err := c.base.Table(name)
	if err != nil {
		return nil, err
	}
	if c.opened == nil {
		c.opened = map[string]agents.Table{}
	}
	c.opened[name] = tb
	return tb, nil
}

// taskIdent is an agent's task id, as text and as a header value.
type taskIdent struct {
	ag    *agent
	id    string
	bytes []byte
}

// sourceCache holds the HeaderSource value of the last input topic-partition.
type sourceCache struct {
	topic     string
	partition int32
	value     []byte
}

// NewTask returns the task for cfg.
func (p *Plan) NewTask(cfg TaskConfig) (*Task, error) {
	if cfg.Emitter == nil {
		return nil, fmt.Errorf("creating a task: no emitter")
	}
	if cfg.Sleep == nil {
		cfg.Sleep = Sleep
	}
	if cfg.IdleAfter == 0 {
		cfg.IdleAfter = DefaultIdleAfter
	}
	if cfg.IdleAfter < 0 {
		return nil, fmt.Errorf("creating a task: idle time must be positive, got %s", cfg.IdleAfter)
	}
	if cfg.Windows == nil && len(p.WindowedTables(cfg.Group)) > 0 {
		return nil, fmt.Errorf("creating a task of group %q: its windowed tables need TaskConfig.Windows", cfg.Group)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	known := map[string]bool{}
	for name := range p.tables {
		known[name] = true
	}
	return &Task{plan: p, cfg: cfg, known: known, logger: logger.With("partition", cfg.Partition)}, nil
}

// AgentError is the error of a record an agent failed on, after its retries, when its
// policy is to stop.
type AgentError struct {
	Agent     string
	Topic     string
	Partition int32
	Offset    int64
	Err       error
}

func (e *AgentError) Error() string {
	return fmt.Sprintf("agent %s failed on %s/%d@%d: %v", e.Agent, e.Topic, e.Partition, e.Offset, e.Err)
}

func (e *AgentError) Unwrap() error { return e.Err }

// Process runs every stage of the task that reads rec's topic on rec. An error means the
// task must stop (and restart from its last commit): an agent with policy stop failed, or
// a table write or emit failed.
func (t *Task) Process(ctx context.Context, rec agents.Record) error {
	t.depth++
	defer func() { t.depth-- }()
	in := &t.cur
	if t.depth > 1 {
		in = new(agents.Record)
	}
	*in = rec
	err := t.process(ctx, in)
	*in = agents.Record{} // keep no references to the record
	if t.depth == 1 {
		t.scratch = decoded{}
	}
	return err
}

func (t *Task) process(ctx context.Context, rec *agents.Record) error {
	stages := t.plan.routes[rec.Topic]
	if len(stages) == 0 {
		return fmt.Errorf("processing %s/%d@%d: no agent reads topic %s", rec.Topic, rec.Partition, rec.Offset, rec.Topic)
	}
	seq := 0
	for _, st := range stages {
		if t.cfg.Group != "" && st.agent.group != t.cfg.Group {
			continue
		}
		if err := t.processStage(ctx, st, rec, &seq); err != nil {
			return err
		}
	}
	return nil
}

func (t *Task) taskID(ag *agent) string { return t.ident(ag).id }

// ident returns ag's task id, computed once.
func (t *Task) ident(ag *agent) *taskIdent {
	if t.lastID != nil && t.lastID.ag == ag {
		return t.lastID
	}
	id := t.ids[ag]
	if id == nil {
		s := t.plan.app.Name + "/" + ag.group + "/" + strconv.Itoa(int(t.cfg.Partition))
		id = &taskIdent{ag: ag, id: s, bytes: []byte(s)}
		if t.ids == nil {
			t.ids = map[*agent]*taskIdent{}
		}
		t.ids[ag] = id
	}
	t.lastID = id
	return id
}

// source returns the HeaderSource value of an input record: "TOPIC/PARTITION".
func (t *Task) source(rec *agents.Record) []byte {
	c := &t.sources
	if c.value == nil || c.topic != rec.Topic || c.partition != rec.Partition {
		*c = sourceCache{topic: rec.Topic, partition: rec.Partition, value: []byte(rec.Topic + "/" + strconv.Itoa(int(rec.Partition)))}
	}
	return c.value
}

func (t *Task) processStage(ctx context.Context, st *stage, rec *agents.Record, seq *int) error {
	in, err := t.decode(st, rec)
	if err != nil {
		// Decoding fails the same way every time: no retries.
		return t.fail(ctx, st, rec, fmt.Errorf("decoding: %w", err), seq)
	}
	if ms := in.Timestamp.UnixMilli(); t.cfg.Windows != nil && (ms < -maxEventTime || ms > maxEventTime) {
		// A bad event time is the record's problem (its policy applies), not the task's.
		return t.fail(ctx, st, rec, fmt.Errorf("decoding: event time %s is out of range", in.Timestamp), seq)
	}
	if err := t.observe(in.Timestamp); err != nil {
		return fmt.Errorf("agent %s: %s/%d@%d: %w", st.agent.name, rec.Topic, rec.Partition, rec.Offset, err)
	}
	return t.attempt(ctx, st, rec, in.Timestamp, seq, func(x *exec) error { return x.start(in) })
}

// attempt runs body on rec under the agent's error policy: each try in a fresh exec whose
// table writes and records are applied only when it succeeds. Updates of windowed tables
// the try deferred are applied then too, and the steps after each windowed aggregate run
// as continuations, one per updated window, each an attempt of its own: a window update
// is applied once, and a failure after it retries only what follows it.
func (t *Task) attempt(ctx context.Context, st *stage, rec *agents.Record, eventTime time.Time, seq *int, body func(*exec) error) error {
	ag := st.agent
	p := ag.policy
	backoff := p.Backoff.Std()
	var err error
	for try := 0; ; try++ {
		x := t.newExec(ctx, st, rec, eventTime, *seq, try)
		err = x.safely(func() error { return body(x) })
		var conts []continuation
		if err == nil {
			conts, err = x.applyWindows()
		}
		if fatal := asFatal(err); fatal != nil {
			return fmt.Errorf("agent %s: %s/%d@%d: %w", ag.name, rec.Topic, rec.Partition, rec.Offset, fatal.err)
		}
		if err == nil {
			if err := x.tx.commit(t.cfg.Emitter); err != nil {
				return fmt.Errorf("agent %s: committing %s/%d@%d: %w", ag.name, rec.Topic, rec.Partition, rec.Offset, err)
			}
			*seq = x.seq
			t.release(x)
			for _, c := range conts {
				if err := t.attempt(ctx, st, rec, eventTime, seq, c.run); err != nil {
					return err
				}
			}
			return nil
		}
		t.release(x)
		if try >= p.Retries || ctx.Err() != nil {
			break
		}
		t.logger.Warn("agent failed on a record; retrying", "agent", ag.name, "topic", rec.Topic, "offset", rec.Offset,
			"attempt", try+1, "backoff", backoff, "error", err)
		if serr := t.cfg.Sleep(ctx, backoff); serr != nil {
			return fmt.Errorf("agent %s: waiting to retry: %w", ag.name, serr)
		}
		backoff = min(2*backoff, p.MaxBackoff.Std())
	}
	return t.fail(ctx, st, rec, err, seq)
}

func (t *Task) newExec(ctx context.Context, st *stage, rec *agents.Record, eventTime time.Time, seq, try int) *exec {
	id := t.ident(st.agent)
	x := t.spare
	if x != nil {
		t.spare = nil
		*x = exec{task: t, stage: st, in: rec, seq: seq, ctx: ctx, attempt: try, eventTime: eventTime, taskID: id.id, taskIDBytes: id.bytes}
	} else {
		x = &exec{task: t, stage: st, in: rec, seq: seq, ctx: ctx, attempt: try, eventTime: eventTime, taskID: id.id, taskIDBytes: id.bytes}
	}
	var base agents.Tables
	if t.cfg.Tables != nil {
		t.tables.base = t.cfg.Tables
		base = &t.tables
	}
	x.txv = tx{base: base, known: t.known, windowed: t.plan.windowed, out: x.outBuf[:0]}
	x.tx = &x.txv
	return x
}

// release keeps x, whose attempt is over, for the next one. The exec of a Go handler is
// not kept: the handler's context refers to it, and a handler may keep its context.
func (t *Task) release(x *exec) {
	if x.stage.agent.handler != nil {
		return
	}
	*x = exec{}
	t.spare = x
}

// fatalError is an error the agent's policy may not handle: the task must stop and
// restart from its last commit (a window update was applied and a later one failed).
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }
func (e *fatalError) Unwrap() error { return e.err }

// asFatal returns the fatalError in err's chain, if any (without allocating for a nil err).
func asFatal(err error) *fatalError {
	if err == nil {
		return nil
	}
	var fatal *fatalError
	if errors.As(err, &fatal) {
		return fatal
	}
	return nil
}

// fail applies the agent's policy to a record it failed on.
func (t *Task) fail(_ context.Context, st *stage, rec *agents.Record, cause error, seq *int) error {
	ag := st.agent
	if t.cfg.OnError != nil {
		t.cfg.OnError(ag.name, ag.policy.Then)
	}
	switch ag.policy.Then {
	case app.ThenSkip:
		t.logger.Warn("agent skipped a record", "agent", ag.name, "topic", rec.Topic, "offset", rec.Offset, "error", cause)
		return nil
	case app.ThenDeadLetter:
		headers := make([]topics.Header, 0, len(rec.Headers)+9)
		for _, h := range rec.Headers {
			if !agents.IsWeirHeader(h.Key) {
				headers = append(headers, h)
			}
		}
		headers = append(headers,
			topics.Header{Key: agents.HeaderError, Value: []byte(cause.Error())},
			topics.Header{Key: agents.HeaderSourceTopic, Value: []byte(rec.Topic)},
			topics.Header{Key: agents.HeaderSourcePartition, Value: strconv.AppendInt(nil, int64(rec.Partition), 10)},
			topics.Header{Key: agents.HeaderSourceOffset, Value: strconv.AppendInt(nil, rec.Offset, 10)},
			topics.Header{Key: agents.HeaderAgent, Value: []byte(ag.name)},
		)
		headers = append(headers, agents.DedupHeaders(t.taskID(ag), rec, *seq)...)
		*seq++
		m := agents.Message{Topic: ag.deadLetter.kafka, Key: rec.Key, Value: rec.Value, Headers: headers, Timestamp: rec.Timestamp}
		if err := t.cfg.Emitter.Emit(m); err != nil {
			return fmt.Errorf("agent %s: sending %s/%d@%d to dead letters: %w", ag.name, rec.Topic, rec.Partition, rec.Offset, err)
		}
		t.logger.Warn("agent sent a record to its dead-letter topic", "agent", ag.name, "topic", rec.Topic, "offset", rec.Offset, "error", cause)
		return nil
	}
	return &AgentError{Agent: ag.name, Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset, Err: cause}
}

// decoded is an input record as its stage starts with it.
type decoded struct {
	expr.Env
	raw agents.Record
}

func (t *Task) decode(st *stage, rec *agents.Record) (*decoded, error) {
	d := &t.scratch
	if t.depth > 1 {
		d = new(decoded)
	}
	*d = decoded{raw: *rec}
	d.Headers, d.Timestamp, d.Partition, d.Offset = rec.Headers, rec.Timestamp, rec.Partition, rec.Offset
	if st.repartition {
		e, err := decodeEnvelope(rec.Value)
		if err != nil {
			return nil, err
		}
		d.Key, d.Value, d.Lookups = e.Key, e.Value, e.Lookups
		return d, nil
	}
	tc := t.plan.byKafka[rec.Topic]
	if tc == nil {
		return nil, fmt.Errorf("topic %s is not one of the app's", rec.Topic)
	}
	var err error
	if d.Key, err = decode(tc.key, rec.Key); err != nil {
		return nil, fmt.Errorf("the key: %w", err)
	}
	decodeValue := decode
	if tc.valuePlain {
		decodeValue = decodePlain
	}
	if d.Value, err = decodeValue(tc.value, rec.Value); err != nil {
		return nil, fmt.Errorf("the value: %w", err)
	}
	tc.fillFields(d.Value)
	if d.Timestamp, err = tc.eventTime(&d.Env); err != nil {
		return nil, err
	}
	return d, nil
}

// safely runs fn, turning a panic into an error.
func (x *exec) safely(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			x.task.logger.Error("agent panicked", "agent", x.stage.agent.name, "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return fn()
}
