// Command bench-restore measures restoring a 1M-key table from its changelog against the
// broker in KAFKA_BROKERS, then the lag of a standby following an active under steady load.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"time"

	"github.com/weirhq/weir/integration/bench"
	"github.com/weirhq/weir/libs/topics"
)

func main() {
	cfg := bench.RestoreConfig{}
	flag.StringVar(&cfg.Topic, "topic", fmt.Sprintf("bench-restore-%d", time.Now().UnixNano()), "changelog topic to create and use")
	flag.IntVar(&cfg.Keys, "keys", 1_000_000, "distinct keys (16-byte keys, 8-byte values)")
	flag.IntVar(&cfg.PerCommit, "per-commit", 10_000, "keys per commit")
	flag.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write a CPU profile of the restore phase to this file")
	lag := bench.StandbyLagConfig{}
	// Half the stateful rate bench-agents measures on this machine (docs/benchmarks.md).
	flag.IntVar(&lag.Rate, "standby-rate", 110_000, "table changes per second of the standby-lag load (half the stateful rate make bench-agents measures: ≈217k records/s on 2026-11-27)")
	flag.DurationVar(&lag.Duration, "standby-duration", 20*time.Second, "how long the standby-lag load runs (0: skip)")
	flag.Parse()
	lag.Topic = cfg.Topic + "-standby"
	lag.Keys, lag.Interval = 100_000, 100*time.Millisecond
	if err := run(cfg, lag); err != nil {
		fmt.Fprintln(os.Stderr, "bench-restore:", err)
		os.Exit(1)
	}
}

func run(cfg bench.RestoreConfig, lag bench.StandbyLagConfig) error {
	cfg.Client = topics.ClientConfig{Brokers: topics.ParseBrokers(os.Getenv("KAFKA_BROKERS")), ClientID: "weir-bench"}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	dir, err := os.MkdirTemp("", "weir-bench-restore-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg.Dir = dir
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	if err := bench.RunRestore(ctx, cfg, os.Stdout); err != nil {
		return err
	}
	if lag.Duration <= 0 {
		return nil
	}
	lag.Client, lag.Logger, lag.Dir = cfg.Client, cfg.Logger, dir
	return bench.RunStandbyLag(ctx, lag, os.Stdout)
}
