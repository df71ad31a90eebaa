package runtime

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weirhq/weir/libs/agents"
	"github.com/weirhq/weir/libs/agents/pipeline"
	"github.com/weirhq/weir/libs/tables"
	"github.com/weirhq/weir/libs/topics"
)

// GlobalTable is this worker's copy of one global table of an app, kept current by a
// follower of the table's source topic that the runtime starts when the first replica of
// the app starts here and stops on Close. It is safe for concurrent use.
type GlobalTable struct {
	App, Table, Topic string

	cur  atomic.Pointer[tables.Global] // replaced when the follower restarts after a failure
	plan atomic.Pointer[pipeline.Plan] // the newest version's plan decodes the records
}

// Get reads the copy.
func (g *GlobalTable) Get(key []byte) ([]byte, bool, error) { return g.cur.Load().Get(key) }

// Scan reads the copy in key order.
func (g *GlobalTable) Scan(prefix []byte, fn func(key, value []byte) bool) error {
	return g.cur.Load().Scan(prefix, fn)
}

// Lag is how many source records the copy is behind (-1 while unknown).
func (g *GlobalTable) Lag() int64 { return g.cur.Load().Lag() }

// Metrics are the follower's counters (applied entries, records that did not decode, lag).
func (g *GlobalTable) Metrics() tables.Metrics { return g.cur.Load().Metrics() }

// waitCaughtUp waits until the copy holds every source record written before the call,
// across follower restarts.
func (g *GlobalTable) waitCaughtUp(ctx context.Context) error {
	for {
		err := g.cur.Load().WaitCaughtUp(ctx)
		if err == nil || ctx.Err() != nil {
			return err
		}
		select { // the follower stopped: wait for its replacement
		case <-ctx.Done():
			return err
		case <-time.After(time.Second):
		}
	}
}

func (g *GlobalTable) decode(rec *topics.Record) ([]byte, []byte, bool, error) {
	_, key, value, del, err := g.plan.Load().GlobalEntry(agents.Record{Topic: rec.Topic, Partition: rec.Partition,
		Offset: rec.Offset, Key: rec.Key, Value: rec.Value, Headers: rec.Headers, Timestamp: rec.Time})
	return key, value, del, err
}

// globals are the runtime's followers, one per (app, global table, source topic).
type globals struct {
	mu    sync.Mutex
	byKey map[string]*GlobalTable
	wg    sync.WaitGroup
}

// globalTables returns the plan's global tables (read-only) as the executor's Tables,
// starting their followers on first use, and waits until each holds what its source topic
// held when the call began (so a task starts with current global tables, as Kafka Streams
// bootstraps a GlobalKTable). Timers and tasks alike read through it.
func (rt *Runtime) globalTables(ctx context.Context, plan *pipeline.Plan) (agents.Tables, error) {
	set, err := rt.startGlobals(plan)
	if err != nil {
		return nil, err
	}
	for _, g := range set {
		if err := g.waitCaughtUp(ctx); err != nil {
			return nil, fmt.Errorf("loading global table %q of app %s: %w", g.Table, g.App, err)
		}
	}
	return set, nil
}

// startGlobals starts the followers of the plan's global tables that do not run yet and
// returns all of them, without waiting for them to catch up.
func (rt *Runtime) startGlobals(plan *pipeline.Plan) (globalSet, error) {
	set := globalSet{}
	for _, t := range plan.App().Tables {
		if !t.Global {
			continue
		}
		topic, ok := plan.TopicByLabel(t.Source.Name)
		if !ok {
			return nil, fmt.Errorf("global table %q: unknown source topic %q", t.Name, t.Source.Name)
		}
		g, err := rt.global(plan, t.Name, topic)
		if err != nil {
			return nil, err
		}
		set[t.Name] = g
	}
	return set, nil
}

