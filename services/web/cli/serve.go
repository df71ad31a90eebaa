package cli

import (
	"context"
	"flag"
	"io"
	"log/slog"

	"github.com/weirhq/weir/libs/service"
	"github.com/weirhq/weir/services/web/node"
)

const serveSummary = "run the web service: dashboard at /, weir.v1.QueryService, health on --listen (default " + node.DefaultListen + ")"

// serveCommand is `web serve`: the web node until SIGINT/SIGTERM.
var serveCommand = service.ServeCommand[node.Config]{
	Name:     "web",
	Register: func(fs *flag.FlagSet) service.ServeFlags[node.Config] { return node.RegisterFlags(fs) },
	Print: func(w io.Writer, cfg node.Config) {
		cfg.Service.Print(w)
		node.PrintWebSettings(w, cfg)
	},
	Logger: func(cfg node.Config, w io.Writer) *slog.Logger { return cfg.Service.LoggerTo(w) },
	Run: func(ctx context.Context, cfg node.Config, log *slog.Logger) error {
		n, err := node.New(cfg, log)
		if err != nil {
			return err
		}
		return n.Run(ctx, nil)
	},
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return service.RunServe(ctx, serveCommand, args, stdout, stderr)
}
