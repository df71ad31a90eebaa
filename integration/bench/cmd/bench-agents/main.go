// Command bench-agents measures agent throughput against the broker in KAFKA_BROKERS and the
// etcd in ETCD_ENDPOINTS: a raw consume → JSON → filter/map → produce loop, a stateless HCL
// agent and a count-by-key HCL agent on one worker process.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/weirhq/weir/integration/bench"
	"github.com/weirhq/weir/libs/topics"
)

func main() {
	cfg := bench.AgentsConfig{}
	flag.IntVar(&cfg.Records, "records", 1_000_000, "input records (about 100-byte JSON values)")
	flag.IntVar(&cfg.Runs, "runs", 3, "runs per variant; the median is printed")
	flag.StringVar(&cfg.WorkerBin, "worker", "", "services/worker binary (built into a temporary directory when empty)")
	flag.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write a CPU profile of the raw loop's runs to this file")
	flag.StringVar(&cfg.LogDir, "logs", "", "write the controller's and the worker's logs (controller.log, worker.log) into this directory")
	only := flag.String("only", "", "comma-separated variants to run (raw, stateless, stateful; default all), e.g. to profile one")
	flag.Parse()
	if *only != "" {
		cfg.Only = strings.Split(*only, ",")
		for _, v := range cfg.Only {
			if v != "raw" && v != "stateless" && v != "stateful" {
				fmt.Fprintf(os.Stderr, "bench-agents: -only: unknown variant %q (want raw, stateless or stateful)\n", v)
				os.Exit(2)
			}
		}
	}
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench-agents:", err)
		os.Exit(1)
	}
}

func run(cfg bench.AgentsConfig) error {
	cfg.Client = topics.ClientConfig{Brokers: topics.ParseBrokers(os.Getenv("KAFKA_BROKERS")), ClientID: "weir-bench"}
	cfg.EtcdEndpoints = topics.ParseBrokers(os.Getenv("ETCD_ENDPOINTS"))
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	cfg.ID = strconv.FormatInt(time.Now().UnixNano()%1_000_000_000, 36)
	dir, err := os.MkdirTemp("", "weir-bench-agents-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg.Dir = dir
	if cfg.WorkerBin == "" {
		cfg.WorkerBin = filepath.Join(dir, "worker")
		build := exec.Command("go", "build", "-o", cfg.WorkerBin, "./services/worker")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("building the worker: %w", err)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Minute)
	defer cancel()
	return bench.RunAgents(ctx, cfg, os.Stdout)
}
