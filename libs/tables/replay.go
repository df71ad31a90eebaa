package tables

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/weirhq/weir/libs/topics"
)

// replayer applies changelog batches to the Store by the recovery rules (docs/state.md):
// whole batches only, in log order; a batch is skipped when its epoch is below the highest
// epoch already seen, or when it repeats an append of the last writer that was already
// applied (a late duplicate after a produce timeout). Skipped batches' keys are collected
// for repair when repairs is non-nil. Changes are staged in one Pebble batch with the
// partition state and written by flush, so Pebble only ever holds whole changelog batches.
type replayer struct {
	store   *Store
	tp      topics.TopicPartition
	prefix  []byte
	state   PartitionState
	log     *slog.Logger
	asm     assembler
	batch   *pebble.Batch
	dirty   bool
	scratch []byte
	// repairs collects the changelog keys of skipped batches (nil: not collected).
	repairs map[string]struct{}
	// appliedUntil is the local state's Next when a recovery re-reads from RepairFrom: the
	// batches before it are already in the Store (applied or skipped when they were first
	// read, with the state of that time), so the re-read only collects their keys for repair
	// and applies nothing — re-applying them over the newer state would roll keys back.
	appliedUntil int64

	appliedRecords, skippedRecords, skippedBatches int64
}

func newReplayer(store *Store, tp topics.TopicPartition, state PartitionState, collectRepairs bool, log *slog.Logger) *replayer {
	r := &replayer{store: store, tp: tp, prefix: partitionPrefix(tp.Topic, tp.Partition), state: state, log: log}
	if collectRepairs {
		r.repairs = map[string]struct{}{}
	}
	r.asm = assembler{tp: tp, emit: r.apply}
	return r
}

// add feeds the next consumed record.
func (r *replayer) add(rec *topics.Record) error { return r.asm.add(rec) }

// skipReason says why a batch must not be applied ("" to apply it).
func (r *replayer) skipReason(b *logBatch) string {
	switch {
	case b.Epoch < r.state.Epoch:
		return fmt.Sprintf("epoch %d is below the highest epoch seen (%d): a zombie's batch", b.Epoch, r.state.Epoch)
	case b.Epoch == r.state.Epoch && b.Incarnation == r.state.Incarnation && b.Marker != nil && b.Marker.Seq <= r.state.Seq:
		return fmt.Sprintf("append %d of incarnation %s repeats one already applied (%d): a late duplicate", b.Marker.Seq, b.Incarnation, r.state.Seq)
	}
	return ""
}

func (r *replayer) apply(b *logBatch) error {
	if b.Last < r.appliedUntil {
		if r.repairs != nil { // repairing a key that needed none only re-appends its value
			for _, c := range b.Changes {
				r.repairs[string(c.key)] = struct{}{}
			}
		}
		return nil
	}
	if reason := r.skipReason(b); reason != "" {
		r.skip(b, reason)
		return nil
	}
	if b.Epoch == r.state.Epoch && r.state.Incarnation != "" && b.Incarnation != r.state.Incarnation {
		r.log.Warn("two incarnations wrote with one epoch; applying in log order",
			"offset", b.Base, "batch_epoch", b.Epoch, "batch_incarnation", b.Incarnation, "previous", r.state.Incarnation)
	}
	if r.batch == nil {
		r.batch = r.store.db.NewBatch()
	}
	for _, c := range b.Changes {
		r.scratch = append(append(r.scratch[:0], r.prefix...), c.key...)
		var err error
		if c.value == nil {
			err = r.batch.Delete(r.scratch, nil)
		} else {
			err = r.batch.Set(r.scratch, c.value, nil)
		}
		if err != nil {
			return fmt.Errorf("applying %s at offset %d: %w", r.tp, b.Base, err)
		}
	}
	r.appliedRecords += int64(len(b.Changes))
	if b.Incarnation != r.state.Incarnation {
		r.state.Seq = 0
	}
	r.state.Epoch, r.state.Incarnation = b.Epoch, b.Incarnation
	if b.Marker != nil {
		r.state.Seq = b.Marker.Seq
		r.state.Marker = b.Marker
	}
	r.state.Next = b.Last + 1
	r.dirty = true
	return nil
}

func (r *replayer) skip(b *logBatch, reason string) {
	r.log.Warn("skipping changelog batch", "offset", b.Base, "records", len(b.Changes),
		"batch_epoch", b.Epoch, "batch_incarnation", b.Incarnation, "reason", reason)
	if r.repairs != nil {
		for _, c := range b.Changes {
			r.repairs[string(c.key)] = struct{}{}
		}
	}
	if len(b.Changes) > 0 && r.state.RepairFrom < 0 {
		r.state.RepairFrom = b.Base // cleared once an active's append repairs it
	}
	r.skippedRecords += int64(len(b.Changes))
	r.skippedBatches++
	r.state.Next = b.Last + 1
	r.dirty = true
}

// finishTrailing handles a batch left open at the end of a bounded read: it has no marker,
// so it is not a whole Weir commit and is skipped (and repaired).
func (r *replayer) finishTrailing() {
	if b := r.asm.cur; b != nil {
		r.asm.cur = nil
		r.skip(b, "trailing batch without a marker")
	}
}

// flush writes the staged batches and the partition state to Pebble in one batch.
func (r *replayer) flush() error {
	if !r.dirty {
		return nil
	}
	if r.batch == nil {
		r.batch = r.store.db.NewBatch()
	}
	defer func() {
		r.batch.Close()
		r.batch = nil
	}()
	r.state.Updated = time.Now()
	meta, err := encodeMeta(r.state)
	if err != nil {
		return err
	}
	if err := r.batch.Set(metaKey(r.tp.Topic, r.tp.Partition), meta, nil); err != nil {
		return fmt.Errorf("applying %s: %w", r.tp, err)
	}
	if err := r.batch.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("applying %s up to offset %d: %w", r.tp, r.state.Next, err)
	}
	r.dirty = false
	return nil
}
