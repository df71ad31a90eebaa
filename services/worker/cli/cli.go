// Package cli is the command line of Weir's worker binary, kept out of package main so that
// tests can run it in-process and so that a user's own worker binary, with Go handlers
// compiled in, can reuse it: see Main.
package cli

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/weirhq/weir/libs/agents"
	"github.com/weirhq/weir/libs/service"
	"github.com/weirhq/weir/services/worker/node"
)

// spec describes the worker binary to service.Main; handlers are the Go handlers compiled in.
func spec(handlers agents.Handlers) service.Spec {
	return service.Spec{
		Name:          "worker",
		Summary:       "runs the agents and tables of Weir apps on the partitions the controller assigns",
		DefaultListen: node.DefaultListen,
		ServeSummary:  "run a worker: register in etcd, run assigned tasks, serve health and metrics on --listen (default " + node.DefaultListen + ")",
		Serve: func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
			return serve(ctx, handlers, args, stdout, stderr)
		},
	}
}

// Spec describes the stock worker binary (no Go handlers).
var Spec = spec(nil)

// Run runs the command line with args (without the program name) and returns the exit code.
func Run(args []string, stdout, stderr io.Writer) int {
	return RunContext(context.Background(), args, stdout, stderr)
}

// RunContext is Run with a context: serve stops when ctx is done.
func RunContext(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return service.Main(ctx, Spec, args, stdout, stderr)
}

// Main is the entry point of a user's own worker binary: it runs the worker command line
// with the given Go handlers compiled in, and exits.
//
//	func main() {
//		cli.Main(agents.Handlers{"score_payment": scorePayment})
//	}
func Main(handlers agents.Handlers) {
	os.Exit(service.Main(context.Background(), spec(handlers), os.Args[1:], os.Stdout, os.Stderr))
}

func serve(ctx context.Context, handlers agents.Handlers, args []string, stdout, stderr io.Writer) int {
	return service.RunServe(ctx, service.ServeCommand[node.Config]{
		Name:     "worker",
		Register: func(fs *flag.FlagSet) service.ServeFlags[node.Config] { return node.RegisterFlags(fs) },
		Print: func(w io.Writer, cfg node.Config) {
			cfg.Service.Print(w)
			node.PrintWorkerSettings(w, cfg)
		},
		Logger: func(cfg node.Config, w io.Writer) *slog.Logger { return cfg.Service.LoggerTo(w) },
		Run: func(ctx context.Context, cfg node.Config, log *slog.Logger) error {
			// A second signal exits at once instead of waiting for the drain.
			go func() {
				<-ctx.Done()
				again := make(chan os.Signal, 1)
				signal.Notify(again, os.Interrupt, syscall.SIGTERM)
				<-again
				log.Warn("second signal: exiting without finishing the drain")
				os.Exit(service.ExitError)
			}()
			return node.Run(ctx, cfg, handlers, log)
		},
	}, args, stdout, stderr)
}
