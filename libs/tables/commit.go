package tables

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/weirhq/weir/libs/failpoint"
	"github.com/weirhq/weir/libs/topics"
)

// Size estimates for keeping a commit under the topic's max.message.bytes. They bound the
// uncompressed v2 record-batch encoding from above (compression only shrinks it).
const (
	batchOverhead  = 61 // record batch header
	recordOverhead = 32 // length, attributes, deltas, key/value lengths, header count (varints)
	headerOverhead = 4  // key and value length varints of one header
	// maxRepairRounds bounds how often one commit re-reads foreign batches and repairs them.
	maxRepairRounds = 8
)

// Failpoints of the commit protocol (libs/failpoint; armed only by WEIR_FAILPOINTS in tests):
// every append of the task (commit, heartbeat, fence, repair) passes them.
const (
	// FailpointAfterAppend is right after the batch landed in the changelog, before Pebble.
	FailpointAfterAppend = "commit.after-append"
	// FailpointAfterApply is right after the batch was applied to Pebble.
	FailpointAfterApply = "commit.after-apply"
)

// recordSize estimates the encoded size of one changelog record.
func (t *Task) recordSize(key, value []byte) int {
	return recordOverhead + len(key) + len(value) +
		2*headerOverhead + len(HeaderEpoch) + 20 + len(HeaderIncarnation) + len(t.cfg.Incarnation)
}

// markerSize estimates the encoded size of the marker record with the given state.
func (t *Task) markerSize(positions map[topics.TopicPartition]int64, dedup map[string]int64) int {
	n := 128 + len(t.cfg.Incarnation)
	for tp := range positions {
		n += len(tp.Topic) + 50
	}
	for k := range dedup {
		n += len(k) + 30
	}
	return t.recordSize(MarkerKey, nil) + n
}

// PendingBytes estimates the size of the batch the next Commit would append (marker
// included). Commit before it would pass MaxBatchBytes.
func (t *Task) PendingBytes() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return batchOverhead + t.pendBuf + t.markerSize(t.positions, t.dedup)
}

// MaxBatchBytes is the limit of one commit batch (the changelog's max.message.bytes).
func (t *Task) MaxBatchBytes() int { return t.cfg.MaxBatchBytes }

