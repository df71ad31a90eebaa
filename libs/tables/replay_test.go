package tables

import (
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
