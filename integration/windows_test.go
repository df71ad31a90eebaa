//go:build integration

package integration

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/weirhq/weir/integration/harness"
	"github.com/weirhq/weir/libs/tables"
	"github.com/weirhq/weir/libs/topics"
)

var windowsInput = topics.TopicPartition{Topic: "events", Partition: 0}

type windowEvent struct {
	key string
	ts  int64
}

// windowRun drives one task's windowed counts the way the runtime would: Observe, Update,
// emit closes (collected), commit every `every` events.
type windowRun struct {
	t    *testing.T
	task *tables.Task
	ws   *tables.Windows
	w    *tables.WindowedTable
}

func openWindowRun(ctx context.Context, t *testing.T, s *tables.Store, k tables.Kafka, topic string, epoch int64, inc string, spec tables.WindowSpec) *windowRun {
	t.Helper()
	task := mustStart(ctx, t, s, k, topic, epoch, inc)
	ws, err := tables.OpenWindows(task)
	if err != nil {
		t.Fatal(err)
	}
	w, err := ws.Table("counts", spec)
	if err != nil {
		t.Fatal(err)
	}
	return &windowRun{t: t, task: task, ws: ws, w: w}
}

func (r *windowRun) process(e windowEvent, emit func(tables.ClosedWindow)) {
	r.t.Helper()
	closed, err := r.ws.Observe(e.ts)
	if err != nil {
		r.t.Fatal(err)
	}
	for _, c := range closed {
		emit(c)
	}
	_, err = r.w.Update([]byte(e.key), e.ts, func(old []byte, ok bool) ([]byte, error) {
		var n int64
		if ok {
			n, _ = tables.DecodeInt64(old)
		}
		return tables.EncodeInt64(n + 1), nil
	})
	if err != nil {
		r.t.Fatal(err)
	}
}

func (r *windowRun) commit(ctx context.Context, pos int64) {
	r.t.Helper()
	if err := r.task.Commit(ctx, map[topics.TopicPartition]int64{windowsInput: pos}, nil); err != nil {
		r.t.Fatal(err)
	}
}

// referenceCounts computes tumbling counts with grace the plain way: the windows closed by
// the end of the stream, by close identity.
func referenceCounts(events []windowEvent, size, grace int64) (closed map[string]int64, late int) {
	st := int64(-1 << 62)
	counts := map[string]int64{}
	ends := map[string]int64{}
	for _, e := range events {
		st = max(st, e.ts)
		start := e.ts - ((e.ts%size)+size)%size
		if start+size+grace <= st {
			late++
			continue
		}
		id := tables.CloseIdentity("", "counts", []byte(e.key), start)
		counts[id]++
		ends[id] = start + size
	}
	closed = map[string]int64{}
	for id, n := range counts {
		if ends[id]+grace <= st {
			closed[id] = n
		}
	}
	return closed, late
}

