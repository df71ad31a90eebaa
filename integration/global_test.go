//go:build integration

package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/weirhq/weir/integration/harness"
	"github.com/weirhq/weir/libs/tables"
	"github.com/weirhq/weir/libs/topics"
)

// runGlobal runs g until the returned stop is called.
func runGlobal(ctx context.Context, t *testing.T, g *tables.Global) (stop func()) {
	t.Helper()
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- g.Run(rctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("global Run: %v", err)
		}
	}
}

func globalDump(t *testing.T, g *tables.Global) map[string]string {
	t.Helper()
	out := map[string]string{}
	prev := ""
	err := g.Scan(nil, func(k, v []byte) bool {
		if len(out) > 0 && string(k) <= prev {
			t.Errorf("scan order: %q after %q", k, prev)
		}
		prev = string(k)
		out[string(k)] = string(v)
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGlobalTable: a global table written by the task of one partition (worker A) is
// readable through OpenGlobal on worker B, which follows every partition; after B restarts
// from its local dir it reads only the tail.
func TestGlobalTable(t *testing.T) {
	ctx := harness.Context(t, 3*time.Minute)
	topic := harness.Topic(t, topics.TopicSpec{Name: "gcl", Partitions: 2, Cleanup: topics.CleanupCompact,
		Configs: map[string]string{"message.timestamp.type": "LogAppendTime"}})
	k := tablesKafka(t)

	// Worker A: the feeding task of partition 1.
	sa := openStore(t, t.TempDir())
	defer sa.Close()
	writer, err := tables.OpenTask(ctx, sa, k, tables.TaskConfig{Topic: topic, Partition: 1, Epoch: 1, Incarnation: "a", Logger: tablesLog})
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	limits, _ := writer.Table("limits")
	other, _ := writer.Table("other")
	want := map[string]string{}
	for i := range 50 {
		key, v := fmt.Sprintf("acct%02d", i), fmt.Sprint(i*10)
		if err := limits.Set([]byte(key), []byte(v)); err != nil {
			t.Fatal(err)
		}
		want[key] = v
	}
	if err := other.Set([]byte("acct00"), []byte("not this table")); err != nil {
		t.Fatal(err)
	}
	src := topics.TopicPartition{Topic: "limits-src", Partition: 1}
	if err := writer.Commit(ctx, map[topics.TopicPartition]int64{src: 50}, nil); err != nil {
		t.Fatal(err)
	}
	limits.Delete([]byte("acct07"))
	delete(want, "acct07")
	if err := writer.Commit(ctx, map[topics.TopicPartition]int64{src: 51}, nil); err != nil {
		t.Fatal(err)
	}

	// Worker B follows the whole table.
	dirB := t.TempDir()
	sb := openStore(t, dirB)
	g, err := tables.OpenGlobal(sb, k, tables.GlobalConfig{ChangelogTopic: topic, Table: "limits", Logger: tablesLog})
	if err != nil {
		t.Fatal(err)
	}
	stop := runGlobal(ctx, t, g)
	if err := g.WaitCaughtUp(ctx); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := g.Get([]byte("acct03")); err != nil || !ok || string(v) != "30" {
		t.Fatalf("Get(acct03) = %q %v %v", v, ok, err)
	}
	if _, ok, _ := g.Get([]byte("acct07")); ok {
		t.Fatal("a deleted key is readable")
	}
	sameState(t, "global table", globalDump(t, g), want)
	if lag := g.Lag(); lag != 0 {
		t.Fatalf("lag %d after catching up", lag)
	}
	if applied := g.Applied(); len(applied) != 2 || applied[0] != 0 {
		t.Fatalf("applied = %v", applied)
	}
	// A write while B runs reaches it.
	limits.Set([]byte("acct99"), []byte("990"))
	want["acct99"] = "990"
	if err := writer.Commit(ctx, map[topics.TopicPartition]int64{src: 52}, nil); err != nil {
		t.Fatal(err)
	}
	if err := g.WaitCaughtUp(ctx); err != nil {
		t.Fatal(err)
	}
	sameState(t, "global table after a live write", globalDump(t, g), want)
	stop()
	restored := g.Metrics().RestoredRecords
	if err := sb.Close(); err != nil {
		t.Fatal(err)
	}

	// More writes while B is down; B restarts from its local dir: readable before it runs,
	// and it reads only the tail.
	limits.Set([]byte("acct00"), []byte("1"))
	limits.Set([]byte("acct98"), []byte("980"))
	want["acct00"], want["acct98"] = "1", "980"
	if err := writer.Commit(ctx, map[topics.TopicPartition]int64{src: 54}, nil); err != nil {
		t.Fatal(err)
	}
	sb = openStore(t, dirB)
	defer sb.Close()
	g, err = tables.OpenGlobal(sb, k, tables.GlobalConfig{ChangelogTopic: topic, Table: "limits", Logger: tablesLog})
	if err != nil {
		t.Fatal(err)
	}
	if v, ok, err := g.Get([]byte("acct99")); err != nil || !ok || string(v) != "990" {
		t.Fatalf("after restart, before Run: Get(acct99) = %q %v %v", v, ok, err)
	}
	stop = runGlobal(ctx, t, g)
	defer stop()
	if err := g.WaitCaughtUp(ctx); err != nil {
		t.Fatal(err)
	}
	sameState(t, "global table after a restart", globalDump(t, g), want)
	if tail := g.Metrics().RestoredRecords; tail != 2 {
		t.Fatalf("restart re-read %d records (first run %d), want the 2 of the tail", tail, restored)
	}
}
