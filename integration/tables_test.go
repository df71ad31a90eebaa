//go:build integration

package integration

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/weirhq/weir/integration/harness"
	"github.com/weirhq/weir/libs/tables"
	"github.com/weirhq/weir/libs/topics"
)

var tablesLog = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

func changelogTopic(t *testing.T, extra map[string]string) string {
	t.Helper()
	cfg := map[string]string{"message.timestamp.type": "LogAppendTime"}
	maps.Copy(cfg, extra)
	return harness.Topic(t, topics.TopicSpec{Name: "cl", Partitions: 1, Cleanup: topics.CleanupCompact, Configs: cfg})
}

func tablesKafka(t *testing.T) tables.Kafka {
	return tables.Kafka{Producer: newProducer(t), Admin: harness.Admin(t), Consumer: topics.ConsumerConfig{ClientConfig: harness.Client(t), Logger: tablesLog}}
}

func openStore(t *testing.T, dir string) *tables.Store {
	t.Helper()
	s, err := tables.Open(dir, tables.Options{CacheBytes: 16 << 20, MemtableBytes: 4 << 20, Logger: tablesLog})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func startTask(ctx context.Context, t *testing.T, s *tables.Store, k tables.Kafka, topic string, epoch int64, inc string) (*tables.Task, error) {
	t.Helper()
	return tables.OpenTask(ctx, s, k, tables.TaskConfig{Topic: topic, Epoch: epoch, Incarnation: inc, Logger: tablesLog})
}

func mustStart(ctx context.Context, t *testing.T, s *tables.Store, k tables.Kafka, topic string, epoch int64, inc string) *tables.Task {
	t.Helper()
	task, err := startTask(ctx, t, s, k, topic, epoch, inc)
	if err != nil {
		t.Fatal(err)
	}
	return task
}

// dump returns every key of a table as the task sees it.
func dump(t *testing.T, task *tables.Task, name string) map[string]string {
	t.Helper()
	tb, err := task.Table(name)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	if err := tb.Scan(nil, func(k, v []byte) bool { out[string(k)] = string(v); return true }); err != nil {
		t.Fatal(err)
	}
	return out
}

func sameState(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if !maps.Equal(got, want) {
		diff := 0
		for k, v := range want {
			if got[k] != v {
				if diff < 5 {
					t.Errorf("%s: key %q = %q, want %q", what, k, got[k], v)
				}
				diff++
			}
		}
		t.Fatalf("%s: %d keys, want %d (%d differ)", what, len(got), len(want), diff)
	}
}

// commitRandom applies n random changes (sets, deletes, increments) to task and model, then commits.
func commitRandom(ctx context.Context, t *testing.T, task *tables.Task, model map[string]string, rng *rand.Rand, n int, pos int64) {
	t.Helper()
	tb, _ := task.Table("kv")
	for range n {
		k := fmt.Sprintf("k%04d", rng.IntN(500))
		switch rng.IntN(4) {
		case 0:
			if err := tb.Delete([]byte(k)); err != nil {
				t.Fatal(err)
			}
			delete(model, k)
		default:
			v := fmt.Sprintf("v%d", rng.IntN(1e6))
			if err := tb.Set([]byte(k), []byte(v)); err != nil {
				t.Fatal(err)
			}
			model[k] = v
		}
	}
	in := topics.TopicPartition{Topic: "input", Partition: 0}
	if err := task.Commit(ctx, map[topics.TopicPartition]int64{in: pos}, map[string]int64{"up": pos}); err != nil {
		t.Fatalf("commit: %v", err)
	}
}

// TestTablesRestore: commits, then a restore from an empty dir gives the same state and
// positions; a restart on the local dir reads only the tail.
func TestTablesRestore(t *testing.T) {
	ctx := harness.Context(t, 3*time.Minute)
	topic, k := changelogTopic(t, nil), tablesKafka(t)
	rng := rand.New(rand.NewPCG(1, 2))
	model := map[string]string{}

	dirA := t.TempDir()
	sA := openStore(t, dirA)
	a := mustStart(ctx, t, sA, k, topic, 1, "a")
	for i := range 20 {
		commitRandom(ctx, t, a, model, rng, 100, int64(i+1)*100)
	}
	sameState(t, "writer", dump(t, a, "kv"), model)
	a.Close()
	if err := sA.Close(); err != nil {
		t.Fatal(err)
	}

	// Fresh dir: the whole log.
	sB := openStore(t, t.TempDir())
	defer sB.Close()
	b := mustStart(ctx, t, sB, k, topic, 2, "b")
	sameState(t, "restored from empty", dump(t, b, "kv"), model)
	if p := b.Positions()[topics.TopicPartition{Topic: "input"}]; p != 2000 {
		t.Fatalf("restored position = %d, want 2000", p)
	}
	if d := b.Dedup()["up"]; d != 2000 {
		t.Fatalf("restored dedup mark = %d, want 2000", d)
	}
	if pr := b.Progress(); pr.From != 0 || pr.Remaining != 0 || pr.Phase != tables.PhaseActive {
		t.Fatalf("progress = %+v", pr)
	}
	// b writes a tail.
	tb, _ := b.Table("kv")
	for i := range 3 {
		key := fmt.Sprintf("tail%d", i)
		tb.Set([]byte(key), []byte("t"))
		model[key] = "t"
		if err := b.Commit(ctx, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	b.Close()

	// The old dir: only the tail (b's fence and three one-key commits) is read.
	sA = openStore(t, dirA)
	defer sA.Close()
	st, _, _ := sA.State(topic, 0)
	c := mustStart(ctx, t, sA, k, topic, 3, "c")
	sameState(t, "restored from local dir", dump(t, c, "kv"), model)
	if pr := c.Progress(); pr.From != st.Next || pr.Target-pr.From != 1+3*2 {
		t.Fatalf("local restore read [%d, %d), want from %d and 7 offsets", pr.From, pr.Target, st.Next)
	}
	if m := c.Metrics(); m.RestoredRecords != 3 {
		t.Fatalf("local restore applied %d records, want 3", m.RestoredRecords)
	}
}

// TestTablesRefusesStaleEpoch: a task does not start when the log holds its epoch or a newer one.
func TestTablesRefusesStaleEpoch(t *testing.T) {
	ctx := harness.Context(t, 2*time.Minute)
	topic, k := changelogTopic(t, nil), tablesKafka(t)
	s := openStore(t, t.TempDir())
	defer s.Close()
	a := mustStart(ctx, t, s, k, topic, 5, "a")
	tb, _ := a.Table("kv")
	tb.Set([]byte("x"), []byte("1"))
	if err := a.Commit(ctx, nil, nil); err != nil {
		t.Fatal(err)
	}
	a.Close()
	for _, epoch := range []int64{4, 5} {
		s2 := openStore(t, t.TempDir())
		_, err := startTask(ctx, t, s2, k, topic, epoch, "other")
		s2.Close()
		if !errors.Is(err, tables.ErrStaleEpoch) {
			t.Fatalf("epoch %d: error = %v, want ErrStaleEpoch", epoch, err)
		}
	}
	// Same dir too (the local state already says epoch 5).
	if _, err := startTask(ctx, t, s, k, topic, 5, "other"); !errors.Is(err, tables.ErrStaleEpoch) {
		t.Fatalf("same dir: error = %v, want ErrStaleEpoch", err)
	}
	if _, err := startTask(ctx, t, s, k, topic, 6, "new"); err != nil {
		t.Fatalf("epoch 6: %v", err)
	}
}

// TestTablesZombie: a lower-epoch writer lands a batch after a newer active fenced. The
// zombie finds out at its append; a restore skips the batch and repairs its keys; the active
// detects the gap at its next append and repairs too.
func TestTablesZombie(t *testing.T) {
	ctx := harness.Context(t, 3*time.Minute)
	topic, k := changelogTopic(t, nil), tablesKafka(t)
	sA, sB := openStore(t, t.TempDir()), openStore(t, t.TempDir())
	defer sA.Close()
	defer sB.Close()

	a := mustStart(ctx, t, sA, k, topic, 1, "a")
	ta, _ := a.Table("kv")
	ta.Set([]byte("x"), []byte("a1"))
	ta.Set([]byte("y"), []byte("a1"))
	if err := a.Commit(ctx, nil, nil); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"x": "a1", "y": "a1"}

	b := mustStart(ctx, t, sB, k, topic, 2, "b") // fences epoch 2
	sameState(t, "new active", dump(t, b, "kv"), want)

	// The zombie (still epoch 1) writes: its batch lands, then it learns it is fenced.
	ta.Set([]byte("x"), []byte("zombie"))
	ta.Set([]byte("z"), []byte("zombie"))
	err := a.Commit(ctx, nil, nil)
	if !errors.Is(err, tables.ErrFenced) {
		t.Fatalf("zombie commit: %v, want ErrFenced", err)
	}
	if err := a.Commit(ctx, nil, nil); !errors.Is(err, tables.ErrTaskFailed) {
		t.Fatalf("failed task accepted a commit: %v", err)
	}

	// A restore now skips the zombie batch and repairs its keys in its fence.
	sC := openStore(t, t.TempDir())
	c := mustStart(ctx, t, sC, k, topic, 3, "c")
	sameState(t, "restore past a zombie batch", dump(t, c, "kv"), want)
	if m := c.Metrics(); m.SkippedBatches != 1 || m.RepairedKeys != 2 {
		t.Fatalf("restore metrics = %+v, want 1 skipped batch and 2 repaired keys", m)
	}
	c.Close()
	sC.Close()

	// Without compaction or repair the log would still restore right; check that a second
	// fresh restore (after c's repair) agrees.
	sD := openStore(t, t.TempDir())
	defer sD.Close()
	d := mustStart(ctx, t, sD, k, topic, 4, "d")
	sameState(t, "restore after repair", dump(t, d, "kv"), want)

	// b is now fenced by c and d: its next append finds their higher epochs.
	tb, _ := b.Table("kv")
	tb.Set([]byte("w"), []byte("b"))
	if err := b.Commit(ctx, nil, nil); !errors.Is(err, tables.ErrFenced) {
		t.Fatalf("stale active commit: %v, want ErrFenced", err)
	}
}

// TestTablesActiveRepairsZombie: the active detects a zombie batch from the gap before its
// own append and re-appends the keys it touched.
func TestTablesActiveRepairsZombie(t *testing.T) {
	ctx := harness.Context(t, 3*time.Minute)
	topic, k := changelogTopic(t, nil), tablesKafka(t)
	sA, sB := openStore(t, t.TempDir()), openStore(t, t.TempDir())
	defer sA.Close()
	defer sB.Close()
	a := mustStart(ctx, t, sA, k, topic, 1, "a")
	ta, _ := a.Table("kv")
	ta.Set([]byte("x"), []byte("a1"))
	if err := a.Commit(ctx, nil, nil); err != nil {
		t.Fatal(err)
	}
	b := mustStart(ctx, t, sB, k, topic, 2, "b")
	ta.Set([]byte("x"), []byte("zombie"))
	ta.Set([]byte("new"), []byte("zombie"))
	if err := a.Commit(ctx, nil, nil); !errors.Is(err, tables.ErrFenced) {
		t.Fatalf("zombie commit: %v", err)
	}
	if err := b.Heartbeat(ctx); err != nil {
		t.Fatalf("heartbeat after a zombie batch: %v", err)
	}
	if m := b.Metrics(); m.Repairs != 1 || m.RepairedKeys != 2 {
		t.Fatalf("active metrics = %+v, want 1 repair of 2 keys", m)
	}
	st, _, _ := sB.State(topic, 0)
	if st.RepairFrom != -1 || st.Next != b.EndOffset() {
		t.Fatalf("state after repair = %+v (end %d)", st, b.EndOffset())
	}
	// Read the log raw, without epoch skipping: the last value of every key is right.
	last := rawLastValues(ctx, t, topic, b.EndOffset())
	if v, ok := last["kv\x00x"]; !ok || string(v) != "a1" {
		t.Fatalf("raw last x = %q %v, want a1", v, ok)
	}
	if v, ok := last["kv\x00new"]; !ok || v != nil {
		t.Fatalf("raw last new = %q %v, want a tombstone", v, ok)
	}
}

// rawLastValues reads a changelog partition up to end and returns the last value per key.
func rawLastValues(ctx context.Context, t *testing.T, topic string, end int64) map[string][]byte {
	t.Helper()
	c := startConsumer(t, topics.ConsumerConfig{Logger: tablesLog})
	c.Assign(topics.TopicPartition{Topic: topic}, topics.FirstOffset)
	out := map[string][]byte{}
	for {
		b, err := c.Poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range b.Records {
			out[string(r.Key)] = r.Value
			if r.Offset+1 >= end {
				return out
			}
		}
	}
}

// flakyAppender lands a batch but reports a timeout (once, when armed), or holds a batch
// back and lands it later (a late duplicate).
type flakyAppender struct {
	tables.Appender
	mu                   sync.Mutex
	landThenFail, defer_ bool
	held                 []topics.Record
}

func (f *flakyAppender) AppendBatch(ctx context.Context, topic string, p int32, recs []topics.Record) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.landThenFail:
		f.landThenFail = false
		if _, err := f.Appender.AppendBatch(ctx, topic, p, recs); err != nil {
			return -1, err
		}
		return -1, context.DeadlineExceeded
	case f.defer_:
		f.defer_ = false
		f.held = recs
		return -1, context.DeadlineExceeded
	}
	return f.Appender.AppendBatch(ctx, topic, p, recs)
}

