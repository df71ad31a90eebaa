package testkit

import (
	"bytes"
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
