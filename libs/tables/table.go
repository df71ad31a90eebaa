package tables

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Table is one named table of a task. Reads see the task's uncommitted writes layered over
// the committed state in the Store. A Table is used from the task's goroutine, like the Task.
type Table struct {
	t    *Task
	name string
	base []byte // `<name>\x00`: the changelog-key prefix of the table
}

// Table returns the named table (names: 1 to MaxTableName of [a-zA-Z0-9._-]).
func (t *Task) Table(name string) (Table, error) {
	if err := ValidTableName(name); err != nil {
		return Table{}, fmt.Errorf("opening table of task %s: %w", t.tp, err)
	}
	return Table{t: t, name: name, base: changelogKey(name, nil)}, nil
}

// Name is the table's name.
func (tb Table) Name() string { return tb.name }

func (tb Table) check() error {
	if tb.t == nil {
		return fmt.Errorf("table %q: not obtained from Task.Table", tb.name)
	}
	return tb.t.usable()
}

// Get returns the value of key (the task's own pending write if any, else the committed
// value) and whether it exists. The returned slice must not be modified.
func (tb Table) Get(key []byte) ([]byte, bool, error) {
	t := tb.t
	if t == nil {
		return nil, false, tb.check()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := tb.check(); err != nil {
		return nil, false, err
	}
	return tb.getLocked(key)
}

func (tb Table) getLocked(key []byte) ([]byte, bool, error) {
	ck := changelogKey(tb.name, key)
	if v, ok := tb.t.pending[string(ck)]; ok {
		return v, v != nil, nil
	}
	v, ok, err := tb.t.store.get(dataKey(tb.t.prefix, ck))
	if err != nil {
		return nil, false, fmt.Errorf("reading %s[%q]: %w", tb.name, key, err)
	}
	return v, ok, nil
}

// Set writes value under key (a nil value is stored as empty; use Delete to remove a key).
// A record too large for one changelog batch is ErrValueTooLarge, and nothing is written.
func (tb Table) Set(key, value []byte) error {
	t := tb.t
	if t == nil {
		return tb.check()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := tb.check(); err != nil {
		return err
	}
	if value == nil {
		value = []byte{}
	}
	return tb.putLocked(key, bytes.Clone(value))
}

// Delete removes key (a tombstone in the changelog at the next commit).
func (tb Table) Delete(key []byte) error {
	t := tb.t
	if t == nil {
		return tb.check()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := tb.check(); err != nil {
		return err
	}
	return tb.putLocked(key, nil)
}

// Increment adds delta to the int64 stored under key (absent counts as 0; the value must be
// Int64Codec-encoded) and returns the new value.
func (tb Table) Increment(key []byte, delta int64) (int64, error) {
	t := tb.t
	if t == nil {
		return 0, tb.check()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := tb.check(); err != nil {
		return 0, err
	}
	v, ok, err := tb.getLocked(key)
	if err != nil {
		return 0, err
	}
	var n int64
	if ok {
		if n, err = DecodeInt64(v); err != nil {
			return 0, fmt.Errorf("incrementing %s[%q]: %w", tb.name, key, err)
		}
	}
	n += delta
	return n, tb.putLocked(key, EncodeInt64(n))
}

// putLocked records a pending change (value nil: delete).
func (tb Table) putLocked(key, value []byte) error {
	t := tb.t
	ck := changelogKey(tb.name, key)
	size := t.recordSize(ck, value)
	if limit := t.cfg.MaxBatchBytes - batchOverhead - t.markerSize(t.positions, t.dedup); size > limit {
		return fmt.Errorf("setting %s[%q]: a %d-byte value makes a %d-byte changelog record, over the %d bytes one batch can hold: %w",
			tb.name, truncate(key), len(value), size, limit, ErrValueTooLarge)
	}
	if old, ok := t.pending[string(ck)]; ok {
		t.pendBuf -= t.recordSize(ck, old)
	}
	t.pending[string(ck)] = value
	t.pendBuf += size
	return nil
}

// Scan calls fn for every key of the table that starts with prefix, in key order, with the
// task's pending writes merged in, until fn returns false. key and value are valid only
// during the call; fn must not use the task.
func (tb Table) Scan(prefix []byte, fn func(key, value []byte) bool) error {
	t := tb.t
	if t == nil {
		return tb.check()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := tb.check(); err != nil {
		return err
	}
	// Pending changes under the prefix, sorted.
	want := string(changelogKey(tb.name, prefix))
	var pend []string
	for k := range maps.Keys(t.pending) {
		if strings.HasPrefix(k, want) {
			pend = append(pend, k)
		}
	}
	slices.Sort(pend)
	cut := len(tb.base)
	stopped := false
	// emitPending yields pending keys below limit (all when limit is nil).
	emitPending := func(limit []byte) {
		for len(pend) > 0 && !stopped && (limit == nil || cmp.Compare(pend[0], string(limit)) < 0) {
			k := pend[0]
			pend = pend[1:]
			if v := t.pending[k]; v != nil && !fn([]byte(k[cut:]), v) {
				stopped = true
			}
		}
	}
	err := t.store.scan(t.prefix, []byte(want), func(ck, v []byte) bool {
		emitPending(ck)
		if stopped {
			return false
		}
		if len(pend) > 0 && pend[0] == string(ck) {
			return true // shadowed by a pending change, emitted with the pending ones
		}
		if !fn(ck[cut:], v) {
			stopped = true
		}
		return !stopped
	})
	if err != nil {
		return fmt.Errorf("scanning %s: %w", tb.name, err)
	}
	emitPending(nil)
	return nil
}

func truncate(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}
