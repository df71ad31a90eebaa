package tables

import (
	"bytes"
	"context"
	"testing"

	"github.com/weirhq/weir/libs/topics"
)

// logWriter builds a synthetic changelog partition.
type logWriter struct{ recs []topics.Record }

func (w *logWriter) batch(t *testing.T, epoch int64, inc string, seq int64, marker bool, kv ...string) {
	t.Helper()
	var changes []change
	for i := 0; i < len(kv); i += 2 {
		c := change{key: changelogKey("t", []byte(kv[i]))}
		if kv[i+1] != "<del>" {
			c.value = []byte(kv[i+1])
		}
		changes = append(changes, c)
	}
	recs, err := encodeBatch(changes, Marker{Kind: KindCommit, Epoch: epoch, Incarnation: inc, Seq: seq,
		Positions: map[topics.TopicPartition]int64{{Topic: "in"}: seq * 10}})
	must(t, err)
	if !marker {
		recs = recs[:len(recs)-1]
	}
	base := int64(len(w.recs))
	for i := range recs {
		recs[i].Offset, recs[i].BatchOffset = base+int64(i), base
	}
	w.recs = append(w.recs, recs...)
}

func replay(t *testing.T, s *Store, recs []topics.Record) *replayer {
	t.Helper()
	rp := newReplayer(s, topics.TopicPartition{Topic: "c"}, emptyState(), true, quiet)
	for i := range recs {
		must(t, rp.add(&recs[i]))
	}
	rp.finishTrailing()
	must(t, rp.flush())
	return rp
}

