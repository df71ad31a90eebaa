// Package devcli is the command line of the weir-dev tool (deployments/local/devtool).
package devcli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os/signal"
	"syscall"
	"time"

	"github.com/weirhq/weir/libs/devstack"
)

const usage = `usage: weir-dev COMMAND [flags]

commands:
  etcd        run an etcd server in the foreground until SIGINT/SIGTERM
  wait-kafka  wait until a Kafka broker answers metadata requests
  wait-etcd   wait until an etcd server answers status requests
`

// Run executes one weir-dev command and returns the process exit code.
func Run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var err error
	switch args[0] {
	case "etcd":
		err = runEtcd(ctx, args[1:], stdout, stderr)
	case "wait-kafka":
		err = runWait(ctx, args[1:], stderr, "wait-kafka", devstack.WaitKafka)
	case "wait-etcd":
		err = runWait(ctx, args[1:], stderr, "wait-etcd", devstack.WaitEtcd)
	default:
		fmt.Fprintf(stderr, "weir-dev: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "weir-dev %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

func runEtcd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("etcd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg devstack.EtcdConfig
	fs.StringVar(&cfg.Dir, "data-dir", "", "data directory (required)")
	fs.StringVar(&cfg.Host, "host", "127.0.0.1", "listen host")
	fs.IntVar(&cfg.ClientPort, "client-port", 2379, "client port")
	fs.IntVar(&cfg.PeerPort, "peer-port", 2380, "peer port")
	fs.DurationVar(&cfg.CompactionRetention, "compaction-retention", time.Hour, "periodic auto-compaction retention")
	fs.StringVar(&cfg.LogLevel, "log-level", "error", "etcd log level")
	if err := fs.Parse(args); err != nil {
		return err
	}
	startCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	e, err := devstack.StartEtcd(startCtx, cfg)
	if err != nil {
		return err
	}
	defer e.Close()
	fmt.Fprintf(stdout, "etcd serving on %s (data %s)\n", e.Endpoint(), cfg.Dir)
	select {
	case <-ctx.Done():
		return nil
	case err := <-e.Err():
		return fmt.Errorf("etcd stopped: %w", err)
	}
}

func runWait(ctx context.Context, args []string, stderr io.Writer, name string, wait func(context.Context, string) error) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := fs.Duration("timeout", 90*time.Second, "how long to wait")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("want exactly one address (host:port), got %d", fs.NArg())
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	return wait(ctx, fs.Arg(0))
}
