package tables

import (
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"
)

// Windows keeps the event-time clock of one task's windowed tables: the stream time (the
// highest event time observed), which closes windows (their final values are returned once,
// as ClosedWindow) and expires them (deleted, tombstoned at the next commit). The stream
// time and the close and expiry indexes live in the reserved table WindowsTable, so they
// commit atomically with the windows and survive recovery.
//
// Like the Task, Windows and its WindowedTables are driven by the task's goroutine; Metrics
// may be called from any goroutine. Per input record the runtime calls Observe(record time)
// first (emitting what it returns to the tables' on_close topics), then Update on the
// windowed tables the record aggregates into. While a partition is idle it calls
// AdvanceWallClock every tick.
type Windows struct {
	task   *Task
	meta   Table
	tables map[string]*WindowedTable

	st int64 // stream time; noStreamTime before the first record
	// nextClose and nextExpire are lower bounds of the earliest close-at and expire-at in
	// the indexes (math.MaxInt64: none; noStreamTime: unknown, scan).
	nextClose, nextExpire int64

	// Idle tracking for AdvanceWallClock: activity since the last tick, when idleness began
	// and the stream time then.
	active    bool
	idleSince time.Time
	anchorST  int64

	stats windowCounters
}

// WindowMetrics are cumulative counters of a task's windowed tables.
type WindowMetrics struct {
	LateRecords       int64 // records dropped because every window they fall into was closed
	LateWindows       int64 // (record, window) updates dropped because the window was closed
	ClosedWindows     int64 // windows closed (final values returned)
	ExpiredWindows    int64 // windows deleted by expiry
	SessionMerges     int64 // session windows merged into another
	WallClockAdvances int64 // stream time advances made by AdvanceWallClock
}

type windowCounters struct {
	late, lateWindows, closed, expired, merges, wall atomic.Int64
}

// OpenWindows loads the task's stream time (the task must be started).
func OpenWindows(task *Task) (*Windows, error) {
	if task == nil {
		return nil, errors.New("opening windows: no task")
	}
	meta, err := task.Table(WindowsTable)
	if err != nil {
		return nil, fmt.Errorf("opening windows: %w", err)
	}
	ws := &Windows{task: task, meta: meta, tables: map[string]*WindowedTable{},
		st: noStreamTime, nextClose: noStreamTime, nextExpire: noStreamTime}
	v, ok, err := meta.Get([]byte(streamTimeKey))
	if err != nil {
		return nil, fmt.Errorf("opening windows of task %s: %w", task.tp, err)
	}
	if ok {
		if ws.st, err = decodeStreamTime(v); err != nil {
			return nil, fmt.Errorf("opening windows of task %s: %w", task.tp, err)
		}
	}
	ws.anchorST = ws.st
	return ws, nil
}

// Table returns the windowed table name with the given windows (validated; see
// WindowSpec.Validate). A table's spec must stay the same for the life of its data. The
// table must not be written through Task.Table.
func (ws *Windows) Table(name string, spec WindowSpec) (*WindowedTable, error) {
	if name == WindowsTable {
		return nil, fmt.Errorf("opening windowed table: %q is reserved", name)
	}
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("opening windowed table %q: %w", name, err)
	}
	if w, ok := ws.tables[name]; ok {
		if w.spec.Kind != spec.Kind || w.spec.Size != spec.Size || w.spec.Step != spec.Step || w.spec.Gap != spec.Gap ||
			w.spec.Grace != spec.Grace || w.spec.Expires != spec.Expires {
			return nil, fmt.Errorf("opening windowed table %q: already open with another window spec", name)
		}
		return w, nil
	}
	tb, err := ws.task.Table(name)
	if err != nil {
		return nil, fmt.Errorf("opening windowed table: %w", err)
	}
	w := &WindowedTable{ws: ws, name: name, spec: spec, tb: tb}
	ws.tables[name] = w
	return w, nil
}

// StreamTime is the task's stream time in ms; ok is false before the first record.
func (ws *Windows) StreamTime() (ms int64, ok bool) { return ws.st, ws.st != noStreamTime }

// Metrics returns the counters.
func (ws *Windows) Metrics() WindowMetrics {
	s := &ws.stats
	return WindowMetrics{LateRecords: s.late.Load(), LateWindows: s.lateWindows.Load(), ClosedWindows: s.closed.Load(),
		ExpiredWindows: s.expired.Load(), SessionMerges: s.merges.Load(), WallClockAdvances: s.wall.Load()}
}

// Observe feeds the event time (ms) of the next input record. When it passes the stream
// time, the stream time advances to it, and the windows that closes are returned (ordered
// by close time, table, key and start) and removed from the close index; windows whose
// expiry passed are deleted. Call it before updating windowed tables for the record.
func (ws *Windows) Observe(ts int64) ([]ClosedWindow, error) {
	if err := checkEventTime(ts); err != nil {
		return nil, fmt.Errorf("observing a record of task %s: %w", ws.task.tp, err)
	}
	ws.active = true
	if ts <= ws.st {
		return nil, nil
	}
	return ws.advance(ts)
}

