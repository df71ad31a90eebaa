// Package cli is the command line of Weir's web binary, kept out of package main so
// that tests can run it in-process.
package cli

import (
	"context"
	"io"

	"github.com/weirhq/weir/libs/service"
	"github.com/weirhq/weir/services/web/node"
)

// Spec describes the web binary to service.Main.
var Spec = service.Spec{
	Name:          "web",
	Summary:       "Weir's web front end: the dashboard, the query API routed to the workers owning each key, and cluster health",
	DefaultListen: node.DefaultListen,
	ServeSummary:  serveSummary,
	Serve:         serve,
}

// Run runs the command line with args (without the program name) and returns the exit code.
func Run(args []string, stdout, stderr io.Writer) int {
	return RunContext(context.Background(), args, stdout, stderr)
}

// RunContext is Run with a context: serve stops when ctx is done.
func RunContext(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return service.Main(ctx, Spec, args, stdout, stderr)
}
