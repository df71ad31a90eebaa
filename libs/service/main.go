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

// Exit codes returned by Main.
const (
	ExitOK    = 0 // the command did what was asked
	ExitError = 1 // the command failed
	ExitUsage = 2 // the command line was wrong
)

// Spec describes one service's binary for Main.
type Spec struct {
	// Name is the service and binary name: "controller", "worker" or "web".
	Name string
	// Summary says in one line what the service is for; it heads the usage text.
	Summary string
	// DefaultListen is serve's default --listen address, such as "127.0.0.1:7070".
	DefaultListen string
	// Later says which commands are not there yet and when they arrive; printed after the
	// command list so the help stays honest about what the binary can do today.
	Later string
	// Setup, if set, mounts the service's own handlers before serve starts listening.
	Setup func(*Server) error
	// Serve, if set, replaces the default serve command (listen, InfoService, ready at once):
	// a service with its own flags, dependencies and readiness implements serve itself on
	// New and Run. It must log "ready" with the bound address (attribute addr) once ready.
	Serve func(ctx context.Context, args []string, stdout, stderr io.Writer) int
	// ServeSummary replaces serve's line in the usage when set.
	ServeSummary string
	// Commands are the binary's own commands besides serve, version and help, listed by
	// Usage in this order.
	Commands []Command
}

// Command is one of a binary's own commands.
type Command struct {
	// Name is what selects the command: the first argument.
	Name string
	// Summary says in one line what the command does.
	Summary string
	// Run runs the command with the arguments after its name and returns the exit code
	// (ExitOK, ExitError or ExitUsage).
	Run func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

// Main runs the command line of spec's binary with args (without the program name) and
// returns the process exit code: serve runs the server until ctx is done or SIGINT/SIGTERM
// arrives; version prints the version; help, -h and --help print the usage. Each service's
// cli package wraps it.
func Main(ctx context.Context, spec Spec, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, Usage(spec))
		return ExitUsage
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		if spec.Serve != nil {
			return spec.Serve(ctx, rest, stdout, stderr)
		}
		return serve(ctx, spec, rest, stdout, stderr)
	case "version":
		if len(rest) > 0 {
			fmt.Fprintf(stderr, "%s version: unexpected arguments: %s\n", spec.Name, strings.Join(rest, " "))
			return ExitUsage
		}
		fmt.Fprintf(stdout, "%s %s\n", spec.Name, Version)
		return ExitOK
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, Usage(spec))
		return ExitOK
	default:
		for _, c := range spec.Commands {
			if c.Name == cmd {
				return c.Run(ctx, rest, stdout, stderr)
			}
		}
		fmt.Fprintf(stderr, "%s: unknown command %q\n\n%s", spec.Name, cmd, Usage(spec))
		return ExitUsage
	}
}

// Usage returns the help text of spec's binary.
func Usage(spec Spec) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n\n", spec.Name, spec.Summary)
	fmt.Fprintf(&b, "Usage:\n  %s <command> [flags]\n\n", spec.Name)
	fmt.Fprintf(&b, "Commands:\n")
	serveSummary := fmt.Sprintf("serve health, readiness and weir.v1.InfoService on --listen (default %s)", spec.DefaultListen)
	if spec.ServeSummary != "" {
		serveSummary = spec.ServeSummary
	}
	fmt.Fprintf(&b, "  serve     %s\n", serveSummary)
	fmt.Fprintf(&b, "  version   print the version\n")
	fmt.Fprintf(&b, "  help      print this help\n")
	for _, c := range spec.Commands {
		fmt.Fprintf(&b, "  %-9s %s\n", c.Name, c.Summary)
	}
	if spec.Later != "" {
		fmt.Fprintf(&b, "\n%s\n", spec.Later)
	}
	fmt.Fprintf(&b, "\nRun '%s serve -h' for serve's flags", spec.Name)
	if len(spec.Commands) > 0 {
		fmt.Fprintf(&b, ", '%s COMMAND -h' for a command's", spec.Name)
	}
	fmt.Fprintf(&b, ".\n")
	return b.String()
}

// serve runs the server for spec until ctx is done or the process is told to stop.
func serve(ctx context.Context, spec Spec, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(spec.Name+" serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", spec.DefaultListen, "`host:port` to serve on (port 0 picks a free port)")
	instanceID := fs.String("instance-id", DefaultInstanceID(), "`id` of this instance, reported by GetInfo")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: %s serve [flags]\n\nFlags:\n", spec.Name)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return ExitOK
		}
		return ExitUsage // flag already printed the problem and the usage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s serve: unexpected arguments: %s\n", spec.Name, strings.Join(fs.Args(), " "))
		return ExitUsage
	}

	log := slog.New(slog.NewTextHandler(stderr, nil))
	srv, err := New(Config{Name: spec.Name, Listen: *listen, InstanceID: *instanceID, Logger: log})
	if err != nil {
		fmt.Fprintf(stderr, "%s serve: %v\n", spec.Name, err)
		return ExitUsage
	}
	if spec.Setup != nil {
		if err := spec.Setup(srv); err != nil {
			log.Error("setup failed", "err", err)
			return ExitError
		}
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	listening := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, listening) }()
	select {
	case addr := <-listening:
		srv.SetReady(true) // nothing else to wait for yet: listening is ready
		log.Info("ready", "service", spec.Name, "addr", addr)
	case err := <-done:
		return exitCode(log, err)
	}
	return exitCode(log, <-done)
}

func exitCode(log *slog.Logger, err error) int {
	if err != nil {
		log.Error("serve failed", "err", err)
		return ExitError
	}
	return ExitOK
}
