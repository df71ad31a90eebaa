package tables

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/weirhq/weir/libs/topics"
)

func decodeBatches(t *testing.T, recs []topics.Record) []*logBatch {
	t.Helper()
	var out []*logBatch
	asm := assembler{tp: topics.TopicPartition{Topic: "c"}, emit: func(b *logBatch) error { out = append(out, b); return nil }}
	for i := range recs {
		must(t, asm.add(&recs[i]))
	}
	must(t, asm.finish())
	return out
}

func TestCommitBatch(t *testing.T) {
	s, log := openStore(t), &memLog{}
	task := activeTask(t, s, log, TaskConfig{Epoch: 42, Incarnation: "w1-abc"})
	tb := table(t, task, "t")
	ctx := context.Background()
	in := topics.TopicPartition{Topic: "input", Partition: 3}

	must(t, tb.Set([]byte("b"), []byte("1")))
	must(t, tb.Set([]byte("a"), []byte("1")))
	must(t, tb.Set([]byte("b"), []byte("2"))) // last value per key wins
	must(t, tb.Set([]byte("gone"), []byte("x")))
	must(t, tb.Delete([]byte("gone")))
	must(t, task.Commit(ctx, map[topics.TopicPartition]int64{in: 100}, map[string]int64{"up/0": 9}))

	recs := log.lastBatch()
	var keys []string
	for _, r := range recs {
		keys = append(keys, string(r.Key))
		if e, _ := r.Header(HeaderEpoch); string(e) != "42" {
			t.Errorf("record %q epoch header = %q", r.Key, e)
		}
		if inc, _ := r.Header(HeaderIncarnation); string(inc) != "w1-abc" {
			t.Errorf("record %q incarnation header = %q", r.Key, inc)
		}
	}
	if want := []string{"t\x00a", "t\x00b", "t\x00gone", string(MarkerKey)}; strings.Join(keys, "|") != strings.Join(want, "|") {
		t.Fatalf("batch keys = %q, want %q", keys, want)
	}
	if recs[2].Value != nil {
		t.Fatalf("delete should be a tombstone, got %q", recs[2].Value)
	}

	// Round trip through the log decoder.
	bs := decodeBatches(t, recs)
	if len(bs) != 1 {
		t.Fatalf("decoded %d batches", len(bs))
	}
	b := bs[0]
	if b.Epoch != 42 || b.Incarnation != "w1-abc" || b.Base != 0 || b.Last != 3 || len(b.Changes) != 3 {
		t.Fatalf("decoded batch = %+v", b)
	}
	if string(b.Changes[1].value) != "2" || b.Changes[2].value != nil {
		t.Fatalf("decoded changes = %+v", b.Changes)
	}
	m := b.Marker
	if m == nil || m.Kind != KindCommit || m.Seq != 1 || m.Positions[in] != 100 || m.Dedup["up/0"] != 9 {
		t.Fatalf("decoded marker = %+v", m)
	}

	// The store holds the batch and the state.
	st, ok, err := s.State(task.cfg.Topic, 0)
	if err != nil || !ok || st.Next != 4 || st.Epoch != 42 || st.Seq != 1 || st.RepairFrom != -1 {
		t.Fatalf("state = %+v %v %v", st, ok, err)
	}

	// Nothing changed: no append. New positions only: a marker-only batch.
	must(t, task.Commit(ctx, map[topics.TopicPartition]int64{in: 100}, nil))
	if len(log.batches) != 1 {
		t.Fatalf("no-op commit appended (%d batches)", len(log.batches))
	}
	must(t, task.Commit(ctx, map[topics.TopicPartition]int64{in: 120}, nil))
	if len(log.batches) != 2 || len(log.lastBatch()) != 1 {
		t.Fatalf("positions-only commit: %d batches, last has %d records", len(log.batches), len(log.lastBatch()))
	}
	// Positions and dedup are merged and complete in every marker.
	other := topics.TopicPartition{Topic: "input", Partition: 4}
	must(t, task.Commit(ctx, map[topics.TopicPartition]int64{other: 1}, nil))
	m = decodeBatches(t, log.lastBatch())[0].Marker
	if m.Positions[in] != 120 || m.Positions[other] != 1 || m.Dedup["up/0"] != 9 || m.Seq != 3 {
		t.Fatalf("merged marker = %+v", m)
	}

	// Heartbeat: a marker only, pending changes stay pending.
	must(t, tb.Set([]byte("p"), []byte("pending")))
	must(t, task.Heartbeat(ctx))
	hb := decodeBatches(t, log.lastBatch())[0]
	if len(hb.Changes) != 0 || hb.Marker.Kind != KindHeartbeat {
		t.Fatalf("heartbeat = %+v", hb)
	}
	if v, ok := mustGet(t, tb, "p"); !ok || v != "pending" {
		t.Fatal("heartbeat lost a pending change")
	}
	if _, ok, _ := s.Get(task.cfg.Topic, 0, "t", []byte("p")); ok {
		t.Fatal("heartbeat committed a pending change")
	}
	mt := task.Metrics()
	if mt.Commits != 3 || mt.Heartbeats != 1 || mt.CommitLatencyCount != 4 || mt.CommitRecords != 7 || mt.CommitBytes == 0 {
		t.Fatalf("metrics = %+v", mt)
	}
}

