package remote

import (
	"context"
	"fmt"
	"io"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	weirv1 "github.com/weirhq/weir/gen/weir/v1"
	"github.com/weirhq/weir/gen/weir/v1/weirv1connect"
)

// ResetSummary is reset's line in the controller's usage.
const ResetSummary = "rewind an app's consumer group (--to earliest|latest|TIME|none), optionally --wipe-state"

// Reset runs `controller reset APP --to WHERE [--wipe-state]`.
func Reset(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := newCommand("reset", "reset [flags] APP --to earliest|latest|RFC3339-TIME|none", stdout, stderr)
	to := cmd.fs.String("to", "", "where the app restarts: earliest, latest, an RFC 3339 time, or none (keep offsets; with --wipe-state)")
	wipe := cmd.fs.Bool("wipe-state", false, "also wipe the app's state: recreate its changelog and repartition topics")
	force := cmd.fs.Bool("force", false, "go on even if tasks are still held after the release wait")
	who := cmd.fs.String("author", author(), "who resets (logged)")
	pos, code, ok := cmd.parse(args, 1, 1)
	if !ok {
		return code
	}
	req := &weirv1.ResetRequest{App: pos[0], WipeState: *wipe, Force: *force, Author: *who}
	switch *to {
	case "earliest", "latest", "none":
		req.To = *to
	case "":
		fmt.Fprintln(stderr, "controller reset: --to is required (earliest, latest, an RFC 3339 time, or none)")
		return exitUsage
	default:
		t, err := time.Parse(time.RFC3339, *to)
		if err != nil {
			fmt.Fprintf(stderr, "controller reset: --to %q is not earliest, latest, none or an RFC 3339 time (2006-01-02T15:04:05Z)\n", *to)
			return exitUsage
		}
		req.To, req.Timestamp = "timestamp", timestamppb.New(t)
	}
	res, err := call(ctx, cmd, func(ctx context.Context, c weirv1connect.ControllerServiceClient) (*connect.Response[weirv1.ResetResponse], error) {
		return c.Reset(ctx, connect.NewRequest(req))
	})
	if err != nil {
		return cmd.fail(err)
	}
	if cmd.json() {
		cmd.printJSON(res)
		return exitOK
	}
	fmt.Fprintf(stdout, "Reset app %s (consumer group %s); epoch floor is now %d.\n", pos[0], res.GetConsumerGroup(), res.GetEpochFloor())
	for _, o := range res.GetOffsets() {
		fmt.Fprintf(stdout, "  %s/%d → %d\n", o.GetTopic(), o.GetPartition(), o.GetOffset())
	}
	if res.GetStateWiped() {
		fmt.Fprintf(stdout, "State wiped; recreated: %v\n", res.GetRecreatedTopics())
	}
	for _, w := range res.GetWarnings() {
		fmt.Fprintf(stdout, "Warning: %s\n", w)
	}
	return exitOK
}
