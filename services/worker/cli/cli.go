// Package cli is the command line of Weir's worker binary, kept out of package main so
// that tests can run it in-process.
package cli

import (
	"context"
	"io"

	"github.com/weirhq/weir/libs/service"
)

// Spec describes the worker binary to service.Main.
var Spec = service.Spec{
	Name:          "worker",
	Summary:       "runs Weir apps; it will run their agents and tables on the partitions the controller assigns",
	DefaultListen: "127.0.0.1:7071",
	Later: "Not here yet: running agents and tables on assigned partitions arrives with the worker\n" +
		"issues. For now serve answers health, readiness and GetInfo only.",
}

// Run runs the command line with args (without the program name) and returns the exit code.
func Run(args []string, stdout, stderr io.Writer) int {
	return RunContext(context.Background(), args, stdout, stderr)
}

// RunContext is Run with a context: serve stops when ctx is done.
func RunContext(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return service.Main(ctx, Spec, args, stdout, stderr)
}
