package testkit

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/weirhq/weir/libs/agents"
	"github.com/weirhq/weir/libs/tables"
)

// memWindows is agents.Windows in memory, with libs/tables' semantics: stream time per
// task, windows closing at end + grace ≤ stream time (returned once, ordered by close
// time, table, key and start), late updates dropped and counted, closed windows kept
// until they expire, sessions merged with the table's merge function, and idle tasks
// advanced by wall clock.
type memWindows struct {
	task   string // the task as close identities name it: "<changelog>/<partition>"
	st     int64
	seen   bool // st is set
	tables map[string]*memWindowTable

	active    bool
	idleSince time.Time
	anchorST  int64

	lateRecords, lateWindows, closed, expired int64
}

type memWindowTable struct {
	ws   *memWindows
	name string
	spec tables.WindowSpec
	keys map[string][]*memWindow // by start
}

type memWindow struct {
	start, end int64
	value      []byte
	closed     bool
}

func newMemWindows(task string) *memWindows {
	return &memWindows{task: task, tables: map[string]*memWindowTable{}}
}

// register adds a windowed table (validated as libs/tables does).
func (ws *memWindows) register(name string, spec tables.WindowSpec) error {
	if err := spec.Validate(); err != nil {
		return fmt.Errorf("registering windowed table %q: %w", name, err)
	}
	ws.tables[name] = &memWindowTable{ws: ws, name: name, spec: spec, keys: map[string][]*memWindow{}}
	return nil
}

func (ws *memWindows) Table(name string) (agents.WindowTable, error) {
	t := ws.tables[name]
	if t == nil {
		return nil, fmt.Errorf("opening windowed table %q: not registered with the task", name)
	}
	return t, nil
}

func checkEventTime(ts int64) error {
	if ts < -tables.MaxEventTime || ts > tables.MaxEventTime {
		return fmt.Errorf("event time %d ms is outside ±%d ms", ts, tables.MaxEventTime)
	}
	return nil
}

func (ws *memWindows) Observe(ts int64) ([]agents.ClosedWindow, error) {
	if err := checkEventTime(ts); err != nil {
		return nil, fmt.Errorf("observing a record of task %s: %w", ws.task, err)
	}
	ws.active = true
	if ws.seen && ts <= ws.st {
		return nil, nil
	}
	return ws.advance(ts), nil
}

func (ws *memWindows) AdvanceWallClock(now time.Time, idleAfter time.Duration) ([]agents.ClosedWindow, error) {
	if idleAfter <= 0 {
		return nil, fmt.Errorf("advancing the wall clock of task %s: idle time must be positive, got %s", ws.task, idleAfter)
	}
	if ws.active || ws.idleSince.IsZero() {
		ws.active, ws.idleSince, ws.anchorST = false, now, ws.st
		return nil, nil
	}
	idle := now.Sub(ws.idleSince)
	if !ws.seen || idle < idleAfter {
		return nil, nil
	}
	target := min(ws.anchorST+idle.Milliseconds(), tables.MaxEventTime)
	if target <= ws.st {
		return nil, nil
	}
	return ws.advance(target), nil
}

// advance moves the stream time to st, closes what is due and expires closed windows.
func (ws *memWindows) advance(st int64) []agents.ClosedWindow {
	ws.st, ws.seen = st, true
	type due struct {
		at  int64
		t   *memWindowTable
		key string
		w   *memWindow
	}
	var closing []due
	for _, t := range ws.tables {
		for k, wins := range t.keys {
			for _, w := range wins {
				if !w.closed && t.closeAt(w.end) <= st {
					closing = append(closing, due{t.closeAt(w.end), t, k, w})
				}
			}
		}
	}
	slices.SortFunc(closing, func(a, b due) int {
		return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.t.name, b.t.name), cmp.Compare(a.key, b.key), cmp.Compare(a.w.start, b.w.start))
	})
	out := make([]agents.ClosedWindow, 0, len(closing))
	for _, c := range closing {
		c.w.closed = true
		out = append(out, agents.ClosedWindow{Table: c.t.name, Key: []byte(c.key), Start: c.w.start, End: c.w.end,
			Value: bytes.Clone(c.w.value), Identity: tables.CloseIdentity(ws.task, c.t.name, []byte(c.key), c.w.start)})
	}
	ws.closed += int64(len(out))
	for _, t := range ws.tables {
		for k, wins := range t.keys {
			kept := slices.DeleteFunc(wins, func(w *memWindow) bool { return w.closed && t.expireAt(w) <= st })
			ws.expired += int64(len(wins) - len(kept))
			if len(kept) == 0 {
				delete(t.keys, k)
			} else {
				t.keys[k] = kept
			}
		}
	}
	return out
}

func (t *memWindowTable) length() int64 {
	if t.spec.Kind == tables.Session {
		return t.spec.Gap.Milliseconds()
	}
	return t.spec.Size.Milliseconds()
}

func (t *memWindowTable) closeAt(end int64) int64 { return end + t.spec.Grace.Milliseconds() }

func (t *memWindowTable) expireAt(w *memWindow) int64 {
	return w.end - t.length() + t.spec.Expires.Milliseconds()
}

