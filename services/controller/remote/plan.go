package remote

import (
	"context"
	"fmt"
	"io"

	"connectrpc.com/connect"

	weirv1 "github.com/weirhq/weir/gen/weir/v1"
	"github.com/weirhq/weir/gen/weir/v1/weirv1connect"
)

// PlanSummary is plan's line in the controller's usage.
const PlanSummary = "show what apply would do: topics, definition changes, state-breaking changes"

// Plan runs `controller plan FILE...`. It exits 1 when apply would be refused.
func Plan(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := newCommand("plan", "plan [flags] FILE...", stdout, stderr)
	var sf sourceFlags
	sf.register(cmd.fs)
	reset := cmd.fs.Bool("reset-state", false, "plan as if state-breaking changes were allowed (wiping the app's state)")
	files, code, ok := cmd.parse(args, 1, -1)
	if !ok {
		return code
	}
	src, err := sf.read(files)
	if err != nil {
		return cmd.fail(err)
	}
	res, err := call(ctx, cmd, func(ctx context.Context, c weirv1connect.ControllerServiceClient) (*connect.Response[weirv1.PlanResponse], error) {
		return c.Plan(ctx, connect.NewRequest(&weirv1.PlanRequest{Source: src, ResetState: *reset}))
	})
	if err != nil {
		return cmd.fail(err)
	}
	if cmd.json() {
		cmd.printJSON(res)
	} else {
		fmt.Fprint(stdout, res.GetPlan().GetText())
	}
	if !res.GetPlan().GetAllowed() {
		return exitError
	}
	return exitOK
}
