// Command bench-assign times Weir's assignment algorithm on 10 000 tasks and 1 000 workers and
// the write of the result to the etcd in ETCD_ENDPOINTS.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/weirhq/weir/integration/bench"
)

func main() {
	cfg := bench.AssignConfig{}
	flag.StringVar(&cfg.Prefix, "prefix", fmt.Sprintf("/weir-bench/assign-%d", time.Now().UnixNano()), "etcd prefix to write under (deleted afterwards)")
	flag.IntVar(&cfg.Apps, "apps", 100, "apps")
	flag.IntVar(&cfg.Partitions, "partitions", 100, "partitions per app")
	flag.IntVar(&cfg.Workers, "workers", 1000, "workers")
	flag.IntVar(&cfg.Standbys, "standbys", 1, "standbys per task")
	flag.IntVar(&cfg.Concurrency, "concurrency", 1, "etcd transactions in flight")
	flag.Parse()
	endpoints := os.Getenv("ETCD_ENDPOINTS")
	if endpoints == "" {
		endpoints = "127.0.0.1:2379"
	}
	cfg.Etcd = strings.Split(endpoints, ",")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := bench.RunAssign(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench-assign:", err)
		os.Exit(1)
	}
}