// global returns the follower of one global table, starting it if needed.
func (rt *Runtime) global(plan *pipeline.Plan, table, topic string) (*GlobalTable, error) {
	app := plan.App().Name
	key := app + "\x00" + table + "\x00" + topic
	rt.globals.mu.Lock()
	defer rt.globals.mu.Unlock()
	if g := rt.globals.byKey[key]; g != nil {
		g.plan.Store(plan)
		return g, nil
	}
	if rt.ctx.Err() != nil { // Close cancels rt.ctx, then waits for the followers started before
		return nil, fmt.Errorf("global table %q of app %s: the runtime is closed", table, app)
	}
	g := &GlobalTable{App: app, Table: table, Topic: topic}
	g.plan.Store(plan)
	first, err := rt.openGlobal(g)
	if err != nil {
		return nil, err
	}
	g.cur.Store(first)
	rt.globals.byKey[key] = g
	rt.globals.wg.Go(func() { rt.follow(g) })
	if rt.cfg.OnGlobalTable != nil {
		rt.cfg.OnGlobalTable(g)
	}
	rt.log.Info("following a global table", "app", app, "table", table, "source", topic)
	return g, nil
}

func (rt *Runtime) openGlobal(g *GlobalTable) (*tables.Global, error) {
	return tables.OpenGlobal(rt.cfg.Store, rt.kafka, tables.GlobalConfig{SourceTopic: g.Topic, Table: g.Table,
		Scope: g.App, Decode: g.decode, Logger: rt.cfg.Logger.With("app", g.App)})
}

// follow runs g's follower until the runtime closes, restarting it (with backoff) when it
// fails, e.g. on a Store error or a deleted source topic.
func (rt *Runtime) follow(g *GlobalTable) {
	ctx := rt.ctx
	backoff := time.Second
	for {
		cur := g.cur.Load()
		err := cur.Run(ctx)
		if ctx.Err() != nil {
			return
		}
		rt.log.Warn("global table follower stopped; restarting", "app", g.App, "table", g.Table, "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
		next, err := rt.openGlobal(g)
		if err != nil {
			rt.log.Warn("reopening a global table", "app", g.App, "table", g.Table, "err", err)
			continue
		}
		g.cur.Store(next)
	}
}

// wait waits for every follower to stop once the runtime's context is cancelled. Taking mu
// first orders it after any global() call that saw the context alive and started one.
func (gs *globals) wait() {
	gs.mu.Lock()
	gs.mu.Unlock()
	gs.wg.Wait()
}

// GlobalTables lists the global table copies this worker keeps.
func (rt *Runtime) GlobalTables() []*GlobalTable {
	rt.globals.mu.Lock()
	defer rt.globals.mu.Unlock()
	out := make([]*GlobalTable, 0, len(rt.globals.byKey))
	for _, g := range rt.globals.byKey {
		out = append(out, g)
	}
	return out
}

// globalSet serves an app's global tables, read-only.
type globalSet map[string]*GlobalTable

func (s globalSet) Table(name string) (agents.Table, error) {
	if g := s[name]; g != nil {
		return globalTable{g}, nil
	}
	return nil, fmt.Errorf("table %q is not a global table of the app", name)
}

// withGlobals serves the global tables from globals and every other table from own.
type withGlobals struct {
	own     agents.Tables
	globals agents.Tables
}

func (w withGlobals) Table(name string) (agents.Table, error) {
	if t, err := w.globals.Table(name); err == nil {
		return t, nil
	}
	return w.own.Table(name)
}

// globalTable is a read-only view of a global table for the executor.
type globalTable struct{ g *GlobalTable }

func (t globalTable) Get(key []byte) ([]byte, bool, error) { return t.g.Get(key) }
func (t globalTable) Set([]byte, []byte) error             { return t.readOnly() }
func (t globalTable) Delete([]byte) error                  { return t.readOnly() }
func (t globalTable) Scan(prefix []byte, fn func(key, value []byte) error) error {
	var ferr error
	err := t.g.Scan(prefix, func(k, v []byte) bool {
		ferr = fn(k, v)
		return ferr == nil
	})
	if ferr != nil {
		return ferr
	}
	return err
}

func (t globalTable) readOnly() error {
	return fmt.Errorf("global table %q is read-only: it mirrors topic %s, write to that topic instead", t.g.Table, t.g.Topic)
}