// AdvanceWallClock closes windows of an idle partition by wall clock. The runtime calls it
// on every tick (e.g. each second) with the current time. Once no record was observed for
// idleAfter, the stream time advances with the wall-clock time elapsed since the partition
// went idle (as if event time kept flowing), so windows close about when they would have
// with steady traffic; a backlog being reprocessed is never jumped to "now". Idleness is
// sampled at tick granularity. The advance is persisted like any other, but it is not
// deterministic on replay (see docs/state.md).
func (ws *Windows) AdvanceWallClock(now time.Time, idleAfter time.Duration) ([]ClosedWindow, error) {
	if idleAfter <= 0 {
		return nil, fmt.Errorf("advancing the wall clock of task %s: idle time must be positive, got %s", ws.task.tp, idleAfter)
	}
	if ws.active || ws.idleSince.IsZero() {
		ws.active, ws.idleSince, ws.anchorST = false, now, ws.st
		return nil, nil
	}
	idle := now.Sub(ws.idleSince)
	if ws.st == noStreamTime || idle < idleAfter {
		return nil, nil
	}
	target := min(ws.anchorST+idle.Milliseconds(), MaxEventTime)
	if target <= ws.st {
		return nil, nil
	}
	ws.stats.wall.Add(1)
	return ws.advance(target)
}

// advance moves the stream time to st, then closes and expires what is due.
func (ws *Windows) advance(st int64) ([]ClosedWindow, error) {
	ws.st = st
	if err := ws.meta.Set([]byte(streamTimeKey), encodeStreamTime(st)); err != nil {
		return nil, fmt.Errorf("advancing the stream time of task %s: %w", ws.task.tp, err)
	}
	closed, err := ws.closeDue()
	if err != nil {
		return closed, err
	}
	return closed, ws.expireDue()
}

// noteClose records a new close-index entry.
func (ws *Windows) noteClose(at int64) {
	if ws.nextClose != noStreamTime {
		ws.nextClose = min(ws.nextClose, at)
	}
}

// due lists the index entries of one kind (c or x) with time ≤ the stream time, in order,
// and returns the time of the first entry after them (math.MaxInt64 when none).
func (ws *Windows) due(kind byte) (entries []indexEntry, next int64, err error) {
	next = math.MaxInt64
	var perr error
	err = ws.meta.Scan([]byte{kind}, func(k, v []byte) bool {
		at, table, wk, err := parseIndexKey(k)
		if err != nil {
			perr = err
			return false
		}
		if at > ws.st {
			next = at
			return false
		}
		entries = append(entries, indexEntry{key: string(k), at: at, table: table, wk: string(wk), value: string(v)})
		return true
	})
	if err = errors.Join(err, perr); err != nil {
		return nil, 0, fmt.Errorf("reading the window index of task %s: %w", ws.task.tp, err)
	}
	return entries, next, nil
}

type indexEntry struct {
	key       string
	at        int64
	table, wk string
	value     string
}

// closeDue closes every open window whose close-at the stream time reached.
func (ws *Windows) closeDue() ([]ClosedWindow, error) {
	if ws.nextClose != noStreamTime && ws.nextClose > ws.st {
		return nil, nil
	}
	entries, next, err := ws.due(closeIndexByte)
	if err != nil {
		return nil, err
	}
	out := make([]ClosedWindow, 0, len(entries))
	for _, e := range entries {
		cw, err := ws.closeOne(e)
		if err != nil {
			return out, fmt.Errorf("closing windows of task %s: %w", ws.task.tp, err)
		}
		out = append(out, cw)
	}
	ws.nextClose = next
	ws.stats.closed.Add(int64(len(out)))
	return out, nil
}

// closeOne reads a window's final value and moves its index entry from close to expiry.
func (ws *Windows) closeOne(e indexEntry) (ClosedWindow, error) {
	expireAt, err := decodeTime([]byte(e.value))
	if err != nil {
		return ClosedWindow{}, fmt.Errorf("close index entry of %s: %w", e.table, err)
	}
	key, start, err := DecodeWindowKey([]byte(e.wk))
	if err != nil {
		return ClosedWindow{}, fmt.Errorf("close index entry of %s: %w", e.table, err)
	}
	tb, err := ws.task.Table(e.table)
	if err != nil {
		return ClosedWindow{}, err
	}
	v, ok, err := tb.Get([]byte(e.wk))
	if err != nil {
		return ClosedWindow{}, err
	}
	if !ok {
		return ClosedWindow{}, fmt.Errorf("the close index names window %d of %s[%q], which does not exist", start, e.table, truncate(key))
	}
	end, agg, err := DecodeWindowValue(v)
	if err != nil {
		return ClosedWindow{}, fmt.Errorf("window %d of %s[%q]: %w", start, e.table, truncate(key), err)
	}
	if err := ws.meta.Delete([]byte(e.key)); err != nil {
		return ClosedWindow{}, err
	}
	if err := ws.meta.Set(indexKey(expiryIndexByte, expireAt, e.table, []byte(e.wk)), nil); err != nil {
		return ClosedWindow{}, err
	}
	if ws.nextExpire != noStreamTime {
		ws.nextExpire = min(ws.nextExpire, expireAt)
	}
	return ClosedWindow{Task: ws.task.tp.String(), Table: e.table, Key: key, Start: start, End: end,
		Value: append([]byte(nil), agg...)}, nil
}

// expireDue deletes every closed window whose expire-at the stream time reached.
func (ws *Windows) expireDue() error {
	if ws.nextExpire != noStreamTime && ws.nextExpire > ws.st {
		return nil
	}
	entries, next, err := ws.due(expiryIndexByte)
	if err != nil {
		return err
	}
	for _, e := range entries {
		tb, err := ws.task.Table(e.table)
		if err == nil {
			err = errors.Join(tb.Delete([]byte(e.wk)), ws.meta.Delete([]byte(e.key)))
		}
		if err != nil {
			return fmt.Errorf("expiring windows of task %s: %w", ws.task.tp, err)
		}
	}
	ws.nextExpire = next
	ws.stats.expired.Add(int64(len(entries)))
	return nil
}