func TestMarkerVersions(t *testing.T) {
	m := Marker{Kind: KindFence, Epoch: 3, Incarnation: "i", Seq: 1,
		Positions: map[topics.TopicPartition]int64{{Topic: "b", Partition: 1}: 7, {Topic: "a", Partition: 2}: 9}}
	b, err := EncodeMarker(m)
	must(t, err)
	if !bytes.Contains(b, []byte(`"v":1`)) || bytes.Index(b, []byte(`"t":"a"`)) > bytes.Index(b, []byte(`"t":"b"`)) {
		t.Fatalf("encoded marker %s: want version 1 and sorted positions", b)
	}
	got, err := DecodeMarker(b)
	if err != nil || got.Version != 1 || got.Epoch != 3 || got.Positions[topics.TopicPartition{Topic: "a", Partition: 2}] != 9 {
		t.Fatalf("decoded = %+v %v", got, err)
	}
	if _, err := DecodeMarker([]byte(`{"v":2,"kind":"commit"}`)); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("version 2: %v", err)
	}
	for _, bad := range []string{`{"kind":"commit"}`, `not json`} {
		if _, err := DecodeMarker([]byte(bad)); err == nil {
			t.Errorf("marker %s accepted", bad)
		}
	}
	if _, err := EncodeMarker(Marker{Kind: "other"}); err == nil {
		t.Error("unknown kind accepted")
	}
}

