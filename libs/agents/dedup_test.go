package agents_test

import (
	"maps"
	"slices"
	"testing"

	"github.com/weirhq/weir/libs/agents"
	"github.com/weirhq/weir/libs/tables"
	"github.com/weirhq/weir/libs/topics"
)

// emitted is the record an upstream task "app/g/1" emits as the seq-th output of its input
// src/0@off, as consumed by a downstream task from counts/2 at consumedAt.
func emitted(off int64, seq int, consumedAt int64) agents.Record {
	in := agents.Record{Topic: "src", Partition: 0, Offset: off}
	return agents.Record{Topic: "counts", Partition: 2, Offset: consumedAt, Key: []byte("k"),
		Headers: agents.DedupHeaders("app/g/1", &in, seq)}
}

// seen calls d.Seen and fails the test on an error.
func seen(t testing.TB, d *agents.Dedup, r *agents.Record) bool {
	t.Helper()
	dup, err := d.Seen(r)
	if err != nil {
		t.Fatal(err)
	}
	return dup
}

// commitAndRestore passes the marks through what a commit and a restart do with them:
// merged into the committed marks, encoded in the changelog marker, decoded at restore.
func commitAndRestore(t *testing.T, committed map[string]int64, d *agents.Dedup) map[string]int64 {
	t.Helper()
	merged := maps.Clone(committed)
	if merged == nil {
		merged = map[string]int64{}
	}
	maps.Copy(merged, d.Changed())
	b, err := tables.EncodeMarker(tables.Marker{Kind: tables.KindCommit, Epoch: 1, Incarnation: "w", Seq: 1, Dedup: merged})
	if err != nil {
		t.Fatal(err)
	}
	m, err := tables.DecodeMarker(b)
	if err != nil {
		t.Fatal(err)
	}
	return m.Dedup
}

// A crash of the upstream task after it emitted outputs but before it committed makes it
// emit them again with the same identity: the downstream task consumes each once, also when
// it restarted itself from its committed marks in between.
func TestDedupDropsReplayAfterUpstreamCrash(t *testing.T) {
	d := agents.NewDedup(nil)
	var consumed []int64
	consume := func(r agents.Record) {
		if !seen(t, d, &r) {
			consumed = append(consumed, r.Offset)
		}
	}
	// Upstream processes src@10 (two outputs) and src@11, then crashes before committing.
	consume(emitted(10, 0, 100))
	consume(emitted(10, 1, 101))
	consume(emitted(11, 0, 102))
	// The downstream commits here and restarts from its marker.
	d = agents.NewDedup(commitAndRestore(t, nil, d))
	// Upstream restarts from src@10: its replays arrive, then new outputs.
	consume(emitted(10, 0, 103))
	consume(emitted(10, 1, 104))
	consume(emitted(11, 0, 105))
	consume(emitted(12, 0, 106))
	if want := []int64{100, 101, 102, 106}; !slices.Equal(consumed, want) {
		t.Fatalf("consumed offsets %v, want %v", consumed, want)
	}
	if d.Dropped() != 3 {
		t.Fatalf("dropped %d, want 3", d.Dropped())
	}
}

// A replay whose outputs were only partly consumed before the crash: the rest is new.
func TestDedupKeepsTheUnseenRestOfAnInput(t *testing.T) {
	d := agents.NewDedup(nil)
	for _, r := range []agents.Record{emitted(5, 0, 1), emitted(5, 0, 2), emitted(5, 1, 3), emitted(5, 2, 4)} {
		got := seen(t, d, &r)
		if want := r.Offset == 2; got != want {
			t.Fatalf("record at %d: seen=%v, want %v", r.Offset, got, want)
		}
	}
}

func TestDedupKeepsOtherProducersAndExternalRecords(t *testing.T) {
	d := agents.NewDedup(nil)
	r := emitted(7, 0, 1)
	if seen(t, d, &r) {
		t.Fatal("first record dropped")
	}
	// The same identity read from another input partition is a different stream.
	other := emitted(7, 0, 1)
	other.Partition = 3
	// Another upstream task, and another input partition of the same upstream task.
	in := agents.Record{Topic: "src", Partition: 1, Offset: 7}
	fromP1 := agents.Record{Topic: "counts", Partition: 2, Headers: agents.DedupHeaders("app/g/1", &in, 0)}
	fromTask2 := agents.Record{Topic: "counts", Partition: 2, Headers: agents.DedupHeaders("app/g/2", &in, 0)}
	external := agents.Record{Topic: "counts", Partition: 2, Headers: []topics.Header{{Key: "trace", Value: []byte("x")}}}
	closeRec := agents.Record{Topic: "counts", Partition: 2, Headers: agents.IdentityHeaders("app/g/1", "wclose/x", 0)}
	bad := emitted(8, 0, 1)
	bad.Headers[2].Value = []byte("not a number")
	weir := map[string]agents.Record{"other partition": other, "other source": fromP1, "other task": fromTask2}
	kept := map[string]agents.Record{"external": external, "window close": closeRec, "bad offset header": bad}
	for name, r := range weir {
		if seen(t, d, &r) {
			t.Fatalf("%s: first delivery dropped", name)
		}
		if !seen(t, d, &r) {
			t.Fatalf("%s: second delivery kept", name)
		}
	}
	for name, r := range kept {
		if seen(t, d, &r) || seen(t, d, &r) {
			t.Fatalf("%s: dropped", name)
		}
	}
	if d.Dropped() != 3 { // the second delivery of the three Weir streams
		t.Fatalf("dropped %d, want 3", d.Dropped())
	}
}

func TestDedupChangedOnlyOnce(t *testing.T) {
	d := agents.NewDedup(nil)
	r := emitted(1, 0, 1)
	seen(t, d, &r)
	if ch := d.Changed(); len(ch) != 2 {
		t.Fatalf("changed marks %v, want offset and seq of one producer", ch)
	}
	if ch := d.Changed(); ch != nil {
		t.Fatalf("changed again without new records: %v", ch)
	}
}

func TestDedupSeenDoesNotAllocateForKnownProducers(t *testing.T) {
	d := agents.NewDedup(nil)
	recs := []agents.Record{emitted(1, 0, 1), emitted(2, 0, 2)}
	seen(t, d, &recs[0])
	if a := testing.AllocsPerRun(100, func() { seen(t, d, &recs[1]) }); a != 0 {
		t.Fatalf("Seen allocates %v times per record", a)
	}
}