func TestReplayRules(t *testing.T) {
	var w logWriter
	w.batch(t, 1, "a", 1, true, "x", "1", "y", "1")
	w.batch(t, 2, "b", 1, true) // fence of epoch 2
	w.batch(t, 1, "a", 2, true, "x", "zombie", "z", "zombie")
	w.batch(t, 2, "b", 2, true, "y", "2", "x", "<del>")
	w.batch(t, 2, "b", 2, true, "y", "dup") // a late duplicate of append 2
	w.batch(t, 2, "b", 3, true, "w", "3")
	w.batch(t, 2, "b", 4, false, "w", "trailing") // no marker: not a whole commit

	s := openStore(t)
	rp := replay(t, s, w.recs)
	get := func(k string) string {
		v, ok, err := s.Get("c", 0, "t", []byte(k))
		must(t, err)
		if !ok {
			return "<none>"
		}
		return string(v)
	}
	for k, want := range map[string]string{"x": "<none>", "y": "2", "z": "<none>", "w": "3"} {
		if got := get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	st, ok, err := s.State("c", 0)
	must(t, err)
	if !ok || st.Next != int64(len(w.recs)) || st.Epoch != 2 || st.Incarnation != "b" || st.Seq != 3 ||
		st.Marker.Positions[topics.TopicPartition{Topic: "in"}] != 30 {
		t.Fatalf("state = %+v", st)
	}
	if rp.skippedBatches != 3 {
		t.Errorf("skipped %d batches, want 3 (zombie, duplicate, trailing)", rp.skippedBatches)
	}
	for _, k := range []string{"x", "z", "y", "w"} {
		if _, ok := rp.repairs[string(changelogKey("t", []byte(k)))]; !ok {
			t.Errorf("key %s not marked for repair", k)
		}
	}
	if st.RepairFrom != 4 { // the zombie batch: x, z, marker after 3 + 1 records
		t.Errorf("repair from = %d, want 4", st.RepairFrom)
	}
}

// TestReplayCompacted: compaction removes older markers (a later marker exists) and
// superseded values; what is left still restores the same state.
func TestReplayCompacted(t *testing.T) {
	var w logWriter
	w.batch(t, 1, "a", 1, true, "x", "1", "y", "1")
	w.batch(t, 1, "a", 2, true, "x", "2")
	w.batch(t, 1, "a", 3, true, "y", "<del>")
	latest := map[string]int{}
	for i, r := range w.recs {
		latest[string(r.Key)] = i
	}
	var compacted []topics.Record
	for i, r := range w.recs {
		if latest[string(r.Key)] == i {
			compacted = append(compacted, r)
		}
	}
	s := openStore(t)
	replay(t, s, compacted)
	if v, ok, _ := s.Get("c", 0, "t", []byte("x")); !ok || string(v) != "2" {
		t.Fatalf("x = %q %v", v, ok)
	}
	if _, ok, _ := s.Get("c", 0, "t", []byte("y")); ok {
		t.Fatal("y should be deleted")
	}
	st, _, _ := s.State("c", 0)
	if st.Seq != 3 || st.Next != int64(len(w.recs)) {
		t.Fatalf("state = %+v", st)
	}
}

// compactBelow returns recs as Kafka's log cleaner leaves them once it has cleaned the
// offsets below `upTo`: there, only the last record of each key survives (the marker key
// included, so every marker but the last one is gone); records from upTo on are untouched.
// Offsets and batch offsets are kept.
func compactBelow(recs []topics.Record, upTo int64) []topics.Record {
	last := map[string]int64{}
	for _, r := range recs {
		if r.Offset < upTo {
			last[string(r.Key)] = r.Offset
		}
	}
	var out []topics.Record
	for _, r := range recs {
		if r.Offset >= upTo || last[string(r.Key)] == r.Offset {
			out = append(out, r)
		}
	}
	return out
}

// TestRestoreFromRepairFromKeepsNewerState reproduces the rollback fixed in 297429d. A
// warm-up follows the changelog, skips a zombie's batch (RepairFrom points at it) and applies
// the newer batches after it. It is promoted: its Start re-reads the changelog from RepairFrom,
// below its local Next. Meanwhile compaction dropped the markers of the batches it re-reads,
// so the duplicate rule (same epoch and incarnation, sequence number not above the last
// applied one) cannot recognise them: re-applying them put old values back, and the batches
// that had overwritten those values, whose markers survive, were then skipped as duplicates.
// The re-read must apply nothing below Next, apply what is new, and collect the zombie
// batch's keys so the fence repairs them.
func TestRestoreFromRepairFromKeepsNewerState(t *testing.T) {
	var w logWriter
	w.batch(t, 1, "a", 1, true, "x", "1", "y", "1") // 0-2
	w.batch(t, 2, "b", 1, true)                     // 3: the fence of epoch 2
	w.batch(t, 1, "a", 2, true, "z", "zombie")      // 4-5: the paused old active's batch
	w.batch(t, 2, "b", 2, true, "x", "2", "y", "2") // 6-8
	w.batch(t, 2, "b", 3, true, "w", "3")           // 9-10
	w.batch(t, 2, "b", 4, true, "x", "4")           // 11-12
	followed := len(w.recs)
	w.batch(t, 2, "b", 5, true, "y", "5") // 13-14: the old active's final commit, not yet followed

	// The warm-up's state: everything up to `followed`, the zombie batch skipped.
	s := openStore(t)
	replay(t, s, w.recs[:followed])
	st, _, err := s.State("c", 0)
	must(t, err)
	if st.RepairFrom != 4 || st.Next != int64(followed) || st.Epoch != 2 || st.Seq != 4 {
		t.Fatalf("warm-up state = %+v, want RepairFrom 4, Next %d, epoch 2, seq 4", st, followed)
	}

	// The cleaner has cleaned offsets 0-10: the markers of batches 0, 3, 4 and 6 are gone
	// (the one at 10 is the last marker there), x=2 and y=2 survive at 6 and 7 (their newer
	// values at 11 and 13 are past the cleaned part), and so does the zombie's z.
	log := &memLog{records: compactBelow(w.recs, 11)}
	task, err := NewTask(s, testKafka(t, log), TaskConfig{Topic: "c", Partition: 0, Epoch: 3, Incarnation: "c", Logger: quiet})
	must(t, err)
	task.reader = log
	must(t, task.Start(context.Background()))

	tb := table(t, task, "t")
	for k, want := range map[string]string{"x": "4", "y": "5", "w": "3"} {
		if got, ok := mustGet(t, tb, k); !ok || got != want {
			t.Errorf("%s = %q (found %v), want %q", k, got, ok, want)
		}
	}
	if v, ok := mustGet(t, tb, "z"); ok {
		t.Errorf("z = %q: the zombie's value was applied", v)
	}

	// The fence repairs the zombie's key with its committed value (none: a tombstone), and
	// every key it repairs carries the current value.
	fence := log.lastBatch()
	repaired := map[string][]byte{}
	for _, r := range fence {
		if !bytes.Equal(r.Key, MarkerKey) {
			repaired[string(r.Key)] = r.Value
		}
	}
	z, ok := repaired[string(changelogKey("t", []byte("z")))]
	if !ok || z != nil {
		t.Errorf("fence repairs: z present %v value %q, want a tombstone for the zombie's key", ok, z)
	}
	for k, want := range map[string]string{"x": "4", "y": "5", "w": "3"} {
		if v, ok := repaired[string(changelogKey("t", []byte(k)))]; ok && string(v) != want {
			t.Errorf("fence repairs %s with %q, want its current value %q", k, v, want)
		}
	}
	m, err := DecodeMarker(fence[len(fence)-1].Value)
	must(t, err)
	if m.Kind != KindFence || m.Epoch != 3 {
		t.Errorf("last append is %s at epoch %d, want the fence of epoch 3", m.Kind, m.Epoch)
	}
}
