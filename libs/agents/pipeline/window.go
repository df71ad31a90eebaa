package pipeline

import (
	"fmt"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/weirhq/weir/libs/agents"
	"github.com/weirhq/weir/libs/agents/expr"
	"github.com/weirhq/weir/libs/config/app"
)

// DefaultIdleAfter is how long a task sees no record before Tick closes its windows by
// wall clock, unless TaskConfig.IdleAfter says otherwise.
const DefaultIdleAfter = time.Minute

// maxEventTime bounds event times as libs/tables does (±2^60 ms).
const maxEventTime int64 = 1 << 60

// WindowedTable is a windowed table of a task group, as the runtime registers it with its
// windows at task start: tables.SpecFromConfig(Table.Window, Merge).
type WindowedTable struct {
	Table *app.Table
	// Function is the aggregate function folding into the table ("" when no step does).
	Function string
	// Merge combines two session windows' values for Function (set for every kind; libs/tables
	// uses it for sessions only).
	Merge agents.MergeFunc
}

// WindowedTables returns the windowed tables of a task group ("" for every group), by name.
func (p *Plan) WindowedTables(group string) []WindowedTable {
	var out []WindowedTable
	for _, t := range p.app.Tables { // sorted by name
		if t.Window == nil || (group != "" && p.groupOf[t.Name] != group) {
			continue
		}
		fn := p.windowFn[t.Name]
		out = append(out, WindowedTable{Table: t, Function: fn, Merge: mergeFunc(fn)})
	}
	return out
}

// TaskMetrics are a task's cumulative counters; safe to read from any goroutine.
type TaskMetrics struct {
	LateRecords   int64 // records dropped from a windowed aggregate: all their windows were closed
	ClosedWindows int64 // window closes emitted (to on_close topics, or dropped without one)
}

type taskCounters struct{ late, closed atomic.Int64 }

// Metrics returns the task's counters.
func (t *Task) Metrics() TaskMetrics {
	return TaskMetrics{LateRecords: t.stats.late.Load(), ClosedWindows: t.stats.closed.Load()}
}

// Tick closes the windows of an idle task by wall clock and emits their final values: the
// runtime calls it every tick (about a second) while the task runs. A task without
// windowed tables does nothing.
func (t *Task) Tick(now time.Time) error {
	if t.cfg.Windows == nil {
		return nil
	}
	closed, err := t.cfg.Windows.AdvanceWallClock(now, t.cfg.IdleAfter)
	if err != nil {
		return fmt.Errorf("advancing the wall clock of task %d: %w", t.cfg.Partition, err)
	}
	return t.emitClosed(closed)
}

// observe advances the task's stream time to a record's event time and emits the windows
// that closes. Every record a task decodes is observed, whichever agent reads it.
func (t *Task) observe(eventTime time.Time) error {
	if t.cfg.Windows == nil {
		return nil
	}
	closed, err := t.cfg.Windows.Observe(eventTime.UnixMilli())
	if err != nil {
		return fmt.Errorf("observing event time %s: %w", expr.FormatTime(eventTime), err)
	}
	return t.emitClosed(closed)
}

// emitClosed sends each closed window's final value to its table's on_close topic.
func (t *Task) emitClosed(closed []agents.ClosedWindow) error {
	for _, c := range closed {
		t.stats.closed.Add(1)
		m, ok, err := t.plan.closeMessage(c, t.cfg.Partition)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if err := t.cfg.Emitter.Emit(m); err != nil {
			return fmt.Errorf("emitting the close of %s window %d: %w", c.Table, c.Start, err)
		}
	}
	return nil
}

