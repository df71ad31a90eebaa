package pipeline

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/weirhq/weir/libs/agents"
)

// tx holds one attempt's table writes and emitted records until the attempt succeeds.
// Reads see the attempt's own writes.
type tx struct {
	base     agents.Tables
	known    map[string]bool // the app's tables
	windowed map[string]bool // the app's windowed tables, reached through agents.Windows only
	tables   []*txTable      // the tables the attempt opened, in opening order
	out      []agents.Message
	// Room for the usual single table, allocated with the tx.
	first    txTable
	tableBuf [1]*txTable
}

func newTx(base agents.Tables, known, windowed map[string]bool) *tx {
	return &tx{base: base, known: known, windowed: windowed}
}

// Table returns the overlay of the table called name.
func (x *tx) Table(name string) (agents.Table, error) { return x.table(name) }

func (x *tx) table(name string) (*txTable, error) {
	for _, t := range x.tables {
		if t.name == name {
			return t, nil
		}
	}
	if !x.known[name] {
		return nil, fmt.Errorf("opening table %q: the app has no such table", name)
	}
	if x.windowed[name] {
		return nil, fmt.Errorf("opening table %q: it is windowed: only aggregate and lookup steps reach it", name)
	}
	if x.base == nil {
		return nil, fmt.Errorf("opening table %q: the task has no tables", name)
	}
	b, err := x.base.Table(name)
	if err != nil {
		return nil, fmt.Errorf("opening table %q: %w", name, err)
	}
	t := &txTable{name: name, base: b}
	if len(x.tables) == 0 {
		x.first = txTable{name: name, base: b}
		t = &x.first
		x.tables = x.tableBuf[:0]
	}
	x.tables = append(x.tables, t)
	return t, nil
}

// commit applies the writes, tables in name order and keys in write order, then emits.
func (x *tx) commit(em agents.Emitter) error {
	if len(x.tables) > 1 {
		slices.SortFunc(x.tables, func(a, b *txTable) int { return strings.Compare(a.name, b.name) })
	}
	for _, t := range x.tables {
		for _, w := range t.writes {
			var err error
			if w.del {
				err = t.base.Delete([]byte(w.key))
			} else {
				err = t.base.Set([]byte(w.key), w.val)
			}
			if err != nil {
				return fmt.Errorf("writing table %q: %w", t.name, err)
			}
		}
	}
	for _, m := range x.out {
		if err := em.Emit(m); err != nil {
			return fmt.Errorf("emitting to %s: %w", m.Topic, err)
		}
	}
	return nil
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// txTable is a table with one attempt's writes on top, in write order (one per key). Few
// keys are written per attempt, so a write is found by a scan until there are many.
type txTable struct {
	name     string
	base     agents.Table
	writes   []txWrite
	index    map[string]int // key → position in writes, once there are more than txScanMax
	writeBuf [1]txWrite     // room for the usual single write
}

type txWrite struct {
	key string
	val []byte
	del bool
}

const txScanMax = 8

// find returns the position of key's write, or -1.
func (t *txTable) find(key []byte) int {
	if t.index != nil {
		if i, ok := t.index[string(key)]; ok {
			return i
		}
		return -1
	}
	for i := range t.writes {
		if t.writes[i].key == string(key) {
			return i
		}
	}
	return -1
}

func (t *txTable) Get(key []byte) ([]byte, bool, error) {
	if i := t.find(key); i >= 0 {
		if w := t.writes[i]; !w.del {
			return w.val, true, nil
		}
		return nil, false, nil
	}
	return t.base.Get(key)
}

func (t *txTable) put(key []byte, v []byte, del bool) {
	if i := t.find(key); i >= 0 {
		t.writes[i].val, t.writes[i].del = v, del
		return
	}
	if t.writes == nil {
		t.writes = t.writeBuf[:0]
	}
	t.writes = append(t.writes, txWrite{key: string(key), val: v, del: del})
	switch n := len(t.writes); {
	case t.index != nil:
		t.index[t.writes[n-1].key] = n - 1
	case n > txScanMax:
		t.index = make(map[string]int, 2*n)
		for i, w := range t.writes {
			t.index[w.key] = i
		}
	}
}

func (t *txTable) Set(key, value []byte) error {
	t.put(key, bytes.Clone(value), false)
	return nil
}

func (t *txTable) Delete(key []byte) error {
	t.put(key, nil, true)
	return nil
}

func (t *txTable) Scan(prefix []byte, fn func(key, value []byte) error) error {
	entries := map[string][]byte{}
	if err := t.base.Scan(prefix, func(k, v []byte) error {
		entries[string(k)] = bytes.Clone(v)
		return nil
	}); err != nil {
		return err
	}
	for _, w := range t.writes {
		if !strings.HasPrefix(w.key, string(prefix)) {
			continue
		}
		if w.del {
			delete(entries, w.key)
		} else {
			entries[w.key] = w.val
		}
	}
	for _, k := range slices.Sorted(mapKeys(entries)) {
		if err := fn([]byte(k), entries[k]); err != nil {
			return err
		}
	}
	return nil
}