// Commit makes the task's changes since the last commit durable together with the given
// input positions (next offset to read per input partition) and dedup marks, which are
// merged into the committed ones. The caller must have flushed every output record produced
// from the inputs before these positions. Commit appends one record batch to the changelog
// (net changes, then the marker), then applies it to the Store.
//
// With no changes and no new positions or marks, Commit does nothing (see Heartbeat). After
// a failed append the outcome is unknown: the changes stay pending, and the next Commit (or
// Heartbeat) first re-reads the changelog to learn whether the batch landed. Errors wrapping
// ErrTaskFailed are final: the task must be closed and restarted from the changelog.
func (t *Task) Commit(ctx context.Context, positions map[topics.TopicPartition]int64, dedup map[string]int64) error {
	if err := validateProgress(positions, dedup); err != nil {
		return fmt.Errorf("committing task %s: %w", t.tp, err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.usable(); err != nil {
		return err
	}
	pos, dd := maps.Clone(t.positions), maps.Clone(t.dedup)
	maps.Copy(pos, positions)
	maps.Copy(dd, dedup)
	if len(t.pending) == 0 && len(t.repairs) == 0 && t.unknown == nil && maps.Equal(pos, t.positions) && maps.Equal(dd, t.dedup) {
		return nil
	}
	return t.appendLocked(ctx, KindCommit, true, pos, dd)
}

// Heartbeat appends an idle marker (the committed positions, no table changes; pending
// changes stay pending). An active appends one every interval while idle, so that a batch a
// zombie lands is detected (as a gap before the heartbeat) and repaired promptly.
func (t *Task) Heartbeat(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.usable(); err != nil {
		return err
	}
	return t.appendLocked(ctx, KindHeartbeat, false, t.positions, t.dedup)
}

func validateProgress(positions map[topics.TopicPartition]int64, dedup map[string]int64) error {
	var errs []error
	for tp, off := range positions {
		if tp.Topic == "" || tp.Partition < 0 || off < 0 {
			errs = append(errs, fmt.Errorf("bad input position %s=%d", tp, off))
		}
	}
	for k := range dedup {
		if k == "" {
			errs = append(errs, errors.New("dedup mark with an empty identity"))
		}
	}
	return errors.Join(errs...)
}

// appendLocked appends one batch (pending changes when withPending, repairs, marker), checks
// that it landed where expected, applies it to the Store, and repairs any foreign batch found
// in between. Callers hold mu.
func (t *Task) appendLocked(ctx context.Context, kind string, withPending bool,
	positions map[topics.TopicPartition]int64, dedup map[string]int64) error {
	if t.unknown != nil {
		if err := t.resolveUnknown(ctx); err != nil {
			return err
		}
	}
	for round := 0; ; round++ {
		foreign, err := t.appendOnce(ctx, kind, withPending, positions, dedup)
		if err != nil || !foreign {
			return err
		}
		if round == maxRepairRounds {
			return t.fail(fmt.Errorf("foreign batches keep landing in the changelog after %d repairs", round))
		}
		// Repair at once: the keys a foreign batch touched get our values again.
		kind, withPending = KindHeartbeat, false
		positions, dedup = t.positions, t.dedup
	}
}

// appendOnce appends one batch; foreign reports batches found before it that need repair.
func (t *Task) appendOnce(ctx context.Context, kind string, withPending bool,
	positions map[topics.TopicPartition]int64, dedup map[string]int64) (foreign bool, err error) {
	start := time.Now()
	seq := t.seq + 1
	m := Marker{Kind: kind, Epoch: t.cfg.Epoch, Incarnation: t.cfg.Incarnation, Seq: seq, Positions: positions, Dedup: dedup}
	changes, err := t.changes(withPending)
	if err != nil {
		return false, err
	}
	size := batchOverhead + t.markerSize(positions, dedup)
	for _, c := range changes {
		size += t.recordSize(c.key, c.value)
	}
	if size > t.cfg.MaxBatchBytes {
		return false, fmt.Errorf("committing %d changes (about %d bytes) to %s: %w (%d bytes): commit earlier (see PendingBytes)",
			len(changes), size, t.tp, ErrBatchTooLarge, t.cfg.MaxBatchBytes)
	}
	recs, err := encodeBatch(changes, m)
	if err != nil {
		return false, err
	}
	expected := t.end
	base, err := t.kafka.Producer.AppendBatch(ctx, t.tp.Topic, t.tp.Partition, recs)
	t.seq = seq // burnt even when the outcome is unknown: a late landing is then a duplicate
	if err != nil {
		t.unknown = &unknownAppend{expected: expected, seq: seq}
		return false, fmt.Errorf("committing to %s (outcome unknown; it is checked before the next commit): %w", t.tp, err)
	}
	failpoint.Hit(FailpointAfterAppend)
	if base < expected {
		return false, t.fail(fmt.Errorf("append to %s landed at offset %d, before the expected %d: the changelog was truncated or recreated", t.tp, base, expected))
	}
	var gapKeys map[string]struct{}
	repairFrom := int64(-1)
	if base > expected {
		t.log.Warn("foreign batches in the changelog before our append", "expected", expected, "landed", base)
		if gapKeys, err = t.checkGap(ctx, expected, base, -1); err != nil {
			return false, t.fail(err)
		}
		if foreign = len(gapKeys) > 0; foreign {
			repairFrom = expected // until the repair is in the log, recovery must re-read from here
		}
	}
	end := base + int64(len(recs))
	if err := t.applyLocal(withPending, m, end, repairFrom); err != nil {
		return false, t.fail(err)
	}
	failpoint.Hit(FailpointAfterApply)
	repaired := len(changes)
	if withPending {
		repaired -= len(t.pending)
		t.pending, t.pendBuf = map[string][]byte{}, 0
	}
	t.stats.repairedKeys.Add(int64(repaired))
	t.repairs = gapKeys
	t.end = end
	t.positions, t.dedup = positions, dedup
	switch kind {
	case KindCommit:
		t.stats.commits.Add(1)
	case KindHeartbeat:
		t.stats.heartbeats.Add(1)
	}
	t.stats.records.Add(int64(len(recs)))
	t.stats.bytes.Add(int64(size))
	t.stats.latencyNanos.Add(int64(time.Since(start)))
	t.stats.latencyCount.Add(1)
	return foreign, nil
}

// changes lists the batch's changes: pending ones (when withPending) sorted by key, then
// repairs of keys not pending, with their committed values (nil: a tombstone).
func (t *Task) changes(withPending bool) ([]change, error) {
	var out []change
	if withPending {
		for _, k := range slices.Sorted(maps.Keys(t.pending)) {
			out = append(out, change{key: []byte(k), value: t.pending[k]})
		}
	}
	for _, k := range slices.Sorted(maps.Keys(t.repairs)) {
		if _, ok := t.pending[k]; ok && withPending {
			continue
		}
		v, _, err := t.store.get(dataKey(t.prefix, []byte(k)))
		if err != nil {
			return nil, fmt.Errorf("reading committed value for repair: %w", err)
		}
		out = append(out, change{key: []byte(k), value: v})
	}
	return out, nil
}

// applyLocal writes the pending changes (when withPending) and the partition state after an
// append ending at end to the Store, in one batch.
func (t *Task) applyLocal(withPending bool, m Marker, end, repairFrom int64) error {
	b := t.store.db.NewBatch()
	defer b.Close()
	if withPending {
		for k, v := range t.pending {
			key := dataKey(t.prefix, []byte(k))
			var err error
			if v == nil {
				err = b.Delete(key, nil)
			} else {
				err = b.Set(key, v, nil)
			}
			if err != nil {
				return fmt.Errorf("applying commit to the store: %w", err)
			}
		}
	}
	st := PartitionState{Next: end, Epoch: t.cfg.Epoch, Incarnation: t.cfg.Incarnation, Seq: m.Seq,
		RepairFrom: repairFrom, Marker: &m, Updated: time.Now()}
	meta, err := encodeMeta(st)
	if err != nil {
		return err
	}
	if err := b.Set(metaKey(t.tp.Topic, t.tp.Partition), meta, nil); err != nil {
		return fmt.Errorf("applying commit to the store: %w", err)
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("applying commit to the store: %w", err)
	}
	return nil
}

// resolveUnknown learns the outcome of an append that failed: it reads the changelog from
// where that append was expected to the current end. A batch carrying our epoch,
// incarnation and the append's sequence number is ours (it landed; its changes are still
// pending and go out again with the next batch, which is harmless since values are
// absolute); other batches are classified as in checkGap.
func (t *Task) resolveUnknown(ctx context.Context) error {
	u := t.unknown
	offs, err := t.kafka.offsets(ctx, t.tp)
	if err != nil {
		return fmt.Errorf("checking the outcome of an earlier append: %w", err)
	}
	if offs.End < u.expected {
		return t.fail(fmt.Errorf("changelog %s ends at %d, before our last known end %d: truncated or recreated", t.tp, offs.End, u.expected))
	}
	keys, err := t.checkGap(ctx, u.expected, offs.End, u.seq)
	if err != nil {
		if errors.Is(err, ErrFenced) || errors.Is(err, ErrNotWeir) {
			return t.fail(err)
		}
		return fmt.Errorf("checking the outcome of an earlier append: %w", err)
	}
	t.log.Info("resolved an append with unknown outcome", "expected", u.expected, "log_end", offs.End, "keys_to_repair", len(keys))
	if len(keys) > 0 && t.repairs == nil {
		t.repairs = map[string]struct{}{}
	}
	maps.Copy(t.repairs, keys)
	t.unknown = nil
	t.end = offs.End
	return nil
}

// checkGap reads the batches in [from, to) that are not ours (the append with sequence
// ownSeq, if any, is ours) and decides: a batch of a lower epoch (a zombie) or a late
// duplicate of one of our own earlier appends is repaired (its keys join t.repairs); a
// batch of our epoch from another incarnation, or of a newer epoch, means we are fenced. It
// returns the keys to repair.
func (t *Task) checkGap(ctx context.Context, from, to, ownSeq int64) (map[string]struct{}, error) {
	keys := map[string]struct{}{}
	asm := assembler{tp: t.tp, emit: func(b *logBatch) error {
		switch {
		case b.Epoch > t.cfg.Epoch, b.Epoch == t.cfg.Epoch && b.Incarnation != t.cfg.Incarnation:
			return fmt.Errorf("batch at offset %d of %s has epoch %d (incarnation %q), ours is %d (%q): %w",
				b.Base, t.tp, b.Epoch, b.Incarnation, t.cfg.Epoch, t.cfg.Incarnation, ErrFenced)
		case b.Epoch == t.cfg.Epoch && b.Marker != nil && b.Marker.Seq == ownSeq:
			return nil // our own append, landed
		}
		t.log.Warn("repairing a foreign batch", "offset", b.Base, "batch_epoch", b.Epoch, "batch_incarnation", b.Incarnation, "keys", len(b.Changes))
		for _, k := range b.keys() {
			keys[string(k)] = struct{}{}
		}
		t.stats.repairs.Add(1)
		return nil
	}}
	err := readRange(ctx, t.kafka.Consumer, t.tp, from, to, func(r *topics.Record) error { return asm.add(r) })
	if err == nil {
		err = asm.finish()
	}
	if err != nil {
		return nil, fmt.Errorf("reading foreign batches of %s in [%d, %d): %w", t.tp, from, to, err)
	}
	return keys, nil
}
