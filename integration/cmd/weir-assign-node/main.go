// Command weir-assign-node is a test-only process for the assignment integration tests: a
// controller (assigner.Serve) or a worker (membership.Run) with a trivial task body that logs,
// as JSON lines on stdout, every action it takes with the time it decided to act. SIGTERM or
// SIGINT stops it gracefully (a worker drains).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/services/controller/assigner"
	"github.com/weirhq/weir/services/worker/membership"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "weir-assign-node:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("weir-assign-node", flag.ContinueOnError)
	var (
		mode      = fs.String("mode", "", "controller or worker")
		endpoints = fs.String("etcd", "127.0.0.1:2379", "etcd endpoints, comma-separated")
		prefix    = fs.String("prefix", cluster.DefaultPrefix, "etcd key prefix")
		id        = fs.String("id", "", "controller or worker id")
	)
	wcfg := membership.Defaults()
	ccfg := assigner.Defaults()
	fs.IntVar(&wcfg.Capacity, "capacity", wcfg.Capacity, "worker capacity")
	fs.StringVar(&wcfg.Zone, "zone", "", "worker zone")
	fs.StringVar(&wcfg.Version, "version", "test", "worker version")
	fs.DurationVar(&wcfg.LeaseTTL, "ttl", wcfg.LeaseTTL, "worker lease TTL")
	fs.DurationVar(&wcfg.LeaseMargin, "margin", wcfg.LeaseMargin, "worker lease deadline margin")
	fs.DurationVar(&wcfg.StatusInterval, "status-interval", wcfg.StatusInterval, "least time between status writes")
	fs.DurationVar(&wcfg.DrainTimeout, "drain-timeout", wcfg.DrainTimeout, "graceful stop bound")
	fs.DurationVar(&ccfg.Grace, "grace", ccfg.Grace, "grace after a worker's lease ended")
	fs.DurationVar(&ccfg.ProduceTimeout, "produce-timeout", ccfg.ProduceTimeout, "produce timeout (grace must exceed it)")
	fs.DurationVar(&ccfg.HandoffTimeout, "handoff-timeout", ccfg.HandoffTimeout, "handoff timeout")
	fs.DurationVar(&ccfg.ElectionTTL, "election-ttl", ccfg.ElectionTTL, "controller election session TTL")
	fs.Int64Var(&ccfg.AcceptableLag, "acceptable-lag", ccfg.AcceptableLag, "acceptable recovery lag")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cli, err := clientv3.New(clientv3.Config{Endpoints: strings.Split(*endpoints, ","), DialTimeout: 5 * time.Second, Logger: nil})
	if err != nil {
		return fmt.Errorf("connecting to etcd: %w", err)
	}
	defer cli.Close()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	layout := cluster.Layout{Prefix: *prefix}
	switch *mode {
	case "controller":
		ccfg.ID, ccfg.Layout, ccfg.Logger = *id, layout, log
		return assigner.Serve(ctx, cli, ccfg)
	case "worker":
		wcfg.ID, wcfg.Addr, wcfg.Layout, wcfg.Logger = *id, "127.0.0.1:0", layout, log
		return membership.Run(ctx, cli, wcfg, &recorder{log: log})
	}
	return errors.New("-mode must be controller or worker")
}