func (f *flakyAppender) landHeld(ctx context.Context, topic string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, err := f.Appender.AppendBatch(ctx, topic, 0, f.held)
	return err
}

// TestTablesUnknownOutcome: after an append whose outcome is unknown, the next commit finds
// its batch in the log (landed) or not; a late landing is detected and repaired.
func TestTablesUnknownOutcome(t *testing.T) {
	ctx := harness.Context(t, 3*time.Minute)
	topic, k := changelogTopic(t, nil), tablesKafka(t)
	flaky := &flakyAppender{Appender: k.Producer}
	k.Producer = flaky
	s := openStore(t, t.TempDir())
	defer s.Close()
	a := mustStart(ctx, t, s, k, topic, 1, "a")
	tb, _ := a.Table("kv")
	model := map[string]string{}
	set := func(key, v string) {
		tb.Set([]byte(key), []byte(v))
		model[key] = v
	}

	// Landed, reported failed.
	set("x", "1")
	flaky.landThenFail = true
	if err := a.Commit(ctx, nil, nil); err == nil {
		t.Fatal("commit should report the timeout")
	}
	set("y", "1")
	if err := a.Commit(ctx, nil, nil); err != nil {
		t.Fatalf("commit after a landed timeout: %v", err)
	}
	if m := a.Metrics(); m.Repairs != 0 {
		t.Fatalf("own landed batch counted as foreign: %+v", m)
	}

	// Not landed yet: held back, then it lands after the next commit (a late duplicate that
	// would revert x).
	set("x", "2")
	flaky.defer_ = true
	if err := a.Commit(ctx, nil, nil); err == nil {
		t.Fatal("commit should report the timeout")
	}
	set("x", "3")
	if err := a.Commit(ctx, nil, nil); err != nil {
		t.Fatalf("commit after a lost append: %v", err)
	}
	if err := flaky.landHeld(ctx, topic); err != nil {
		t.Fatal(err)
	}
	set("z", "1")
	if err := a.Commit(ctx, nil, nil); err != nil {
		t.Fatalf("commit after a late duplicate: %v", err)
	}
	if m := a.Metrics(); m.Repairs != 1 {
		t.Fatalf("late duplicate not repaired: %+v", m)
	}
	sameState(t, "writer", dump(t, a, "kv"), model)
	a.Close()

	s2 := openStore(t, t.TempDir())
	defer s2.Close()
	b := mustStart(ctx, t, s2, k, topic, 2, "b")
	sameState(t, "restored", dump(t, b, "kv"), model)
	last := rawLastValues(ctx, t, topic, b.EndOffset())
	if string(last["kv\x00x"]) != "3" {
		t.Fatalf("raw last x = %q, want 3 (the duplicate must be repaired in the log)", last["kv\x00x"])
	}
}

