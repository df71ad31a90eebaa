package runtime

import (
	"fmt"
	"time"

	"github.com/weirhq/weir/libs/agents"
	"github.com/weirhq/weir/libs/agents/pipeline"
	"github.com/weirhq/weir/libs/tables"
)

// openWindows registers the group's windowed tables on the task's libs/tables windows and
// returns them as the executor's agents.Windows; nil when the group has none.
func openWindows(task *tables.Task, plan *pipeline.Plan, group string) (agents.Windows, error) {
	wts := plan.WindowedTables(group)
	if len(wts) == 0 {
		return nil, nil
	}
	ws, err := tables.OpenWindows(task)
	if err != nil {
		return nil, err
	}
	w := &windows{ws: ws, tables: map[string]*tables.WindowedTable{}}
	for _, wt := range wts {
		spec, err := tables.SpecFromConfig(wt.Table.Window, wt.Merge)
		if err != nil {
			return nil, fmt.Errorf("windowed table %s: %w", wt.Table.Name, err)
		}
		t, err := ws.Table(wt.Table.Name, spec)
		if err != nil {
			return nil, err
		}
		w.tables[wt.Table.Name] = t
	}
	return w, nil
}

// windows adapts tables.Windows to agents.Windows.
type windows struct {
	ws     *tables.Windows
	tables map[string]*tables.WindowedTable
}

func (w *windows) Observe(eventTime int64) ([]agents.ClosedWindow, error) {
	closed, err := w.ws.Observe(eventTime)
	return convertClosed(closed), err
}

func (w *windows) AdvanceWallClock(now time.Time, idleAfter time.Duration) ([]agents.ClosedWindow, error) {
	closed, err := w.ws.AdvanceWallClock(now, idleAfter)
	return convertClosed(closed), err
}

func (w *windows) Table(name string) (agents.WindowTable, error) {
	t, ok := w.tables[name]
	if !ok {
		return nil, fmt.Errorf("no windowed table %q in this task", name)
	}
	return windowTable{t}, nil
}

type windowTable struct{ t *tables.WindowedTable }

func (wt windowTable) Update(key []byte, ts int64, fn agents.UpdateFunc) ([]agents.WindowValue, bool, error) {
	res, err := wt.t.Update(key, ts, tables.UpdateFunc(fn))
	if err != nil {
		return nil, false, err
	}
	out := make([]agents.WindowValue, len(res.Updated))
	for i, v := range res.Updated {
		out[i] = agents.WindowValue{Start: v.Start, End: v.End, Value: v.Value}
	}
	return out, res.Late > 0, nil
}

func (wt windowTable) Get(key []byte, start int64) (agents.WindowValue, bool, error) {
	v, ok, err := wt.t.Get(key, start)
	return agents.WindowValue{Start: v.Start, End: v.End, Value: v.Value}, ok, err
}

func (wt windowTable) Range(key []byte, from, to int64) ([]agents.WindowValue, error) {
	vs, err := wt.t.Range(key, from, to)
	out := make([]agents.WindowValue, len(vs))
	for i, v := range vs {
		out[i] = agents.WindowValue{Start: v.Start, End: v.End, Value: v.Value}
	}
	return out, err
}

func convertClosed(cs []tables.ClosedWindow) []agents.ClosedWindow {
	out := make([]agents.ClosedWindow, len(cs))
	for i, c := range cs {
		out[i] = agents.ClosedWindow{Table: c.Table, Key: c.Key, Start: c.Start, End: c.End, Value: c.Value, Identity: c.Identity()}
	}
	return out
}
