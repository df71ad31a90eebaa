package bench

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/weirhq/weir/libs/tables"
	"github.com/weirhq/weir/libs/topics"
)

// RestoreConfig sizes the restore benchmark.
type RestoreConfig struct {
	Client    topics.ClientConfig
	Topic     string // changelog topic, created (and deleted) by the benchmark; a unique name
	Keys      int    // distinct keys (16-byte keys, 8-byte values)
	PerCommit int    // keys per commit
	Dir       string // scratch directory for the stores
	Logger    *slog.Logger
	// CPUProfile, when set, is where a CPU profile of the restore phase is written.
	CPUProfile string
}

// RunRestore fills a changelog with cfg.Keys keys through commits of cfg.PerCommit keys, then
// restores it into an empty store with the default configuration and prints restore_rps and
// rss_mb (the peak RSS of the restore: VmHWM, reset after the fill).
func RunRestore(ctx context.Context, cfg RestoreConfig, out io.Writer) error {
	k, closeKafka, err := changelogKafka(ctx, cfg.Client, cfg.Topic, cfg.Logger)
	if err != nil {
		return err
	}
	defer closeKafka()

	fillStart := time.Now()
	if err := fill(ctx, cfg, k); err != nil {
		return fmt.Errorf("filling the changelog: %w", err)
	}
	fmt.Fprintf(out, "fill_rps=%.0f records/s\n", float64(cfg.Keys)/time.Since(fillStart).Seconds())

	runtime.GC()
	debug.FreeOSMemory()
	resetPeakRSS := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil

	store, err := tables.Open(cfg.Dir+"/restore", tables.Options{Logger: cfg.Logger})
	if err != nil {
		return err
	}
	defer store.Close()
	if cfg.CPUProfile != "" {
		f, err := os.Create(cfg.CPUProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	task, err := tables.OpenTask(ctx, store, k, tables.TaskConfig{Topic: cfg.Topic, Epoch: 2, Incarnation: "bench-restore",
		MaxBatchBytes: maxBatch, Logger: cfg.Logger})
	if err != nil {
		return fmt.Errorf("restoring: %w", err)
	}
	took := time.Since(start)
	restored := task.Metrics().RestoredRecords
	if restored != int64(cfg.Keys) {
		return fmt.Errorf("restored %d records, want %d", restored, cfg.Keys)
	}
	fmt.Fprintf(out, "restore_rps=%.0f records/s\n", float64(restored)/took.Seconds())
	hwm, err := peakRSS()
	if err != nil {
		return err
	}
	note := ""
	if !resetPeakRSS {
		note = " (peak of the whole run: VmHWM could not be reset after the fill)"
	}
	fmt.Fprintf(out, "rss_mb=%.0f MB%s\n", hwm, note)
	return nil
}

// openKVTask opens a store in dir and the active task (epoch 1) of changelog topic's
// partition 0 on it, with its table "kv"; closeTask closes both.
func openKVTask(ctx context.Context, dir string, k tables.Kafka, topic, incarnation string, log *slog.Logger) (task *tables.Task, tb tables.Table, closeTask func(), err error) {
	store, err := tables.Open(dir, tables.Options{Logger: log})
	if err != nil {
		return nil, tables.Table{}, nil, err
	}
	task, err = tables.OpenTask(ctx, store, k, tables.TaskConfig{Topic: topic, Epoch: 1, Incarnation: incarnation,
		MaxBatchBytes: maxBatch, Logger: log})
	if err == nil {
		tb, err = task.Table("kv")
		if err != nil {
			task.Close()
		}
	}
	if err != nil {
		store.Close()
		return nil, tables.Table{}, nil, err
	}
	return task, tb, func() { task.Close(); store.Close() }, nil
}

func fill(ctx context.Context, cfg RestoreConfig, k tables.Kafka) error {
	task, tb, closeTask, err := openKVTask(ctx, cfg.Dir+"/fill", k, cfg.Topic, "bench-fill", cfg.Logger)
	if err != nil {
		return err
	}
	defer closeTask()
	key := make([]byte, 16)
	in := topics.TopicPartition{Topic: "bench-input"}
	for i := range cfg.Keys {
		binary.BigEndian.PutUint64(key, uint64(i)*0x9E3779B97F4A7C15) // spread keys
		binary.BigEndian.PutUint64(key[8:], uint64(i))
		if err := tb.Set(key, tables.EncodeInt64(int64(i))); err != nil {
			return err
		}
		if (i+1)%cfg.PerCommit == 0 || i+1 == cfg.Keys {
			if err := task.Commit(ctx, map[topics.TopicPartition]int64{in: int64(i + 1)}, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// peakRSS returns VmHWM in MB.
func peakRSS() (float64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("reading peak RSS: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			if err != nil {
				return 0, fmt.Errorf("reading peak RSS: %w", err)
			}
			return kb / 1024, nil
		}
	}
	return 0, fmt.Errorf("reading peak RSS: no VmHWM in /proc/self/status")
}

// maxBatch is the benchmark changelogs' max.message.bytes and the tasks' MaxBatchBytes.
const maxBatch = 4 << 20

// changelogKafka creates the benchmark's one-partition changelog topic and returns the
// tables' Kafka clients for it; closeKafka closes them and deletes the topic.
func changelogKafka(ctx context.Context, client topics.ClientConfig, topic string, logger *slog.Logger) (k tables.Kafka, closeKafka func(), err error) {
	admin, err := topics.NewAdmin(client)
	if err != nil {
		return tables.Kafka{}, nil, err
	}
	spec := topics.TopicSpec{Name: topic, Partitions: 1, Cleanup: topics.CleanupCompact, MaxMessageBytes: maxBatch,
		Configs: map[string]string{"message.timestamp.type": "LogAppendTime"}}
	if _, err := admin.EnsureTopics(ctx, spec); err != nil {
		return tables.Kafka{}, nil, err
	}
	prod, err := topics.NewProducer(topics.ProducerConfig{ClientConfig: client})
	if err != nil {
		admin.DeleteTopics(context.Background(), topic)
		return tables.Kafka{}, nil, err
	}
	closeKafka = func() {
		prod.Close()
		admin.DeleteTopics(context.Background(), topic)
	}
	return tables.Kafka{Producer: prod, Admin: admin, Consumer: topics.ConsumerConfig{ClientConfig: client, Logger: logger}}, closeKafka, nil
}