// closeMessage is the record a window close sends to its table's on_close topic: the
// table's key, the window's final value (as an emit of the aggregate would send it),
// timestamp the window's start, the content identity and window headers; ok is false when
// the table has no on_close topic.
func (p *Plan) closeMessage(c agents.ClosedWindow, partition int32) (agents.Message, bool, error) {
	t := p.tables[c.Table]
	if t == nil {
		return agents.Message{}, false, fmt.Errorf("closing a window of %q: the app has no such table", c.Table)
	}
	if !t.OnClose.IsSet() {
		return agents.Message{}, false, nil
	}
	to := p.byLabel[t.OnClose.Name]
	if to == nil {
		return agents.Message{}, false, fmt.Errorf("closing a window of %q: unknown on_close topic %q", c.Table, t.OnClose.Name)
	}
	v, err := p.windowResult(c.Table, c.Value)
	if err != nil {
		return agents.Message{}, false, fmt.Errorf("closing window %d of %q: %w", c.Start, c.Table, err)
	}
	kb, err := encode(to.key, tableKey(t, c.Key))
	if err != nil {
		return agents.Message{}, false, fmt.Errorf("closing window %d of %q: encoding the key for topic %s: %w", c.Start, c.Table, to.label, err)
	}
	vb, err := encode(to.value, v)
	if err != nil {
		return agents.Message{}, false, fmt.Errorf("closing window %d of %q: encoding the value for topic %s: %w", c.Start, c.Table, to.label, err)
	}
	task := p.app.Name + "/" + p.groupOf[c.Table] + "/" + strconv.Itoa(int(partition))
	headers := append(agents.IdentityHeaders(task, c.Identity, 0), agents.WindowHeaders(c.Start, c.End)...)
	return agents.Message{Topic: to.kafka, Key: kb, Value: vb, Headers: headers, Timestamp: time.UnixMilli(c.Start).UTC()}, true, nil
}

// tableKey turns a table key's bytes (EncodeKey) back into a value of the table's key type.
func tableKey(t *app.Table, b []byte) any {
	switch t.Key.Name {
	case "number":
		if f, err := strconv.ParseFloat(string(b), 64); err == nil {
			return f
		}
	case "json":
		if v, err := jsonValue(b); err == nil {
			return v
		}
	}
	return string(b)
}

// WindowResult decodes a window's stored value of a windowed table into what queries and
// emits see: the aggregate, or for avg the average (such a window holds
// {"avg": x, "count": n}).
func (p *Plan) WindowResult(table string, b []byte) (any, error) { return p.windowResult(table, b) }

func (p *Plan) windowResult(table string, b []byte) (any, error) {
	v, err := jsonValue(b)
	if err != nil || p.windowFn[table] != "avg" {
		return v, err
	}
	if m, ok := v.(map[string]any); ok {
		return m["avg"], nil
	}
	return nil, fmt.Errorf("the average window holds %s, not {\"avg\", \"count\"}", describe(v))
}

// windowOp is an aggregate into a windowed table that an attempt deferred: it is applied
// when the attempt succeeds, and the steps after it (rest) run then, once per window
// updated.
type windowOp struct {
	step  *step
	key   []byte
	ts    int64
	value any
	rest  []*step
	env   expr.Env
}

// continuation is the rest of a stage after a windowed aggregate, for one updated window.
type continuation struct {
	op  *windowOp
	win agents.WindowValue
}

// run runs the continuation in an attempt: value is the window's new aggregate.
func (c continuation) run(x *exec) error {
	env := c.op.env
	if env.Lookups != nil {
		env.Lookups = cloneLookups(env.Lookups)
	}
	v, err := x.task.plan.windowResult(c.op.step.table.Name, c.win.Value)
	if err != nil {
		return fmt.Errorf("table %q: %w", c.op.step.table.Name, err)
	}
	env.Value = v
	x.win = &c.win
	return x.run(c.op.rest, &env)
}

