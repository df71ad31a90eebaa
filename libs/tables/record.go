package tables

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/weirhq/weir/libs/topics"
)

// Headers carried by every changelog record Weir writes.
const (
	HeaderEpoch       = "weir-epoch"       // decimal epoch of the writer
	HeaderIncarnation = "weir-incarnation" // incarnation id of the writing process
)

// change is one net table change: a changelog key (`<table>\x00<user key>`) and its new
// value, nil for a delete (a tombstone in the changelog).
type change struct {
	key   []byte
	value []byte
}

// encodeBatch returns the records of one commit batch: the changes (in the given order),
// then the marker, each with the writer's headers.
func encodeBatch(changes []change, m Marker) ([]topics.Record, error) {
	mv, err := EncodeMarker(m)
	if err != nil {
		return nil, err
	}
	headers := []topics.Header{
		{Key: HeaderEpoch, Value: strconv.AppendInt(nil, m.Epoch, 10)},
		{Key: HeaderIncarnation, Value: []byte(m.Incarnation)},
	}
	recs := make([]topics.Record, 0, len(changes)+1)
	for _, c := range changes {
		recs = append(recs, topics.Record{Key: c.key, Value: c.value, Headers: headers})
	}
	return append(recs, topics.Record{Key: MarkerKey, Value: mv, Headers: headers}), nil
}

// logBatch is one record batch read back from a changelog. Marker is nil when the batch has
// none: compaction removed it (a later marker exists) or a foreign writer wrote the batch.
type logBatch struct {
	Base, Last  int64 // offsets of the first and last record read
	Epoch       int64
	Incarnation string
	Changes     []change
	Marker      *Marker

	epochRaw []byte
}

// keys returns the changelog keys the batch touches.
func (b *logBatch) keys() [][]byte {
	out := make([][]byte, len(b.Changes))
	for i, c := range b.Changes {
		out[i] = c.key
	}
	return out
}

// assembler groups consumed changelog records into record batches (by BatchOffset) and hands
// each complete batch to emit. A batch is complete at its marker (always the last record of a
// Weir batch) or when a record of another batch arrives; finish completes a trailing batch.
type assembler struct {
	tp   topics.TopicPartition
	cur  *logBatch
	emit func(*logBatch) error
}

func (a *assembler) add(rec *topics.Record) error {
	if a.cur != nil && rec.BatchOffset != a.cur.Base {
		if err := a.finish(); err != nil {
			return err
		}
	}
	epochRaw, ok := rec.Header(HeaderEpoch)
	if !ok {
		return fmt.Errorf("reading %s at offset %d: no %s header: %w", a.tp, rec.Offset, HeaderEpoch, ErrNotWeir)
	}
	inc, _ := rec.Header(HeaderIncarnation)
	if a.cur == nil {
		epoch, err := strconv.ParseInt(string(epochRaw), 10, 64)
		if err != nil {
			return fmt.Errorf("reading %s at offset %d: bad %s header %q: %w", a.tp, rec.Offset, HeaderEpoch, epochRaw, ErrNotWeir)
		}
		a.cur = &logBatch{Base: rec.BatchOffset, Epoch: epoch, Incarnation: string(inc), epochRaw: epochRaw}
	} else if !bytes.Equal(epochRaw, a.cur.epochRaw) || string(inc) != a.cur.Incarnation {
		return fmt.Errorf("reading %s at offset %d: one record batch holds two writers (%s/%s and %s/%s)",
			a.tp, rec.Offset, a.cur.epochRaw, a.cur.Incarnation, epochRaw, inc)
	}
	a.cur.Last = rec.Offset
	if bytes.Equal(rec.Key, MarkerKey) {
		m, err := DecodeMarker(rec.Value)
		if err != nil {
			return fmt.Errorf("reading %s at offset %d: %w", a.tp, rec.Offset, err)
		}
		a.cur.Marker = &m
		return a.finish()
	}
	if bytes.IndexByte(rec.Key, 0) <= 0 {
		return fmt.Errorf("reading %s at offset %d: key %q has no table prefix: %w", a.tp, rec.Offset, rec.Key, ErrNotWeir)
	}
	a.cur.Changes = append(a.cur.Changes, change{key: rec.Key, value: rec.Value})
	return nil
}

// finish completes the current batch, if any.
func (a *assembler) finish() error {
	b := a.cur
	a.cur = nil
	if b == nil {
		return nil
	}
	return a.emit(b)
}
