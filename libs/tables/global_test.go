package tables

import (
	"errors"
	"strings"
	"testing"

	"github.com/weirhq/weir/libs/topics"
)

// decodeTest decodes "k=v" values; "del" deletes the record's key, "bad" fails and "boom"
// panics.
func decodeTest(rec *topics.Record) ([]byte, []byte, bool, error) {
	switch string(rec.Value) {
	case "del":
		return rec.Key, nil, true, nil
	case "bad":
		return nil, nil, false, errors.New("not a limit")
	case "boom":
		panic("decoder bug")
	}
	return rec.Key, rec.Value, false, nil
}

func openTestGlobal(t *testing.T, s *Store, scope string) *Global {
	t.Helper()
	g, err := OpenGlobal(s, testKafka(t, nil), GlobalConfig{SourceTopic: "limits", Table: "limits", Scope: scope, Decode: decodeTest, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func srcBatch(p int32, from int64, kvs ...string) topics.Batch {
	b := topics.Batch{TopicPartition: topics.TopicPartition{Topic: "limits", Partition: p}, HighWatermark: from + int64(len(kvs)/2)}
	for i := 0; i+1 < len(kvs); i += 2 {
		b.Records = append(b.Records, topics.Record{Topic: "limits", Partition: p, Offset: from + int64(i/2), Key: []byte(kvs[i]), Value: []byte(kvs[i+1])})
	}
	return b
}

func globalState(t *testing.T, g *Global) map[string]string {
	t.Helper()
	out := map[string]string{}
	if err := g.Scan(nil, func(k, v []byte) bool { out[string(k)] = string(v); return true }); err != nil {
		t.Fatal(err)
	}
	return out
}

// followFrom makes g follow partitions from the given offsets, as Run's assignNew would.
func followFrom(t *testing.T, g *Global, ends map[int32]topics.OffsetRange) {
	t.Helper()
	for p, r := range ends {
		next, err := g.startOffset(p, r)
		if err != nil {
			t.Fatal(err)
		}
		g.parts[p] = &globalPart{following: true, applied: next, hw: r.End}
	}
}

// TestGlobalApply: source records become entries, tombstones delete, records that fail to
// decode (or panic) are counted and skipped without stopping; redelivered records are not
// applied twice; the copy and its offsets survive a reopen, which resumes from them; an
// offset outside the log rebuilds the partition.
func TestGlobalApply(t *testing.T) {
	s := openStore(t)
	g := openTestGlobal(t, s, "app1")
	followFrom(t, g, map[int32]topics.OffsetRange{0: {Start: 0, End: 0}, 1: {Start: 0, End: 0}})
	must(t, g.applyBatch(srcBatch(0, 0, "a", "1", "b", "2", "c", "bad", "d", "boom")))
	must(t, g.applyBatch(srcBatch(1, 0, "x", "9")))
	must(t, g.applyBatch(srcBatch(0, 4, "b", "del", "a", "3")))
	must(t, g.applyBatch(srcBatch(0, 4, "b", "del", "a", "3", "e", "5"))) // the first two again
	want := map[string]string{"a": "3", "e": "5", "x": "9"}
	if got := globalState(t, g); !equalMaps(got, want) {
		t.Fatalf("state = %v, want %v", got, want)
	}
	if v, ok, err := g.Get([]byte("a")); err != nil || !ok || string(v) != "3" {
		t.Fatalf("Get(a) = %q %v %v", v, ok, err)
	}
	if _, ok, _ := g.Get([]byte("b")); ok {
		t.Fatal("a deleted key is readable")
	}
	if m := g.Metrics(); m.DecodeErrors != 2 || m.RestoredRecords != 6 {
		t.Fatalf("metrics: decode errors %d, applied %d; want 2 and 6", m.DecodeErrors, m.RestoredRecords)
	}
	if a := g.Applied(); a[0] != 7 || a[1] != 1 {
		t.Fatalf("applied = %v, want partition 0 at 7 and 1 at 1", a)
	}
	if lag := g.Lag(); lag != 0 {
		t.Fatalf("lag = %d", lag)
	}

	// Another app's table of the same name and topic is a separate copy.
	other := openTestGlobal(t, s, "app2")
	if got := globalState(t, other); len(got) != 0 {
		t.Fatalf("another scope sees %v", got)
	}

	// Reopened: readable before following, and it resumes at the saved offsets.
	g = openTestGlobal(t, s, "app1")
	if got := globalState(t, g); !equalMaps(got, want) {
		t.Fatalf("after reopening: state = %v, want %v", got, want)
	}
	if next, err := g.startOffset(0, topics.OffsetRange{Start: 0, End: 9}); err != nil || next != 7 {
		t.Fatalf("resume offset of partition 0 = %d %v, want 7", next, err)
	}
	// The log of partition 1 is shorter than the copy (the topic was recreated): rebuilt.
	if next, err := g.startOffset(1, topics.OffsetRange{Start: 0, End: 0}); err != nil || next != 0 {
		t.Fatalf("resume offset of a recreated partition = %d %v, want 0", next, err)
	}
	if _, ok, _ := g.Get([]byte("x")); ok {
		t.Fatal("the dropped partition's entry is still readable")
	}
}

// TestGlobalTick: a caught-up partition whose end lies past its last record (compaction,
// transaction markers) saves the consumer's position, so lag reaches zero.
func TestGlobalTick(t *testing.T) {
	s := openStore(t)
	g := openTestGlobal(t, s, "")
	followFrom(t, g, map[int32]topics.OffsetRange{0: {Start: 0, End: 5}})
	must(t, g.applyBatch(srcBatch(0, 0, "a", "1")))
	g.parts[0].hw = 5
	if lag := g.Lag(); lag != 4 {
		t.Fatalf("lag = %d, want 4", lag)
	}
	must(t, g.tick([]topics.Assignment{{TopicPartition: topics.TopicPartition{Topic: "limits"}, Position: 5, HighWatermark: 5}}))
	if lag := g.Lag(); lag != 0 {
		t.Fatalf("lag after a quiet tick = %d, want 0", lag)
	}
	g = openTestGlobal(t, s, "")
	if next, err := g.startOffset(0, topics.OffsetRange{Start: 0, End: 5}); err != nil || next != 5 {
		t.Fatalf("resume offset = %d %v, want 5", next, err)
	}
}

func TestOpenGlobalReportsAllErrors(t *testing.T) {
	_, err := OpenGlobal(nil, Kafka{}, GlobalConfig{SourceTopic: "bad topic", Table: "", Scope: "a~b"})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"no store", "no decode function", "scope", "bad topic", "table name"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
