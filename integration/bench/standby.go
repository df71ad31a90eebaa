package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/weirhq/weir/libs/tables"
	"github.com/weirhq/weir/libs/topics"
)

// StandbyLagConfig sizes the standby-lag benchmark.
type StandbyLagConfig struct {
	Client   topics.ClientConfig
	Topic    string        // changelog topic, created (and deleted) by the benchmark; a unique name
	Rate     int           // table changes per second the active commits (records/s)
	Duration time.Duration // how long the steady load runs
	Keys     int           // key space the changes are spread over (16-byte keys, 8-byte values)
	Interval time.Duration // commit interval of the active (the worker's default: 100 ms)
	Dir      string        // scratch directory for the stores
	Logger   *slog.Logger
}

// RunStandbyLag runs an active task committing cfg.Rate changes per second in commits every
// cfg.Interval, and a standby (its own store) following the changelog, for cfg.Duration. The
// lag of one commit is the time from its append returning at the active until the standby
// has applied it; it prints standby_lag_p99_ms (and p50, max and the load achieved).
func RunStandbyLag(ctx context.Context, cfg StandbyLagConfig, out io.Writer) error {
	k, closeKafka, err := changelogKafka(ctx, cfg.Client, cfg.Topic, cfg.Logger)
	if err != nil {
		return err
	}
	defer closeKafka()

	task, tb, closeTask, err := openKVTask(ctx, cfg.Dir+"/active", k, cfg.Topic, "bench-standby-active", cfg.Logger)
	if err != nil {
		return err
	}
	defer closeTask()
	standbyStore, err := tables.Open(cfg.Dir+"/standby", tables.Options{Logger: cfg.Logger})
	if err != nil {
		return err
	}
	defer standbyStore.Close()
	sb, err := tables.OpenStandby(standbyStore, k, tables.StandbyConfig{Topic: cfg.Topic, Logger: cfg.Logger})
	if err != nil {
		return err
	}
	sctx, stopStandby := context.WithCancel(ctx)
	standbyDone := make(chan error, 1)
	go func() { standbyDone <- sb.Run(sctx) }()
	defer func() { stopStandby(); <-standbyDone }()

	// The watcher measures, for every commit, when the standby's applied offset passed its end.
	type commit struct {
		end int64
		at  time.Time
	}
	var (
		mu      sync.Mutex
		queue   []commit
		lags    []time.Duration
		watchWG sync.WaitGroup
	)
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	watchWG.Add(1)
	go func() {
		defer watchWG.Done()
		for {
			applied := sb.Applied()
			now := time.Now()
			mu.Lock()
			for len(queue) > 0 && queue[0].end <= applied {
				lags = append(lags, now.Sub(queue[0].at))
				queue = queue[1:]
			}
			pending := len(queue)
			mu.Unlock()
			if pending == 0 && wctx.Err() != nil {
				return
			}
			select {
			case <-time.After(time.Millisecond):
			case <-ctx.Done():
				return
			}
		}
	}()

	// Each commit carries the changes due by now (rate × elapsed), so a slow commit makes the
	// next one bigger rather than lowering the load; capped to stay under the batch limit.
	const maxPerCommit = 20_000
	key := make([]byte, 16)
	in := topics.TopicPartition{Topic: "bench-input"}
	start := time.Now()
	changes := 0
	for i := 0; time.Since(start) < cfg.Duration; i++ {
		if d := time.Until(start.Add(time.Duration(i) * cfg.Interval)); d > 0 {
			time.Sleep(d)
		}
		due := int(float64(cfg.Rate)*time.Since(start).Seconds()) - changes
		for range min(max(due, 1), maxPerCommit) {
			n := uint64(changes % cfg.Keys)
			binary.BigEndian.PutUint64(key, n*0x9E3779B97F4A7C15)
			binary.BigEndian.PutUint64(key[8:], n)
			if err := tb.Set(key, tables.EncodeInt64(int64(changes))); err != nil {
				return err
			}
			changes++
		}
		if err := task.Commit(ctx, map[topics.TopicPartition]int64{in: int64(changes)}, nil); err != nil {
			return err
		}
		mu.Lock()
		queue = append(queue, commit{end: task.EndOffset(), at: time.Now()})
		mu.Unlock()
	}
	elapsed := time.Since(start)
	stopWatch()
	waitDone := make(chan struct{})
	go func() { watchWG.Wait(); close(waitDone) }()
	select {
	case <-waitDone:
	case <-time.After(time.Minute):
		return fmt.Errorf("the standby did not catch up within a minute after the load (lag %d)", sb.Lag())
	}
	if len(lags) == 0 {
		return fmt.Errorf("no commit was measured")
	}
	slices.Sort(lags)
	pct := func(p float64) float64 {
		return float64(lags[min(len(lags)-1, int(p*float64(len(lags))))].Microseconds()) / 1000
	}
	fmt.Fprintf(out, "standby_load_rps=%.0f records/s (target %d, commits every %s)\n", float64(changes)/elapsed.Seconds(), cfg.Rate, cfg.Interval)
	fmt.Fprintf(out, "standby_lag_p50_ms=%.1f standby_lag_max_ms=%.1f (%d commits)\n", pct(0.5), float64(lags[len(lags)-1].Microseconds())/1000, len(lags))
	fmt.Fprintf(out, "standby_lag_p99_ms=%.1f\n", pct(0.99))
	return nil
}
