package cli

import (
	"context"
	"flag"
	"io"
	"log/slog"

	"github.com/weirhq/weir/libs/service"
	"github.com/weirhq/weir/services/controller/node"
)

const serveSummary = "run a controller: ControllerService, registry and leader election on --listen (default " + node.DefaultListen + ")"

// serveCommand is `controller serve`: the controller node until SIGINT/SIGTERM.
var serveCommand = service.ServeCommand[node.Config]{
	Name:     "controller",
	Register: func(fs *flag.FlagSet) service.ServeFlags[node.Config] { return node.RegisterFlags(fs) },
	Print: func(w io.Writer, cfg node.Config) {
		cfg.Service.Print(w)
		node.PrintControllerSettings(w, cfg)
	},
	Logger: func(cfg node.Config, w io.Writer) *slog.Logger { return cfg.Service.LoggerTo(w) },
	Run: func(ctx context.Context, cfg node.Config, log *slog.Logger) error {
		n, err := node.New(cfg, log)
		if err != nil {
			return err
		}
		return n.Run(ctx)
	},
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return service.RunServe(ctx, serveCommand, args, stdout, stderr)
}