// aggregateWindowed defers an aggregate into a windowed table to the end of the attempt.
func (x *exec) aggregateWindowed(s *step, rest []*step, env *expr.Env) error {
	var v any
	if s.value != nil {
		var err error
		if v, err = s.value.Eval(env); err != nil {
			return err
		}
	}
	kb, err := agents.EncodeKey(env.Key)
	if err != nil {
		return fmt.Errorf("aggregating: %w", err)
	}
	ts := x.eventTime.UnixMilli()
	if ts < -maxEventTime || ts > maxEventTime {
		return fmt.Errorf("aggregating into %q: event time %s is out of range", s.table.Name, expr.FormatTime(x.eventTime))
	}
	op := &windowOp{step: s, key: kb, ts: ts, value: v, rest: rest, env: *env}
	if op.env.Lookups != nil {
		op.env.Lookups = cloneLookups(op.env.Lookups)
	}
	x.ops = append(x.ops, op)
	return nil
}

// applyWindows applies the attempt's windowed aggregates in order and returns the
// continuations. A failure of the first leaves nothing behind (the attempt can be
// retried); a failure after one was applied is fatal.
func (x *exec) applyWindows() ([]continuation, error) {
	var conts []continuation
	for i, op := range x.ops {
		updated, err := x.applyWindow(op)
		if err != nil {
			err = fmt.Errorf("aggregate %q into table %q: %w", op.step.label, op.step.table.Name, err)
			if i > 0 {
				return nil, &fatalError{fmt.Errorf("%w (after an earlier windowed aggregate of the record was applied)", err)}
			}
			return nil, err
		}
		for _, w := range updated {
			conts = append(conts, continuation{op: op, win: w})
		}
	}
	return conts, nil
}

func (x *exec) applyWindow(op *windowOp) ([]agents.WindowValue, error) {
	ws := x.task.cfg.Windows
	if ws == nil {
		return nil, fmt.Errorf("the task has no windows")
	}
	wt, err := ws.Table(op.step.table.Name)
	if err != nil {
		return nil, err
	}
	def, err := plain(op.step.table.Default)
	if err != nil {
		return nil, fmt.Errorf("the table's default: %w", err)
	}
	updated, late, err := wt.Update(op.key, op.ts, foldWindow(op.step.label, def, op.value))
	if err != nil {
		return nil, err
	}
	if late && len(updated) == 0 {
		x.task.stats.late.Add(1)
		x.task.logger.Debug("late record dropped", "agent", x.stage.agent.name, "table", op.step.table.Name,
			"topic", x.in.Topic, "offset", x.in.Offset, "event_time", expr.FormatTime(x.eventTime))
	}
	return updated, nil
}

// foldWindow is the update function of an aggregate into a window: the window's new
// value from its current one (the table's default for a new window).
func foldWindow(fn string, def, v any) agents.UpdateFunc {
	return func(old []byte, ok bool) ([]byte, error) {
		cur := def
		if ok {
			var err error
			if cur, err = jsonValue(old); err != nil {
				return nil, err
			}
		}
		if fn == "avg" {
			return foldAvg(cur, ok, def, v)
		}
		next, err := fold(fn, cur, v, nil, nil)
		if err != nil {
			return nil, err
		}
		return encodeJSON(next)
	}
}

// avgState is a windowed average: the average and the count of values it holds.
type avgState struct {
	Avg   any     `json:"avg"`
	Count float64 `json:"count"`
}

func toAvg(v any) (avgState, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return avgState{}, fmt.Errorf("the average window holds %s, not {\"avg\", \"count\"}", describe(v))
	}
	n, err := number(m["count"], "the count of the average")
	return avgState{Avg: m["avg"], Count: n}, err
}

func foldAvg(cur any, ok bool, def, v any) ([]byte, error) {
	st := avgState{Avg: def}
	if ok {
		var err error
		if st, err = toAvg(cur); err != nil {
			return nil, err
		}
	}
	if v != nil {
		f, err := number(v, "the value")
		if err != nil {
			return nil, err
		}
		c := 0.0
		if st.Count > 0 {
			if c, err = number(st.Avg, "the current average"); err != nil {
				return nil, err
			}
		}
		st.Count++
		st.Avg = c + (f-c)/st.Count
	}
	return encodeJSON(st)
}

