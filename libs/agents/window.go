package agents

import (
	"fmt"
	"time"
)

// Windows is the event-time clock and the windowed tables of one task. The executor
// (package pipeline) drives it; the worker runtime adapts libs/tables.Windows to it and
// package testkit implements it in memory. Like Tables, it is used by its task's goroutine
// only.
//
// Semantics (libs/tables' own; docs/state.md): event times are int64 milliseconds since the
// Unix epoch. The stream time is the highest event time observed. A window closes when
// end + grace ≤ stream time: Observe (or AdvanceWallClock) returns it once, with its final
// value, and a record for a closed window is late (dropped from it). A closed window stays
// readable until it expires.
type Windows interface {
	// Observe feeds the event time (ms) of the task's next input record, before any of its
	// windowed updates. When it passes the stream time, the stream time advances to it and
	// the windows this closes are returned, ordered by close time, table, key and start.
	Observe(eventTime int64) ([]ClosedWindow, error)
	// AdvanceWallClock closes windows of an idle task by wall clock; the runtime calls it
	// on every tick. Once no record was observed for idleAfter, the stream time advances by
	// the wall-clock time elapsed since the task went idle.
	AdvanceWallClock(now time.Time, idleAfter time.Duration) ([]ClosedWindow, error)
	// Table returns the windowed table called name (the table block's label). Every
	// windowed table of the task's group is registered when the task starts, with the
	// spec libs/tables.SpecFromConfig makes of its window and pipeline.Plan's merge
	// function.
	Table(name string) (WindowTable, error)
}

// WindowTable is one windowed table of a task: one value per (key, window). Keys are
// EncodeKey bytes, values JSON documents as in plain tables.
type WindowTable interface {
	// Update folds a record with event time ts (ms, not ahead of the stream time: Observe
	// it first) under key into each of its windows that is still open: a tumbling window,
	// every hopping window containing ts, or the key's session (open sessions the record
	// bridges are merged first with the table's MergeFunc). fn computes a window's new
	// value from its current one (ok is false for a new window); when fn or a merge fails
	// nothing is written. updated are the windows written, by ascending start; late reports
	// that at least one of the record's windows was already closed (the record was
	// dropped entirely when updated is empty).
	Update(key []byte, ts int64, fn UpdateFunc) (updated []WindowValue, late bool, err error)
	// Get returns the window of key starting at start (ms), pending writes included.
	Get(key []byte, start int64) (WindowValue, bool, error)
	// Range returns the windows of key whose start is in [from, to] (ms), by start.
	Range(key []byte, from, to int64) ([]WindowValue, error)
}

// UpdateFunc computes a window's new value from its current one; it must not keep or
// modify old.
type UpdateFunc func(old []byte, ok bool) ([]byte, error)

// MergeFunc combines the values of two session windows a record joins: a is the earlier
// session's, b the later one's. It must not modify its arguments. It is assignable to
// libs/tables.MergeFunc.
type MergeFunc = func(a, b []byte) ([]byte, error)

// WindowValue is one window of a key: event times in [Start, End) ms, and its value.
type WindowValue struct {
	Start, End int64
	Value      []byte
}

// ClosedWindow is a window's final value, returned once when it closes. The executor emits
// it to the table's on_close topic with Identity as the record's content identity
// (HeaderIdentity), so a close repeated by a replay after a crash is dropped by Weir
// consumers.
type ClosedWindow struct {
	Table      string
	Key        []byte
	Start, End int64 // ms
	Value      []byte
	// Identity is the close's content identity: (task, table, key, window start), as
	// libs/tables.CloseIdentity formats it.
	Identity string
}

// TimerIdentity is the content identity of a timer firing: (task, timer, scheduled time),
// as "timer/<task>/<timer>/<scheduled ms>".
func TimerIdentity(task, timer string, scheduled time.Time) string {
	return fmt.Sprintf("timer/%s/%s/%d", task, timer, scheduled.UnixMilli())
}
