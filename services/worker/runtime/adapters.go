package runtime

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/weirhq/weir/libs/agents"
	"github.com/weirhq/weir/libs/tables"
	"github.com/weirhq/weir/libs/topics"
)

// taskTables gives the executor the task's tables (libs/tables) through agents.Tables.
type taskTables struct{ task *tables.Task }

func (t taskTables) Table(name string) (agents.Table, error) {
	tb, err := t.task.Table(name)
	if err != nil {
		return nil, err
	}
	return taskTable{tb}, nil
}

type taskTable struct{ tb tables.Table }

func (t taskTable) Get(key []byte) ([]byte, bool, error) { return t.tb.Get(key) }
func (t taskTable) Set(key, value []byte) error          { return t.tb.Set(key, value) }
func (t taskTable) Delete(key []byte) error              { return t.tb.Delete(key) }
func (t taskTable) Scan(prefix []byte, fn func(key, value []byte) error) error {
	var ferr error
	err := t.tb.Scan(prefix, func(k, v []byte) bool {
		ferr = fn(k, v)
		return ferr == nil
	})
	if ferr != nil {
		return ferr
	}
	return err
}

// emitter sends a task's outputs through the worker's shared producer and tracks its own
// in-flight records, so a commit waits for this task's outputs only. Emit buffers records
// and hands them to the producer together (one writer call per emitBatch records, cheaper
// per record than one each); push hands over the rest, and the task's loop calls it after
// each polled batch, so records wait for no more than the batch's processing. The first
// failed send fails every later Emit and the commit: the task stops and restarts from its
// last commit rather than skipping ahead. Emit, push and flush are called from the task's
// goroutine only.
type emitter struct {
	producer *topics.Producer
	ctx      context.Context
	buf      []topics.Record // emitted, not yet handed to the producer

	mu       sync.Mutex
	inflight int
	idle     chan struct{} // closed while inflight == 0
	err      error
}

// emitBatch is how many records Emit buffers before handing them to the producer.
const emitBatch = 256

func newEmitter(ctx context.Context, p *topics.Producer) *emitter {
	e := &emitter{producer: p, ctx: ctx, idle: make(chan struct{})}
	close(e.idle)
	return e
}

func (e *emitter) Emit(m agents.Message) error {
	e.mu.Lock()
	err := e.err
	e.mu.Unlock()
	if err != nil {
		return err
	}
	e.buf = append(e.buf, topics.Record{Topic: m.Topic, Key: m.Key, Value: m.Value, Headers: m.Headers, Time: m.Timestamp})
	if len(e.buf) >= emitBatch {
		return e.push()
	}
	return nil
}

// push hands the buffered records to the producer.
func (e *emitter) push() error {
	if len(e.buf) == 0 {
		return nil
	}
	e.mu.Lock()
	if e.inflight == 0 {
		e.idle = make(chan struct{})
	}
	e.inflight += len(e.buf)
	e.mu.Unlock()
	err := e.producer.SendBatchAsync(e.ctx, e.buf, e.done)
	clear(e.buf) // no references kept to sent records
	e.buf = e.buf[:0]
	if err != nil {
		return fmt.Errorf("sending an output record: %w", err)
	}
	return nil
}

func (e *emitter) done(_ topics.Record, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err != nil && e.err == nil {
		e.err = fmt.Errorf("sending an output record: %w", err)
	}
	e.inflight--
	if e.inflight == 0 {
		close(e.idle)
	}
}

// flush waits until every record emitted so far is acknowledged, and returns the first
// failure.
func (e *emitter) flush(ctx context.Context) error {
	if err := e.push(); err != nil {
		return err
	}
	e.mu.Lock()
	idle := e.idle
	e.mu.Unlock()
	select {
	case <-idle:
	case <-ctx.Done():
		return fmt.Errorf("flushing outputs: %w", ctx.Err())
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

var errLeaseLost = errors.New("the worker's lease is no longer provably alive")
