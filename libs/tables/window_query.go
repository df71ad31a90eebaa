package tables

import (
	"bytes"
	"errors"
	"fmt"
)

// WindowRange reads the committed windows of key in a windowed table whose start is in
// [from, to], by start: for queries from outside the task (what the changelog holds, not a
// task's pending writes).
func (s *Store) WindowRange(topic string, partition int32, table string, key []byte, from, to int64) ([]WindowValue, error) {
	var out []WindowValue
	var derr error
	err := s.Scan(topic, partition, table, WindowKeyPrefix(key), func(k, v []byte) bool {
		wv, err := decodeWindow(k, v)
		if err != nil {
			derr = err
			return false
		}
		if wv.Start > to {
			return false
		}
		if wv.Start >= from {
			wv.Value = bytes.Clone(wv.Value)
			out = append(out, wv)
		}
		return true
	})
	if err = errors.Join(err, derr); err != nil {
		return nil, fmt.Errorf("reading windows of %s[%q]: %w", table, truncate(key), err)
	}
	return out, nil
}

// StreamTime reads the committed stream time of a task's windowed tables; ok is false
// before the task saw a record.
func (s *Store) StreamTime(topic string, partition int32) (ms int64, ok bool, err error) {
	v, ok, err := s.Get(topic, partition, WindowsTable, []byte(streamTimeKey))
	if err != nil || !ok {
		return 0, false, err
	}
	ms, err = decodeStreamTime(v)
	if err != nil {
		return 0, false, fmt.Errorf("reading the stream time of %s/%d: %w", topic, partition, err)
	}
	return ms, true, nil
}
