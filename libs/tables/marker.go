package tables

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/weirhq/weir/libs/topics"
)

// MarkerVersion is the version of the marker encoding this package writes. Decoding accepts
// this version and older ones and refuses newer ones, so an old worker never misreads a log
// written by a newer one.
const MarkerVersion = 1

// Marker kinds.
const (
	KindCommit    = "commit"    // a commit: table changes and input positions
	KindFence     = "fence"     // the first append of a new active: claims the partition for its epoch
	KindHeartbeat = "heartbeat" // an idle marker: no table changes, makes foreign batches detectable
)

// Marker is the last record of every commit batch, under MarkerKey. It carries the complete
// input positions and dedup marks (not deltas), since compaction keeps only the latest one.
type Marker struct {
	Version     int
	Kind        string
	Epoch       int64
	Incarnation string
	// Seq numbers the appends of one incarnation from 1; it tells a late duplicate of an
	// earlier append (after a produce timeout) from the append that was expected.
	Seq int64
	// Positions is the next input offset per input topic-partition.
	Positions map[topics.TopicPartition]int64
	// Dedup holds the high-water marks of Weir-emitted inputs, by producer identity.
	Dedup map[string]int64
}

type wireMarker struct {
	V           int              `json:"v"`
	Kind        string           `json:"kind"`
	Epoch       int64            `json:"epoch"`
	Incarnation string           `json:"inc"`
	Seq         int64            `json:"seq"`
	Positions   []wirePosition   `json:"pos,omitempty"`
	Dedup       map[string]int64 `json:"dedup,omitempty"`
}

type wirePosition struct {
	Topic     string `json:"t"`
	Partition int32  `json:"p"`
	Offset    int64  `json:"o"`
}

// EncodeMarker encodes m as versioned JSON (positions sorted, so equal markers encode equally).
func EncodeMarker(m Marker) ([]byte, error) {
	switch m.Kind {
	case KindCommit, KindFence, KindHeartbeat:
	default:
		return nil, fmt.Errorf("encoding marker: kind %q is not one of commit, fence, heartbeat", m.Kind)
	}
	w := wireMarker{V: MarkerVersion, Kind: m.Kind, Epoch: m.Epoch, Incarnation: m.Incarnation, Seq: m.Seq, Dedup: m.Dedup}
	for _, tp := range slices.SortedFunc(maps.Keys(m.Positions), compareTP) {
		w.Positions = append(w.Positions, wirePosition{tp.Topic, tp.Partition, m.Positions[tp]})
	}
	b, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("encoding marker: %w", err)
	}
	return b, nil
}

// DecodeMarker decodes a marker written by EncodeMarker of this or an older version.
func DecodeMarker(b []byte) (Marker, error) {
	var w wireMarker
	if err := json.Unmarshal(b, &w); err != nil {
		return Marker{}, fmt.Errorf("decoding marker: %w", err)
	}
	switch {
	case w.V < 1:
		return Marker{}, errors.New("decoding marker: no version")
	case w.V > MarkerVersion:
		return Marker{}, fmt.Errorf("decoding marker: version %d is newer than this Weir understands (%d): upgrade the worker", w.V, MarkerVersion)
	}
	m := Marker{Version: w.V, Kind: w.Kind, Epoch: w.Epoch, Incarnation: w.Incarnation, Seq: w.Seq, Dedup: w.Dedup}
	if len(w.Positions) > 0 {
		m.Positions = make(map[topics.TopicPartition]int64, len(w.Positions))
		for _, p := range w.Positions {
			m.Positions[topics.TopicPartition{Topic: p.Topic, Partition: p.Partition}] = p.Offset
		}
	}
	return m, nil
}

func compareTP(a, b topics.TopicPartition) int {
	if c := cmp.Compare(a.Topic, b.Topic); c != 0 {
		return c
	}
	return cmp.Compare(a.Partition, b.Partition)
}
