//go:build integration

package integration

import (
	"context"
	"errors"
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

// limitDecode stores a source record's key and value as they are; a null value deletes and
// a value "bad" does not decode.
func limitDecode(rec *topics.Record) ([]byte, []byte, bool, error) {
	if string(rec.Value) == "bad" {
		return nil, nil, false, errors.New("not a limit")
	}
	return rec.Key, rec.Value, rec.Value == nil, nil
}

// TestGlobalTable: a global table fed by a source topic whose records sit on one partition
// is readable through OpenGlobal on a worker that follows every partition; a record that
// does not decode is skipped; after a restart from the local dir only the tail is read, and
// from an empty dir the whole table is rebuilt.
func TestGlobalTable(t *testing.T) {
	ctx := harness.Context(t, 3*time.Minute)
	topic := harness.Topic(t, topics.TopicSpec{Name: "glimits", Partitions: 2, Cleanup: topics.CleanupCompact})
	k := tablesKafka(t)
	p := newProducer(t)
	put := func(key, value string) topics.Record {
		r := topics.Record{Topic: topic, Partition: 1, PinPartition: true, Key: []byte(key)}
		if value != "" {
			r.Value = []byte(value)
		}
		return r
	}
	cfg := tables.GlobalConfig{SourceTopic: topic, Table: "limits", Scope: "app", Decode: limitDecode, Logger: tablesLog}
	want := map[string]string{}
	var recs []topics.Record
	for i := range 50 {
		key, v := fmt.Sprintf("acct%02d", i), fmt.Sprint(i*10)
		recs = append(recs, put(key, v))
		want[key] = v
	}
	recs = append(recs, put("acct07", ""), put("acct08", "bad"))
	delete(want, "acct07")
	send(t, ctx, p, recs...)

	dir := t.TempDir()
	s := openStore(t, dir)
	g, err := tables.OpenGlobal(s, k, cfg)
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
	if applied := g.Applied(); len(applied) != 2 || applied[0] != 0 || applied[1] != 52 {
		t.Fatalf("applied = %v, want partition 0 at 0 and 1 at 52", applied)
	}
	if m := g.Metrics(); m.DecodeErrors != 1 {
		t.Fatalf("decode errors = %d, want 1", m.DecodeErrors)
	}
	// A write while it runs reaches it.
	send(t, ctx, p, put("acct99", "990"))
	want["acct99"] = "990"
	if err := g.WaitCaughtUp(ctx); err != nil {
		t.Fatal(err)
	}
	sameState(t, "global table after a live write", globalDump(t, g), want)
	stop()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// More writes while it is down; a restart from the local dir is readable before it
	// runs and reads only the tail.
	send(t, ctx, p, put("acct00", "1"), put("acct98", "980"))
	want["acct00"], want["acct98"] = "1", "980"
	s = openStore(t, dir)
	defer s.Close()
	g, err = tables.OpenGlobal(s, k, cfg)
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
		t.Fatalf("restart re-read %d records, want the 2 of the tail", tail)
	}

	// An empty dir rebuilds the whole table from the topic.
	s2 := openStore(t, t.TempDir())
	defer s2.Close()
	g2, err := tables.OpenGlobal(s2, k, cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop2 := runGlobal(ctx, t, g2)
	defer stop2()
	if err := g2.WaitCaughtUp(ctx); err != nil {
		t.Fatal(err)
	}
	sameState(t, "global table rebuilt from the topic", globalDump(t, g2), want)
}