// TestTablesStandby: a standby follows an active's commits and reports lag 0 when caught up.
func TestTablesStandby(t *testing.T) {
	ctx := harness.Context(t, 3*time.Minute)
	topic, k := changelogTopic(t, nil), tablesKafka(t)
	sA, sS := openStore(t, t.TempDir()), openStore(t, t.TempDir())
	defer sA.Close()
	defer sS.Close()
	a := mustStart(ctx, t, sA, k, topic, 1, "a")
	rng := rand.New(rand.NewPCG(3, 4))
	model := map[string]string{}
	for i := range 5 {
		commitRandom(ctx, t, a, model, rng, 200, int64(i))
	}

	sb, err := tables.OpenStandby(sS, k, tables.StandbyConfig{Topic: topic, Logger: tablesLog})
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- sb.Run(rctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("standby: %v", err)
		}
	}()
	caughtUp := func(what string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for sb.Lag() != 0 || sb.Applied() != a.EndOffset() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: standby lag %d, applied %d, active end %d", what, sb.Lag(), sb.Applied(), a.EndOffset())
			}
			time.Sleep(20 * time.Millisecond)
		}
		got := map[string]string{}
		sS.Scan(topic, 0, "kv", nil, func(k, v []byte) bool { got[string(k)] = string(v); return true })
		sameState(t, what, got, model)
	}
	caughtUp("initial catch-up")
	for i := range 10 {
		commitRandom(ctx, t, a, model, rng, 50, int64(10+i))
	}
	caughtUp("following")
	if m := sb.Metrics(); m.StandbyLag != 0 || m.RestoredRecords == 0 {
		t.Fatalf("standby metrics = %+v", m)
	}
}

