package pipeline

import (
	"context"
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
	Sleep     Sleeper      // nil: Sleep
	Logger    *slog.Logger // nil: discard
}

// Task runs the agents of one partition. It is used by one goroutine.
type Task struct {
	plan   *Plan
	cfg    TaskConfig
	known  map[string]bool
	logger *slog.Logger
}

// NewTask returns the task for cfg.
func (p *Plan) NewTask(cfg TaskConfig) (*Task, error) {
	if cfg.Emitter == nil {
		return nil, fmt.Errorf("creating a task: no emitter")
	}
	if cfg.Sleep == nil {
		cfg.Sleep = Sleep
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
	stages := t.plan.routes[rec.Topic]
	if len(stages) == 0 {
		return fmt.Errorf("processing %s/%d@%d: no agent reads topic %s", rec.Topic, rec.Partition, rec.Offset, rec.Topic)
	}
	seq := 0
	for _, st := range stages {
		if t.cfg.Group != "" && st.agent.group != t.cfg.Group {
			continue
		}
		if err := t.processStage(ctx, st, &rec, &seq); err != nil {
			return err
		}
	}
	return nil
}

func (t *Task) taskID(ag *agent) string {
	return t.plan.app.Name + "/" + ag.group + "/" + strconv.Itoa(int(t.cfg.Partition))
}

func (t *Task) processStage(ctx context.Context, st *stage, rec *agents.Record, seq *int) error {
	ag := st.agent
	in, err := t.decode(st, rec)
	if err != nil {
		// Decoding fails the same way every time: no retries.
		return t.fail(ctx, st, rec, fmt.Errorf("decoding: %w", err), seq)
	}
	p := ag.policy
	backoff := p.Backoff.Std()
	for attempt := 0; ; attempt++ {
		x := &exec{task: t, stage: st, in: rec, tx: newTx(t.cfg.Tables, t.known), seq: *seq, ctx: ctx, attempt: attempt, eventTime: in.Timestamp}
		err = x.safely(func() error { return x.start(in) })
		if err == nil {
			if err := x.tx.commit(t.cfg.Emitter); err != nil {
				return fmt.Errorf("agent %s: committing %s/%d@%d: %w", ag.name, rec.Topic, rec.Partition, rec.Offset, err)
			}
			*seq = x.seq
			return nil
		}
		if attempt >= p.Retries || ctx.Err() != nil {
			break
		}
		t.logger.Warn("agent failed on a record; retrying", "agent", ag.name, "topic", rec.Topic, "offset", rec.Offset,
			"attempt", attempt+1, "backoff", backoff, "error", err)
		if serr := t.cfg.Sleep(ctx, backoff); serr != nil {
			return fmt.Errorf("agent %s: waiting to retry: %w", ag.name, serr)
		}
		backoff = min(2*backoff, p.MaxBackoff.Std())
	}
	return t.fail(ctx, st, rec, err, seq)
}

// fail applies the agent's policy to a record it failed on.
func (t *Task) fail(_ context.Context, st *stage, rec *agents.Record, cause error, seq *int) error {
	ag := st.agent
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
	d := &decoded{raw: *rec}
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
	if d.Value, err = decode(tc.value, rec.Value); err != nil {
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
