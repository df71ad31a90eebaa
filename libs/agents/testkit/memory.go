package testkit

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/weirhq/weir/libs/agents"
)

// memTable is an in-memory table.
type memTable struct {
	entries map[string][]byte
}

func newMemTable() *memTable { return &memTable{entries: map[string][]byte{}} }

func (t *memTable) Get(key []byte) ([]byte, bool, error) {
	v, ok := t.entries[string(key)]
	return v, ok, nil
}

func (t *memTable) Set(key, value []byte) error {
	t.entries[string(key)] = bytes.Clone(value)
	return nil
}

func (t *memTable) Delete(key []byte) error {
	delete(t.entries, string(key))
	return nil
}

func (t *memTable) Scan(prefix []byte, fn func(key, value []byte) error) error {
	var keys []string
	for k := range t.entries {
		if strings.HasPrefix(k, string(prefix)) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := fn([]byte(k), t.entries[k]); err != nil {
			return err
		}
	}
	return nil
}

// partitionTables are one task's tables: its partition of each partitioned table, and
// the shared global tables.
type partitionTables struct {
	d         *Driver
	partition int32
}

func (p partitionTables) Table(name string) (agents.Table, error) {
	return p.d.table(name, p.partition), nil
}

// globalTables are the tables a timer reaches: the global ones only.
type globalTables struct{ d *Driver }

func (g globalTables) Table(name string) (agents.Table, error) {
	if t := g.d.plan.App().Table(name); t == nil || !t.Global {
		return nil, fmt.Errorf("opening table %q: a timer reaches global tables only", name)
	}
	return g.d.table(name, -1), nil
}
