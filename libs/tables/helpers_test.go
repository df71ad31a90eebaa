package tables

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"

	"github.com/weirhq/weir/libs/topics"
)

// memLog is an in-memory changelog partition: an Appender for unit tests.
type memLog struct {
	mu      sync.Mutex
	records []topics.Record
	batches [][]topics.Record
	fail    error // returned (once) by the next append, which then does not land
}

func (l *memLog) AppendBatch(_ context.Context, topic string, partition int32, recs []topics.Record) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.fail; err != nil {
		l.fail = nil
		return -1, err
	}
	base := l.endLocked()
	var batch []topics.Record
	for i, r := range recs {
		r.Topic, r.Partition, r.Offset, r.BatchOffset = topic, partition, base+int64(i), base
		l.records = append(l.records, r)
		batch = append(batch, r)
	}
	l.batches = append(l.batches, batch)
	return base, nil
}

// endLocked is the offset the next append lands at (compaction leaves gaps in records).
func (l *memLog) endLocked() int64 {
	if len(l.records) == 0 {
		return 0
	}
	return l.records[len(l.records)-1].Offset + 1
}

// offsets and restoreRange make memLog a changelogReader: a Task restores from it.
func (l *memLog) offsets(context.Context, topics.TopicPartition) (topics.OffsetRange, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return topics.OffsetRange{Start: 0, End: l.endLocked()}, nil
}

func (l *memLog) restoreRange(_ context.Context, _ topics.TopicPartition, from, to int64, fn func(*topics.Record) error) error {
	l.mu.Lock()
	recs := slices.Clone(l.records)
	l.mu.Unlock()
	for i := range recs {
		if recs[i].Offset >= from && recs[i].Offset < to {
			if err := fn(&recs[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

func (l *memLog) lastBatch() []topics.Record {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.batches) == 0 {
		return nil
	}
	return l.batches[len(l.batches)-1]
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func openStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.TempDir(), Options{CacheBytes: 8 << 20, MemtableBytes: 4 << 20, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func testKafka(t *testing.T, app Appender) Kafka {
	t.Helper()
	cc := topics.ClientConfig{Brokers: []string{"127.0.0.1:1"}}
	admin, err := topics.NewAdmin(cc)
	if err != nil {
		t.Fatal(err)
	}
	return Kafka{Producer: app, Admin: admin, Consumer: topics.ConsumerConfig{ClientConfig: cc}}
}

// activeTask returns a task made active without Kafka (as if Start had restored an empty log).
func activeTask(t *testing.T, s *Store, log *memLog, cfg TaskConfig) *Task {
	t.Helper()
	if cfg.Topic == "" {
		cfg.Topic = "app-changelog"
	}
	if cfg.Epoch == 0 {
		cfg.Epoch = 7
	}
	if cfg.Incarnation == "" {
		cfg.Incarnation = "inc-1"
	}
	cfg.Logger = quiet
	task, err := NewTask(s, testKafka(t, log), cfg)
	if err != nil {
		t.Fatal(err)
	}
	task.phase = PhaseActive
	task.positions, task.dedup = map[topics.TopicPartition]int64{}, map[string]int64{}
	return task
}

func table(t *testing.T, task *Task, name string) Table {
	t.Helper()
	tb, err := task.Table(name)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func mustGet(t *testing.T, tb Table, key string) (string, bool) {
	t.Helper()
	v, ok, err := tb.Get([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	return string(v), ok
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error = %v, want %v", err, target)
	}
}
