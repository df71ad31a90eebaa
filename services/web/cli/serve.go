package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/weirhq/weir/libs/config"
	"github.com/weirhq/weir/libs/service"
	"github.com/weirhq/weir/services/web/node"
)

const serveSummary = "run the web service: dashboard at /, weir.v1.QueryService, health on --listen (default " + node.DefaultListen + ")"

// serve runs `web serve`: configuration from flags, WEIR_* environment and an HCL file
// (--config), --print-config, then the web node until ctx ends or SIGINT/SIGTERM.
func serve(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("web serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	flags := node.RegisterFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: web serve [flags]\n\n"+
			"Settings come from defaults < --config file (HCL) < WEIR_* environment < flags.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return service.ExitOK
		}
		return service.ExitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "web serve: unexpected arguments: %s\n", strings.Join(fs.Args(), " "))
		return service.ExitUsage
	}
	cfg, err := flags.Load(os.LookupEnv)
	if err != nil {
		fmt.Fprintf(stderr, "web serve: invalid configuration:\n%v\n", err)
		return service.ExitUsage
	}
	if flags.PrintConfig() {
		cfg.Service.Print(stdout)
		node.PrintWebSettings(stdout, cfg)
		return service.ExitOK
	}
	log := logger(cfg.Service.Log, stderr)
	n, err := node.New(cfg, log)
	if err != nil {
		fmt.Fprintf(stderr, "web serve: %v\n", err)
		return service.ExitError
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := n.Run(ctx, nil); err != nil {
		log.Error("serve failed", "err", err)
		return service.ExitError
	}
	return service.ExitOK
}

// logger writes to w at the configured level and format.
func logger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.Level)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
