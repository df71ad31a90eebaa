package remote

import (
	"context"
	"fmt"
	"io"

	"connectrpc.com/connect"

	weirv1 "github.com/weirhq/weir/gen/weir/v1"
	"github.com/weirhq/weir/gen/weir/v1/weirv1connect"
)

// DeleteSummary is delete's line in the controller's usage.
const DeleteSummary = "remove an app (and with --delete-topics its internal topics and consumer group)"

// Delete runs `controller delete APP`.
func Delete(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := newCommand("delete", "delete [flags] APP", stdout, stderr)
	topicsToo := cmd.fs.Bool("delete-topics", false, "also delete the app's internal topics (changelogs, repartition, dead letters) and its consumer group; declared topics are kept")
	pos, code, ok := cmd.parse(args, 1, 1)
	if !ok {
		return code
	}
	res, err := call(ctx, cmd, func(ctx context.Context, c weirv1connect.ControllerServiceClient) (*connect.Response[weirv1.DeleteResponse], error) {
		return c.Delete(ctx, connect.NewRequest(&weirv1.DeleteRequest{App: pos[0], DeleteTopics: *topicsToo}))
	})
	if err != nil {
		return cmd.fail(err)
	}
	if cmd.json() {
		cmd.printJSON(res)
		return exitOK
	}
	fmt.Fprintf(stdout, "Deleted app %s (%d version(s)).\n", pos[0], res.GetVersionsDeleted())
	for _, t := range res.GetDeletedTopics() {
		fmt.Fprintf(stdout, "  deleted topic %s\n", t)
	}
	return exitOK
}
