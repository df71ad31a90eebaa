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

// GetSummary is get's line in the controller's usage.
const GetSummary = "list apps, or print an app's source (current or --version N)"

// Get runs `controller get [APP]`: without APP it lists the apps; with it, it prints the
// source files of the current version (or --version N).
func Get(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := newCommand("get", "get [flags] [APP]", stdout, stderr)
	version := cmd.fs.Int64("version", 0, "the `version` to print (default: the current one)")
	pos, code, ok := cmd.parse(args, 0, 1)
	if !ok {
		return code
	}
	if len(pos) == 0 {
		res, err := call(ctx, cmd, func(ctx context.Context, c weirv1connect.ControllerServiceClient) (*connect.Response[weirv1.ListResponse], error) {
			return c.List(ctx, connect.NewRequest(&weirv1.ListRequest{}))
		})
		if err != nil {
			return cmd.fail(err)
		}
		if cmd.json() {
			cmd.printJSON(res)
			return exitOK
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "APP\tVERSION\tUPDATED\tAUTHOR\tPAUSED")
		for _, a := range res.GetApps() {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%t\n", a.GetApp(), a.GetVersion(), a.GetUpdatedAt().AsTime().Format("2006-01-02 15:04:05"), a.GetAuthor(), a.GetPaused())
		}
		_ = tw.Flush()
		return exitOK
	}
	res, err := getApp(ctx, cmd, pos[0], *version)
	if err != nil {
		return cmd.fail(err)
	}
	if cmd.json() {
		cmd.printJSON(res)
		return exitOK
	}
	v := res.GetVersion()
	for _, f := range v.GetFiles() {
		fmt.Fprintf(stdout, "# %s (app %s, version %d)\n%s", f.GetName(), v.GetApp(), v.GetVersion(), f.GetContent())
	}
	return exitOK
}

func getApp(ctx context.Context, cmd *command, app string, version int64) (*weirv1.GetResponse, error) {
	return call(ctx, cmd, func(ctx context.Context, c weirv1connect.ControllerServiceClient) (*connect.Response[weirv1.GetResponse], error) {
		return c.Get(ctx, connect.NewRequest(&weirv1.GetRequest{App: app, Version: version}))
	})
}