// mergeFunc returns the session merge of an aggregate function: count and sum add, min
// and max compare, last and tables without aggregates keep b, collect_set unions (a's
// elements first), avg weighs both averages by their counts.
func mergeFunc(fn string) agents.MergeFunc {
	return func(a, b []byte) ([]byte, error) {
		av, err := jsonValue(a)
		if err != nil {
			return nil, fmt.Errorf("merging sessions: %w", err)
		}
		bv, err := jsonValue(b)
		if err != nil {
			return nil, fmt.Errorf("merging sessions: %w", err)
		}
		out, err := merge(fn, av, bv)
		if err != nil {
			return nil, fmt.Errorf("merging %s sessions: %w", fn, err)
		}
		return encodeJSON(out)
	}
}

func merge(fn string, a, b any) (any, error) {
	switch fn {
	case "count", "sum":
		x, err := number(a, "the earlier session's "+fn)
		if err != nil {
			return nil, err
		}
		y, err := number(b, "the later session's "+fn)
		return x + y, err
	case "min", "max":
		if a == nil || b == nil {
			return coalesce(a, b), nil
		}
		x, err := number(a, "the earlier session's "+fn)
		if err != nil {
			return nil, err
		}
		y, err := number(b, "the later session's "+fn)
		if fn == "min" {
			return min(x, y), err
		}
		return max(x, y), err
	case "collect_set":
		out := a
		for _, e := range asList(b) {
			var err error
			if out, err = fold("collect_set", out, e, nil, nil); err != nil {
				return nil, err
			}
		}
		return out, nil
	case "avg":
		x, err := toAvg(a)
		if err != nil {
			return nil, err
		}
		y, err := toAvg(b)
		if err != nil {
			return nil, err
		}
		if x.Count == 0 {
			return y, nil
		}
		if y.Count == 0 {
			return x, nil
		}
		xa, err := number(x.Avg, "the earlier session's average")
		if err != nil {
			return nil, err
		}
		ya, err := number(y.Avg, "the later session's average")
		if err != nil {
			return nil, err
		}
		n := x.Count + y.Count
		return avgState{Avg: xa*(x.Count/n) + ya*(y.Count/n), Count: n}, nil
	}
	return b, nil // last, or no aggregate
}

func coalesce(a, b any) any {
	if a == nil {
		return b
	}
	return a
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// lookupWindow reads the window of a windowed table containing the record's event time:
// for hopping windows the earliest such (the one covering the most history), for
// sessions the key's session around it; null when there is none.
func (x *exec) lookupWindow(s *step, kb []byte) (any, error) {
	ws := x.task.cfg.Windows
	if ws == nil {
		return nil, fmt.Errorf("reading windowed table %q: the task has no windows", s.table.Name)
	}
	wt, err := ws.Table(s.table.Name)
	if err != nil {
		return nil, fmt.Errorf("reading windowed table %q: %w", s.table.Name, err)
	}
	ts := x.eventTime.UnixMilli()
	from := -maxEventTime
	if w := s.table.Window; w.Kind != app.WindowSession {
		from = ts - w.Size.Std().Milliseconds() + 1
	}
	wins, err := wt.Range(kb, from, ts)
	if err != nil {
		return nil, fmt.Errorf("reading windowed table %q: %w", s.table.Name, err)
	}
	i := slices.IndexFunc(wins, func(w agents.WindowValue) bool { return w.Start <= ts && ts < w.End })
	if i < 0 {
		return nil, nil
	}
	v, err := x.task.plan.windowResult(s.table.Name, wins[i].Value)
	if err != nil {
		return nil, fmt.Errorf("table %q: %w", s.table.Name, err)
	}
	return v, nil
}

func cloneLookups(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
