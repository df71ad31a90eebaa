package tables

import (
	"encoding/json"
	"fmt"
	"time"
)

const metaVersion = 1

// PartitionState is what the Store knows about one changelog partition: how far it has been
// applied and by which writer. It is written in the same Pebble batch as the table changes
// it describes.
type PartitionState struct {
	// Next is the next changelog offset to read: every batch before it is applied or skipped.
	Next int64
	// Epoch is the highest epoch seen in the partition; Incarnation and Seq identify the
	// last applied batch.
	Epoch       int64
	Incarnation string
	Seq         int64
	// RepairFrom, when ≥ 0, is the offset of a foreign batch that was detected but whose repair
	// is not yet in the log: recovery re-reads from there so the repair is not lost.
	RepairFrom int64
	// Marker is the last applied marker (input positions and dedup marks); nil before any.
	Marker *Marker
	// Updated is when the state was last written: local state older than the changelog's
	// delete.retention.ms may miss tombstones and is rebuilt.
	Updated time.Time
}

type wireMeta struct {
	V           int             `json:"v"`
	Next        int64           `json:"next"`
	Epoch       int64           `json:"epoch"`
	Incarnation string          `json:"inc,omitempty"`
	Seq         int64           `json:"seq"`
	RepairFrom  int64           `json:"repair_from"`
	Marker      json.RawMessage `json:"marker,omitempty"`
	Updated     int64           `json:"updated_ms"`
}

func encodeMeta(s PartitionState) ([]byte, error) {
	w := wireMeta{V: metaVersion, Next: s.Next, Epoch: s.Epoch, Incarnation: s.Incarnation, Seq: s.Seq,
		RepairFrom: s.RepairFrom, Updated: s.Updated.UnixMilli()}
	if s.Marker != nil {
		m, err := EncodeMarker(*s.Marker)
		if err != nil {
			return nil, err
		}
		w.Marker = m
	}
	b, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("encoding partition state: %w", err)
	}
	return b, nil
}

func decodeMeta(b []byte) (PartitionState, error) {
	var w wireMeta
	if err := json.Unmarshal(b, &w); err != nil {
		return PartitionState{}, fmt.Errorf("decoding partition state: %w", err)
	}
	if w.V < 1 || w.V > metaVersion {
		return PartitionState{}, fmt.Errorf("decoding partition state: version %d is not one this Weir understands (%d)", w.V, metaVersion)
	}
	s := PartitionState{Next: w.Next, Epoch: w.Epoch, Incarnation: w.Incarnation, Seq: w.Seq, RepairFrom: w.RepairFrom,
		Updated: time.UnixMilli(w.Updated)}
	if len(w.Marker) > 0 {
		m, err := DecodeMarker(w.Marker)
		if err != nil {
			return PartitionState{}, fmt.Errorf("decoding partition state: %w", err)
		}
		s.Marker = &m
	}
	return s, nil
}

// emptyState is the state of a partition never applied locally.
func emptyState() PartitionState { return PartitionState{RepairFrom: -1} }
