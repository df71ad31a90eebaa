// Package cli is the command line of Weir's controller binary, kept out of package main so
// that tests can run it in-process.
package cli

import (
	"context"
	"io"

	"github.com/weirhq/weir/libs/service"
	"github.com/weirhq/weir/services/controller/appcmd"
)

// Spec describes the controller binary to service.Main.
var Spec = service.Spec{
	Name:          "controller",
	Summary:       "Weir's control plane; it will validate, plan and apply apps and assign their partitions to workers",
	DefaultListen: "127.0.0.1:7070",
	Later: "Not here yet: plan, apply and the other commands that talk to a running controller arrive\n" +
		"with the controller issue; validate and fmt work offline today. serve answers health,\n" +
		"readiness and GetInfo only.",
	Commands: []service.Command{
		{Name: "validate", Summary: appcmd.ValidateSummary, Run: appcmd.Validate},
		{Name: "fmt", Summary: appcmd.FmtSummary, Run: appcmd.Fmt},
	},
}

// Run runs the command line with args (without the program name) and returns the exit code.
func Run(args []string, stdout, stderr io.Writer) int {
	return RunContext(context.Background(), args, stdout, stderr)
}

// RunContext is Run with a context: serve stops when ctx is done.
func RunContext(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return service.Main(ctx, Spec, args, stdout, stderr)
}