// TestWindowsCrashRecovery: windowed counts with commits on real Kafka, a crash (the
// process stops without committing its last events, whose closes were already emitted),
// then a new active restored from the changelog into an empty dir replays from the
// committed position: every closed window is emitted with one identity and one value, and
// the distinct closes equal the reference.
func TestWindowsCrashRecovery(t *testing.T) {
	ctx := harness.Context(t, 3*time.Minute)
	topic, k := changelogTopic(t, nil), tablesKafka(t)
	spec := tables.WindowSpec{Kind: tables.Tumbling, Size: 100 * time.Millisecond, Grace: 20 * time.Millisecond, Expires: time.Hour}
	rng := rand.New(rand.NewPCG(5, 6))
	events := make([]windowEvent, 600)
	for i := range events {
		events[i] = windowEvent{fmt.Sprint("k", rng.IntN(5)), int64(i*3) + rng.Int64N(60) - 50}
	}
	want, wantLate := referenceCounts(events, 100, 20)

	emitted := map[string]int64{} // identity (task stripped) → value
	raw := 0
	emit := func(c tables.ClosedWindow) {
		raw++
		n, err := tables.DecodeInt64(c.Value)
		if err != nil {
			t.Fatal(err)
		}
		id := tables.CloseIdentity("", c.Table, c.Key, c.Start)
		if c.Identity() != tables.CloseIdentity(topic+"/0", c.Table, c.Key, c.Start) {
			t.Fatalf("identity %q does not name the task", c.Identity())
		}
		if prev, ok := emitted[id]; ok && prev != n {
			t.Fatalf("%s emitted with %d and %d", id, prev, n)
		}
		emitted[id] = n
	}

	// Worker 1 commits every 25 events up to 400, then processes 60 more and crashes.
	s1 := openStore(t, t.TempDir())
	r1 := openWindowRun(ctx, t, s1, k, topic, 1, "w1", spec)
	for i := range 460 {
		r1.process(events[i], emit)
		if (i+1)%25 == 0 && i < 400 {
			r1.commit(ctx, int64(i+1))
		}
	}
	if raw != len(emitted) {
		t.Fatalf("crash-free part emitted %d closes for %d windows", raw, len(emitted))
	}
	if late := r1.ws.Metrics().LateRecords; late == 0 {
		t.Fatal("no late records in the stream")
	}
	r1.task.Close()
	s1.Close()

	// Worker 2 restores from the changelog (empty dir) and replays from the committed position.
	s2 := openStore(t, t.TempDir())
	defer s2.Close()
	r2 := openWindowRun(ctx, t, s2, k, topic, 2, "w2", spec)
	pos := r2.task.Positions()[windowsInput]
	if pos != 400 {
		t.Fatalf("restored position %d, want 400", pos)
	}
	for i := pos; i < int64(len(events)); i++ {
		r2.process(events[i], emit)
	}
	r2.commit(ctx, int64(len(events)))
	if raw == len(emitted) {
		t.Fatal("the replay repeated no close: the test does not exercise the crash")
	}
	if !maps.Equal(emitted, want) {
		t.Fatalf("%d distinct closes, reference %d", len(emitted), len(want))
	}
	t.Logf("%d windows closed, %d emissions (replays included), %d late records in the reference", len(want), raw, wantLate)

	// A third start from worker 2's local dir emits nothing again.
	r2.task.Close()
	r3 := openWindowRun(ctx, t, s2, k, topic, 3, "w3", spec)
	closed, err := r3.ws.Observe(events[len(events)-1].ts)
	if err != nil || len(closed) != 0 {
		t.Fatalf("closes after a clean restart: %d %v", len(closed), err)
	}
}

// TestWindowsExpiryTombstones: expired windows are gone from Pebble, tombstoned in the
// changelog (read raw), and absent after a restore from the log.
func TestWindowsExpiryTombstones(t *testing.T) {
	ctx := harness.Context(t, 2*time.Minute)
	topic, k := changelogTopic(t, nil), tablesKafka(t)
	spec := tables.WindowSpec{Kind: tables.Tumbling, Size: 10 * time.Millisecond, Expires: 20 * time.Millisecond}
	s := openStore(t, t.TempDir())
	defer s.Close()
	r := openWindowRun(ctx, t, s, k, topic, 1, "w1", spec)
	var closed []tables.ClosedWindow
	emit := func(c tables.ClosedWindow) { closed = append(closed, c) }
	r.process(windowEvent{"a", 1}, emit)
	r.process(windowEvent{"b", 5}, emit)
	r.commit(ctx, 2)
	if got, err := s.WindowRange(topic, 0, "counts", []byte("a"), 0, 0); err != nil || len(got) != 1 {
		t.Fatalf("committed window of a: %v %v", got, err)
	}
	r.process(windowEvent{"c", 100}, emit) // closes and expires [0,10)
	r.commit(ctx, 3)
	if len(closed) != 2 {
		t.Fatalf("closed %d windows, want 2", len(closed))
	}
	for _, key := range []string{"a", "b"} {
		if got, err := s.WindowRange(topic, 0, "counts", []byte(key), -1000, 1000); err != nil || len(got) != 0 {
			t.Fatalf("Pebble still holds %s's expired window: %v %v", key, got, err)
		}
	}
	if got, err := s.WindowRange(topic, 0, "counts", []byte("c"), 100, 100); err != nil || len(got) != 1 {
		t.Fatalf("window of c: %v %v", got, err)
	}
	last := rawLastValues(ctx, t, topic, r.task.EndOffset())
	for _, key := range []string{"a", "b"} {
		ck := "counts\x00" + string(tables.EncodeWindowKey([]byte(key), 0))
		v, ok := last[ck]
		if !ok || v != nil {
			t.Fatalf("changelog's last record for %s's window: present %v, value %q; want a tombstone", key, ok, v)
		}
	}
	r.task.Close()

	// A restore into an empty dir applies the tombstones.
	s2 := openStore(t, t.TempDir())
	defer s2.Close()
	r2 := openWindowRun(ctx, t, s2, k, topic, 2, "w2", spec)
	defer r2.task.Close()
	n := 0
	if err := r2.w.Scan(func(key []byte, wv tables.WindowValue) bool { n++; return true }); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("restored %d windows, want only c's", n)
	}
	if st, ok := r2.ws.StreamTime(); !ok || st != 100 {
		t.Fatalf("restored stream time %d %v", st, ok)
	}
}
