package remote

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"connectrpc.com/connect"

	weirv1 "github.com/weirhq/weir/gen/weir/v1"
	"github.com/weirhq/weir/gen/weir/v1/weirv1connect"
)

// RollbackSummary is rollback's line in the controller's usage.
const RollbackSummary = "apply a stored version again, as a new version"

// Rollback runs `controller rollback APP VERSION`.
func Rollback(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := newCommand("rollback", "rollback [flags] APP VERSION", stdout, stderr)
	reset := cmd.fs.Bool("reset-state", false, "allow state-breaking changes: wipe the app's state and rebuild it")
	who := cmd.fs.String("author", author(), "who rolls back (recorded with the version)")
	pos, code, ok := cmd.parse(args, 2, 2)
	if !ok {
		return code
	}
	n, err := strconv.ParseInt(pos[1], 10, 64)
	if err != nil || n < 1 {
		fmt.Fprintf(stderr, "controller rollback: version %q is not a positive number\n", pos[1])
		return exitUsage
	}
	res, err := call(ctx, cmd, func(ctx context.Context, c weirv1connect.ControllerServiceClient) (*connect.Response[weirv1.RollbackResponse], error) {
		return c.Rollback(ctx, connect.NewRequest(&weirv1.RollbackRequest{App: pos[0], Version: n, ResetState: *reset, Author: *who}))
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
