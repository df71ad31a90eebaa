// Package cli is the command line of Weir's controller binary, kept out of package main so
// that tests can run it in-process.
package cli

import (
	"context"
	"io"

	"github.com/weirhq/weir/libs/service"
	"github.com/weirhq/weir/services/controller/appcmd"
	"github.com/weirhq/weir/services/controller/records"
	"github.com/weirhq/weir/services/controller/remote"
	"github.com/weirhq/weir/services/controller/testcmd"
)

// Spec describes the controller binary to service.Main.
var Spec = service.Spec{
	Name:          "controller",
	Summary:       "Weir's control plane: validates, plans and applies apps, stores their versions in etcd and provisions their topics",
	DefaultListen: "127.0.0.1:7070",
	ServeSummary:  serveSummary,
	Serve:         serve,
	Later: "plan, apply, get, describe, history, rollback, reset and delete talk to a controller\n" +
		"(--controller or WEIR_CONTROLLER, default " + remote.DefaultController + "); send and tail talk to Kafka;\n" +
		"validate and fmt work offline. Every command takes --output json.",
	Commands: []service.Command{
		{Name: "validate", Summary: appcmd.ValidateSummary, Run: appcmd.Validate},
		{Name: "fmt", Summary: appcmd.FmtSummary, Run: appcmd.Fmt},
		{Name: "plan", Summary: remote.PlanSummary, Run: remote.Plan},
		{Name: "apply", Summary: remote.ApplySummary, Run: remote.Apply},
		{Name: "get", Summary: remote.GetSummary, Run: remote.Get},
		{Name: "describe", Summary: remote.DescribeSummary, Run: remote.Describe},
		{Name: "history", Summary: remote.HistorySummary, Run: remote.History},
		{Name: "rollback", Summary: remote.RollbackSummary, Run: remote.Rollback},
		{Name: "reset", Summary: remote.ResetSummary, Run: remote.Reset},
		{Name: "delete", Summary: remote.DeleteSummary, Run: remote.Delete},
		{Name: "send", Summary: records.SendSummary, Run: records.Send},
		{Name: "tail", Summary: records.TailSummary, Run: records.Tail},
		{Name: "test", Summary: testcmd.Summary, Run: testcmd.Run},
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
