package remote

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"connectrpc.com/connect"

	weirv1 "github.com/weirhq/weir/gen/weir/v1"
	"github.com/weirhq/weir/gen/weir/v1/weirv1connect"
)

// HistorySummary is history's line in the controller's usage.
const HistorySummary = "list an app's stored versions"

// History runs `controller history APP`.
func History(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := newCommand("history", "history [flags] APP", stdout, stderr)
	pos, code, ok := cmd.parse(args, 1, 1)
	if !ok {
		return code
	}
	res, err := call(ctx, cmd, func(ctx context.Context, c weirv1connect.ControllerServiceClient) (*connect.Response[weirv1.HistoryResponse], error) {
		return c.History(ctx, connect.NewRequest(&weirv1.HistoryRequest{App: pos[0]}))
	})
	if err != nil {
		return cmd.fail(err)
	}
	if cmd.json() {
		cmd.printJSON(res)
		return exitOK
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tCREATED\tAUTHOR\tORIGIN\tRESET\tDIGEST")
	for _, v := range res.GetVersions() {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%t\t%.12s\n", v.GetVersion(), v.GetCreatedAt().AsTime().Format("2006-01-02 15:04:05"), v.GetAuthor(), v.GetOrigin(), v.GetResetState(), v.GetDigest())
	}
	_ = tw.Flush()
	return exitOK
}
