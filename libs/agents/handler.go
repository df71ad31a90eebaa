package agents

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/weirhq/weir/libs/topics"
)

// Handler processes one record of an agent declared with handler = "NAME". An error (or a
// panic, which becomes one) follows the agent's on_error policy. A handler's table writes
// and sends take effect only if it returns nil, so a retried attempt starts clean.
type Handler func(ctx *Context) error

// Handlers is a registry of Go handlers by name, built by a worker's main before it starts.
type Handlers map[string]Handler

// Register adds a handler. Names are those of the app's handler attributes; registering a
// name twice, an empty name or a nil handler is an error.
func (h Handlers) Register(name string, fn Handler) error {
	switch {
	case name == "":
		return fmt.Errorf("registering a handler: the name is empty")
	case fn == nil:
		return fmt.Errorf("registering handler %q: the handler is nil", name)
	case h[name] != nil:
		return fmt.Errorf("registering handler %q: already registered", name)
	}
	h[name] = fn
	return nil
}

// Names returns the registered names, sorted.
func (h Handlers) Names() []string {
	names := make([]string, 0, len(h))
	for n := range h {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Runtime is what a Context needs from the runtime running the handler. Package pipeline
// implements it; handlers use Context's methods instead.
type Runtime interface {
	Table(name string) (Table, error)
	// Send emits a record to the app's topic called topic (its label in the app), adding
	// the dedup headers.
	Send(topic string, key, value []byte, headers []topics.Header) error
}

// Context is what a handler gets for one record: the record, its task's tables, sending
// to topics and a logger. It is valid only during the handler call.
type Context struct {
	ctx     context.Context
	rt      Runtime
	Agent   string // the agent's name
	Task    string // the task: "APP/GROUP/PARTITION"
	Record  Record // the input record; Record.Timestamp is its event time
	Logger  *slog.Logger
	Attempt int // 0 for the first attempt, then 1, 2… on retries
}

// NewContext returns a handler context; runtimes call it.
func NewContext(ctx context.Context, rt Runtime, agent, task string, rec Record, logger *slog.Logger, attempt int) *Context {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Context{ctx: ctx, rt: rt, Agent: agent, Task: task, Record: rec, Logger: logger, Attempt: attempt}
}

// Context returns the task's context, done when the task stops.
func (c *Context) Context() context.Context { return c.ctx }

// Key, Value, Headers, Timestamp, Partition and Offset return the record's fields.
func (c *Context) Key() []byte { return c.Record.Key }

// Value returns the record's value bytes.
func (c *Context) Value() []byte { return c.Record.Value }

// Headers returns the record's headers.
func (c *Context) Headers() []topics.Header { return c.Record.Headers }

// Timestamp returns the record's event time.
func (c *Context) Timestamp() time.Time { return c.Record.Timestamp }

// Partition returns the record's partition, which is its task's.
func (c *Context) Partition() int32 { return c.Record.Partition }

// Offset returns the record's offset.
func (c *Context) Offset() int64 { return c.Record.Offset }

// Get reads key from the task's table called table.
func (c *Context) Get(table string, key []byte) ([]byte, bool, error) {
	t, err := c.rt.Table(table)
	if err != nil {
		return nil, false, err
	}
	return t.Get(key)
}

// Set writes key in the task's table called table.
func (c *Context) Set(table string, key, value []byte) error {
	t, err := c.rt.Table(table)
	if err != nil {
		return err
	}
	return t.Set(key, value)
}

// Delete removes key from the task's table called table.
func (c *Context) Delete(table string, key []byte) error {
	t, err := c.rt.Table(table)
	if err != nil {
		return err
	}
	return t.Delete(key)
}

// Scan calls fn for the entries of table whose keys start with prefix, in key order.
func (c *Context) Scan(table string, prefix []byte, fn func(key, value []byte) error) error {
	t, err := c.rt.Table(table)
	if err != nil {
		return err
	}
	return t.Scan(prefix, fn)
}

// Send emits a record to the app's topic called topic (its label in the app file). The
// value is sent as given: encode it as the topic's codec expects. Weir adds the dedup
// headers.
func (c *Context) Send(topic string, key, value []byte, headers ...topics.Header) error {
	return c.rt.Send(topic, key, value, headers)
}