func TestAssemblerRejects(t *testing.T) {
	hdr := func(epoch string) []topics.Header {
		return []topics.Header{{Key: HeaderEpoch, Value: []byte(epoch)}, {Key: HeaderIncarnation, Value: []byte("i")}}
	}
	cases := map[string][]topics.Record{
		"no headers":    {{Key: []byte("t\x00k"), Value: []byte("v")}},
		"bad epoch":     {{Key: []byte("t\x00k"), Headers: hdr("x")}},
		"no table":      {{Key: []byte("k"), Headers: hdr("1")}},
		"two writers":   {{Key: []byte("t\x00k"), Headers: hdr("1")}, {Key: []byte("t\x00j"), Offset: 1, Headers: hdr("2")}},
		"future marker": {{Key: MarkerKey, Value: []byte(`{"v":9}`), Headers: hdr("1")}},
	}
	for name, recs := range cases {
		asm := assembler{emit: func(*logBatch) error { return nil }}
		var err error
		for i := range recs {
			if err = asm.add(&recs[i]); err != nil {
				break
			}
		}
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestBadInput(t *testing.T) {
	s, log := openStore(t), &memLog{}
	k := testKafka(t, log)
	ok := TaskConfig{Topic: "c", Epoch: 1, Incarnation: "i"}
	bad := map[string]TaskConfig{
		"topic":       {Topic: "a/b", Epoch: 1, Incarnation: "i"},
		"partition":   {Topic: "c", Partition: -1, Epoch: 1, Incarnation: "i"},
		"epoch":       {Topic: "c", Incarnation: "i"},
		"incarnation": {Topic: "c", Epoch: 1},
		"max bytes":   {Topic: "c", Epoch: 1, Incarnation: "i", MaxBatchBytes: -1},
	}
	for name, cfg := range bad {
		if _, err := NewTask(s, k, cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := NewTask(nil, k, ok); err == nil {
		t.Error("nil store accepted")
	}
	if _, err := NewTask(s, Kafka{}, ok); err == nil {
		t.Error("empty Kafka accepted")
	}
	if _, err := OpenStandby(s, Kafka{}, StandbyConfig{Topic: "c"}); err == nil {
		t.Error("standby without Kafka accepted")
	}
	if _, err := Open("", Options{}); err == nil {
		t.Error("empty store dir accepted")
	}

	// A task that was not started refuses table operations.
	idle, err := NewTask(s, k, ok)
	must(t, err)
	if err := table(t, idle, "t").Set([]byte("k"), nil); err == nil || !strings.Contains(err.Error(), "Start") {
		t.Errorf("set before start: %v", err)
	}
	if _, err := idle.Table("bad name"); err == nil {
		t.Error("bad table name accepted")
	}
	if err := (Table{}).Set(nil, nil); err == nil {
		t.Error("zero Table accepted a write")
	}

	task := activeTask(t, s, log, TaskConfig{MaxBatchBytes: 4096})
	tb := table(t, task, "t")
	wantErr(t, tb.Set([]byte("big"), make([]byte, 5000)), ErrValueTooLarge)
	if _, ok := mustGet(t, tb, "big"); ok {
		t.Fatal("a refused value was stored")
	}
	// Values that fit one by one but not together: Commit refuses, pending stays, the task lives.
	for i := range 3 {
		must(t, tb.Set([]byte{byte('a' + i)}, make([]byte, 2000)))
	}
	if task.PendingBytes() <= task.MaxBatchBytes() {
		t.Fatalf("pending bytes %d should exceed %d", task.PendingBytes(), task.MaxBatchBytes())
	}
	wantErr(t, task.Commit(context.Background(), nil, nil), ErrBatchTooLarge)
	must(t, tb.Delete([]byte("a")))
	must(t, tb.Delete([]byte("b")))
	must(t, task.Commit(context.Background(), nil, nil))

	if err := task.Commit(context.Background(), map[topics.TopicPartition]int64{{Topic: "in"}: -1}, nil); err == nil {
		t.Error("negative position accepted")
	}
	if err := task.Commit(context.Background(), nil, map[string]int64{"": 1}); err == nil {
		t.Error("empty dedup identity accepted")
	}
	must(t, task.Close())
	wantErr(t, tb.Set([]byte("k"), nil), ErrClosed)
	wantErr(t, task.Commit(context.Background(), nil, nil), ErrClosed)
}

func TestCommitAppendFailureKeepsPending(t *testing.T) {
	s, log := openStore(t), &memLog{}
	task := activeTask(t, s, log, TaskConfig{})
	tb := table(t, task, "t")
	must(t, tb.Set([]byte("k"), []byte("v")))
	log.fail = errors.New("request timed out")
	if err := task.Commit(context.Background(), nil, nil); err == nil || !strings.Contains(err.Error(), "outcome unknown") {
		t.Fatalf("commit = %v", err)
	}
	if v, ok := mustGet(t, tb, "k"); !ok || v != "v" {
		t.Fatal("a failed commit lost the pending change")
	}
	if task.unknown == nil || task.unknown.seq != 1 || task.seq != 1 {
		t.Fatalf("unknown = %+v seq %d", task.unknown, task.seq)
	}
}
