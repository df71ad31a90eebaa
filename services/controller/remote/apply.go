package remote

import (
	"context"
	"fmt"
	"io"

	"connectrpc.com/connect"

	weirv1 "github.com/weirhq/weir/gen/weir/v1"
	"github.com/weirhq/weir/gen/weir/v1/weirv1connect"
)

// ApplySummary is apply's line in the controller's usage.
const ApplySummary = "provision an app's topics and store it as a new version (--reset-state for state-breaking changes)"

// Apply runs `controller apply FILE...`.
func Apply(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := newCommand("apply", "apply [flags] FILE...", stdout, stderr)
	var sf sourceFlags
	sf.register(cmd.fs)
	reset := cmd.fs.Bool("reset-state", false, "allow state-breaking changes: wipe the app's state and rebuild it")
	who := cmd.fs.String("author", author(), "who applies (recorded with the version)")
	files, code, ok := cmd.parse(args, 1, -1)
	if !ok {
		return code
	}
	src, err := sf.read(files)
	if err != nil {
		return cmd.fail(err)
	}
	res, err := call(ctx, cmd, func(ctx context.Context, c weirv1connect.ControllerServiceClient) (*connect.Response[weirv1.ApplyResponse], error) {
		return c.Apply(ctx, connect.NewRequest(&weirv1.ApplyRequest{Source: src, ResetState: *reset, Author: *who}))
	})
	if err != nil {
		return cmd.fail(err)
	}
	if cmd.json() {
		cmd.printJSON(res)
		return exitOK
	}
	fmt.Fprint(stdout, res.GetPlan().GetText())
	printApplied(stdout, res.GetVersion(), res.GetCreated())
	return exitOK
}

func printApplied(w io.Writer, v *weirv1.AppVersion, created bool) {
	if created {
		fmt.Fprintf(w, "\nApplied: app %s is now at version %d.\n", v.GetApp(), v.GetVersion())
	} else {
		fmt.Fprintf(w, "\nNo new version: app %s stays at version %d.\n", v.GetApp(), v.GetVersion())
	}
}
