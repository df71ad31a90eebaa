package service

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
)

// ServeFlags is a service's serve flag set once registered: Load reads the configuration
// (defaults < file < environment < flags) after parsing.
type ServeFlags[C any] interface {
	PrintConfig() bool
	Load(getenv func(string) (string, bool)) (C, error)
}

// ServeCommand describes a service's own `serve` subcommand for RunServe.
type ServeCommand[C any] struct {
	Name     string                                // "controller", "worker", "web"
	Register func(*flag.FlagSet) ServeFlags[C]     // binds the service's flags
	Print    func(w io.Writer, cfg C)              // --print-config output
	Logger   func(cfg C, w io.Writer) *slog.Logger // the service's logger, writing to w
	// Run serves until ctx ends (SIGINT or SIGTERM) and returns nil on a clean stop.
	Run func(ctx context.Context, cfg C, log *slog.Logger) error
}

// RunServe runs a serve subcommand: flags, configuration, --print-config, then cmd.Run until
// SIGINT/SIGTERM. It returns the exit code: usage and configuration errors are ExitUsage.
func RunServe[C any](ctx context.Context, cmd ServeCommand[C], args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(cmd.Name+" serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	flags := cmd.Register(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: %s serve [flags]\n\n"+
			"Settings come from defaults < --config file (HCL) < WEIR_* environment < flags.\n\nFlags:\n", cmd.Name)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return ExitOK
		}
		return ExitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s serve: unexpected arguments: %s\n", cmd.Name, strings.Join(fs.Args(), " "))
		return ExitUsage
	}
	cfg, err := flags.Load(os.LookupEnv)
	if err != nil {
		fmt.Fprintf(stderr, "%s serve: invalid configuration:\n%v\n", cmd.Name, err)
		return ExitUsage
	}
	if flags.PrintConfig() {
		cmd.Print(stdout, cfg)
		return ExitOK
	}
	log := cmd.Logger(cfg, stderr)
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := cmd.Run(ctx, cfg, log); err != nil {
		log.Error("serve failed", "err", err)
		return ExitError
	}
	return ExitOK
}