// closedAt reports whether a window ending at end is closed at the stream time.
func (t *memWindowTable) closedAt(end int64) bool { return t.closeAt(end) <= t.ws.st }

func (t *memWindowTable) Update(key []byte, ts int64, fn agents.UpdateFunc) ([]agents.WindowValue, bool, error) {
	if fn == nil {
		return nil, false, fmt.Errorf("updating %s: no update function", t.name)
	}
	if err := checkEventTime(ts); err != nil {
		return nil, false, fmt.Errorf("updating %s[%q]: %w", t.name, key, err)
	}
	if !t.ws.seen || ts > t.ws.st {
		return nil, false, fmt.Errorf("updating %s[%q]: event time %d is ahead of the stream time: observe the record first", t.name, key, ts)
	}
	var updated []agents.WindowValue
	var late int
	var err error
	if t.spec.Kind == tables.Session {
		updated, late, err = t.updateSession(string(key), ts, fn)
	} else {
		updated, late, err = t.updateFixed(string(key), ts, fn)
	}
	if err != nil {
		return nil, false, fmt.Errorf("updating %s[%q]: %w", t.name, key, err)
	}
	if late > 0 {
		t.ws.lateWindows += int64(late)
		if len(updated) == 0 {
			t.ws.lateRecords++
		}
	}
	return updated, late > 0, nil
}

func (t *memWindowTable) updateFixed(key string, ts int64, fn agents.UpdateFunc) ([]agents.WindowValue, int, error) {
	wins, err := t.spec.WindowsFor(ts)
	if err != nil {
		return nil, 0, err
	}
	var updated []agents.WindowValue
	late := 0
	for _, win := range wins {
		if t.closedAt(win.End) {
			late++
			continue
		}
		var old []byte
		w := t.find(key, win.Start)
		if w != nil {
			old = w.value
		}
		nv, err := fn(old, w != nil)
		if err != nil {
			return nil, 0, fmt.Errorf("aggregating into window %d: %w", win.Start, err)
		}
		updated = append(updated, agents.WindowValue{Start: win.Start, End: win.End, Value: bytes.Clone(nv)})
	}
	for _, u := range updated {
		t.put(key, u)
	}
	return updated, late, nil
}

func (t *memWindowTable) updateSession(key string, ts int64, fn agents.UpdateFunc) ([]agents.WindowValue, int, error) {
	own := tables.Window{Start: ts, End: ts + t.spec.Gap.Milliseconds()}
	if t.closedAt(own.End) {
		return nil, 1, nil
	}
	var found []*memWindow
	for _, w := range t.keys[key] {
		if w.start < own.End && w.end > own.Start && !t.closedAt(w.end) {
			found = append(found, w)
		}
	}
	merged := own
	var agg []byte
	for i, w := range found {
		merged.Start, merged.End = min(merged.Start, w.start), max(merged.End, w.end)
		if i == 0 {
			agg = bytes.Clone(w.value)
			continue
		}
		var err error
		if agg, err = t.spec.Merge(agg, w.value); err != nil {
			return nil, 0, fmt.Errorf("merging session %d into %d: %w", w.start, found[0].start, err)
		}
	}
	nv, err := fn(agg, len(found) > 0)
	if err != nil {
		return nil, 0, fmt.Errorf("aggregating into session %d: %w", merged.Start, err)
	}
	t.keys[key] = slices.DeleteFunc(t.keys[key], func(w *memWindow) bool { return slices.Contains(found, w) })
	wv := agents.WindowValue{Start: merged.Start, End: merged.End, Value: bytes.Clone(nv)}
	t.put(key, wv)
	return []agents.WindowValue{wv}, 0, nil
}

func (t *memWindowTable) find(key string, start int64) *memWindow {
	for _, w := range t.keys[key] {
		if w.start == start {
			return w
		}
	}
	return nil
}

// put writes a window (replacing one with the same start), keeping the key's windows by start.
func (t *memWindowTable) put(key string, wv agents.WindowValue) {
	if w := t.find(key, wv.Start); w != nil {
		w.end, w.value = wv.End, wv.Value
		return
	}
	wins := append(t.keys[key], &memWindow{start: wv.Start, end: wv.End, value: wv.Value})
	slices.SortFunc(wins, func(a, b *memWindow) int { return cmp.Compare(a.start, b.start) })
	t.keys[key] = wins
}

func (t *memWindowTable) Get(key []byte, start int64) (agents.WindowValue, bool, error) {
	w := t.find(string(key), start)
	if w == nil {
		return agents.WindowValue{}, false, nil
	}
	return agents.WindowValue{Start: w.start, End: w.end, Value: bytes.Clone(w.value)}, true, nil
}

func (t *memWindowTable) Range(key []byte, from, to int64) ([]agents.WindowValue, error) {
	var out []agents.WindowValue
	for _, w := range t.keys[string(key)] {
		if w.start >= from && w.start <= to {
			out = append(out, agents.WindowValue{Start: w.start, End: w.end, Value: bytes.Clone(w.value)})
		}
	}
	return out, nil
}
