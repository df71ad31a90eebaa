// Package cli is the command line of Weir's web binary, kept out of package main so
// that tests can run it in-process.
package cli

import (
	"context"
	"io"

	"github.com/weirhq/weir/libs/service"
)

// Spec describes the web binary to service.Main.
var Spec = service.Spec{
	Name:          "web",
	Summary:       "Weir's web front end; it will serve the web UI and its HTTP API",
	DefaultListen: "127.0.0.1:7072",
	Later: "Not here yet: the web UI and its API arrive with the web issues. For now serve answers\n" +
		"health, readiness and GetInfo only.",
}

// Run runs the command line with args (without the program name) and returns the exit code.
func Run(args []string, stdout, stderr io.Writer) int {
	return RunContext(context.Background(), args, stdout, stderr)
}

// RunContext is Run with a context: serve stops when ctx is done.
func RunContext(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return service.Main(ctx, Spec, args, stdout, stderr)
}