// TestTablesCompaction: with aggressive compaction the broker drops old markers and
// superseded values (one marker key per partition), and a restore still gives the same
// state and positions.
func TestTablesCompaction(t *testing.T) {
	ctx := harness.Context(t, 3*time.Minute)
	topic := changelogTopic(t, map[string]string{
		"segment.ms": "100", "min.cleanable.dirty.ratio": "0.01", "delete.retention.ms": "100",
		"min.compaction.lag.ms": "0",
	})
	k := tablesKafka(t)
	s := openStore(t, t.TempDir())
	defer s.Close()
	a := mustStart(ctx, t, s, k, topic, 1, "a")
	rng := rand.New(rand.NewPCG(5, 6))
	model := map[string]string{}
	pos := int64(0)
	countMarkers := func() (markers, total int) {
		c := startConsumer(t, topics.ConsumerConfig{Logger: tablesLog})
		c.Assign(topics.TopicPartition{Topic: topic}, topics.FirstOffset)
		end := a.EndOffset()
		for {
			b, err := c.Poll(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range b.Records {
				total++
				if string(r.Key) == string(tables.MarkerKey) {
					markers++
				}
				if r.Offset+1 >= end {
					return markers, total
				}
			}
		}
	}
	commits := 0
	deadline := time.Now().Add(90 * time.Second)
	for {
		for range 5 {
			pos++
			commitRandom(ctx, t, a, model, rng, 20, pos)
			commits++
			time.Sleep(150 * time.Millisecond) // let segments roll
		}
		markers, total := countMarkers()
		if markers <= 2 && int64(total) < a.EndOffset() {
			t.Logf("after %d commits: %d records left of %d offsets, %d markers", commits, total, a.EndOffset(), markers)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("compaction did not run: %d markers, %d records of %d offsets", markers, total, a.EndOffset())
		}
	}
	a.Close()
	s2 := openStore(t, t.TempDir())
	defer s2.Close()
	b := mustStart(ctx, t, s2, k, topic, 2, "b")
	sameState(t, "restored from a compacted log", dump(t, b, "kv"), model)
	if p := b.Positions()[topics.TopicPartition{Topic: "input"}]; p != pos {
		t.Fatalf("position after compaction = %d, want %d", p, pos)
	}
}
