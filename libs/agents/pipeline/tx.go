package pipeline

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/weirhq/weir/libs/agents"
)

// tx holds one attempt's table writes and emitted records until the attempt succeeds.
// Reads see the attempt's own writes.
type tx struct {
	base     agents.Tables
	known    map[string]bool // the app's tables
	windowed map[string]bool // the app's windowed tables, reached through agents.Windows only
	tables   map[string]*txTable
	out      []agents.Message
}

func newTx(base agents.Tables, known, windowed map[string]bool) *tx {
	return &tx{base: base, known: known, windowed: windowed, tables: map[string]*txTable{}}
}

// Table returns the overlay of the table called name.
func (x *tx) Table(name string) (agents.Table, error) { return x.table(name) }

func (x *tx) table(name string) (*txTable, error) {
	if t := x.tables[name]; t != nil {
		return t, nil
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
	t := &txTable{base: b, writes: map[string]*[]byte{}}
	x.tables[name] = t
	return t, nil
}

// commit applies the writes, tables in name order and keys in write order, then emits.
func (x *tx) commit(em agents.Emitter) error {
	for _, name := range slices.Sorted(mapKeys(x.tables)) {
		t := x.tables[name]
		for _, k := range t.order {
			var err error
			if v := t.writes[k]; v == nil {
				err = t.base.Delete([]byte(k))
			} else {
				err = t.base.Set([]byte(k), *v)
			}
			if err != nil {
				return fmt.Errorf("writing table %q: %w", name, err)
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

// txTable is a table with one attempt's writes on top: a nil entry is a delete.
type txTable struct {
	base   agents.Table
	writes map[string]*[]byte
	order  []string
}

func (t *txTable) Get(key []byte) ([]byte, bool, error) {
	if v, ok := t.writes[string(key)]; ok {
		if v == nil {
			return nil, false, nil
		}
		return *v, true, nil
	}
	return t.base.Get(key)
}

func (t *txTable) put(key []byte, v *[]byte) {
	k := string(key)
	if _, ok := t.writes[k]; !ok {
		t.order = append(t.order, k)
	}
	t.writes[k] = v
}

func (t *txTable) Set(key, value []byte) error {
	v := bytes.Clone(value)
	t.put(key, &v)
	return nil
}

func (t *txTable) Delete(key []byte) error {
	t.put(key, nil)
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
	for k, v := range t.writes {
		if !bytes.HasPrefix([]byte(k), prefix) {
			continue
		}
		if v == nil {
			delete(entries, k)
		} else {
			entries[k] = *v
		}
	}
	for _, k := range slices.Sorted(mapKeys(entries)) {
		if err := fn([]byte(k), entries[k]); err != nil {
			return err
		}
	}
	return nil
}
