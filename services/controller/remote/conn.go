package remote

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/weirhq/weir/gen/weir/v1/weirv1connect"
)

// DefaultController is the address used without --controller or WEIR_CONTROLLER.
const DefaultController = "http://127.0.0.1:7070"

// leaderAddrHeader names the leader on a follower's refusal (see package server).
const leaderAddrHeader = "Weir-Leader-Addr"

// Exit codes, as libs/service defines them.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// common are the flags every remote command has.
type common struct {
	controller string
	output     string
	timeout    time.Duration
}

func (c *common) register(fs *flag.FlagSet) {
	def := os.Getenv("WEIR_CONTROLLER")
	if def == "" {
		def = DefaultController
	}
	fs.StringVar(&c.controller, "controller", def, "controller `URL` (env WEIR_CONTROLLER)")
	fs.StringVar(&c.output, "output", "text", "output `format`: text or json")
	fs.DurationVar(&c.timeout, "timeout", 2*time.Minute, "give up after this `duration`")
}

// command is one remote command's parsed state.
type command struct {
	name   string
	fs     *flag.FlagSet
	c      common
	stdout io.Writer
	stderr io.Writer
}

func newCommand(name, usage string, stdout, stderr io.Writer) *command {
	cmd := &command{name: name, fs: flag.NewFlagSet(name, flag.ContinueOnError), stdout: stdout, stderr: stderr}
	cmd.fs.SetOutput(stderr)
	cmd.c.register(cmd.fs)
	cmd.fs.Usage = func() {
		fmt.Fprintf(cmd.fs.Output(), "Usage: controller %s\n\nFlags:\n", usage)
		cmd.fs.PrintDefaults()
	}
	return cmd
}

// parse parses args, allowing flags after positional arguments, and checks that there are
// between min and max positional arguments (max < 0: any number). ok is false when the
// command should exit with code.
func (cmd *command) parse(args []string, minArgs, maxArgs int) (pos []string, code int, ok bool) {
	for {
		if err := cmd.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				cmd.fs.SetOutput(cmd.stdout)
				cmd.fs.Usage()
				return nil, exitOK, false
			}
			return nil, exitUsage, false
		}
		if cmd.fs.NArg() == 0 {
			break
		}
		pos = append(pos, cmd.fs.Arg(0))
		args = cmd.fs.Args()[1:]
	}
	if cmd.c.output != "text" && cmd.c.output != "json" {
		fmt.Fprintf(cmd.stderr, "controller %s: --output must be text or json, got %q\n", cmd.name, cmd.c.output)
		return nil, exitUsage, false
	}
	if len(pos) < minArgs || (maxArgs >= 0 && len(pos) > maxArgs) {
		fmt.Fprintf(cmd.stderr, "controller %s: wrong number of arguments\n\n", cmd.name)
		cmd.fs.Usage()
		return nil, exitUsage, false
	}
	return pos, exitOK, true
}

func (cmd *command) json() bool { return cmd.c.output == "json" }

// client returns a ControllerService client for base (Connect protocol, JSON over HTTP/1.1).
func client(base string) weirv1connect.ControllerServiceClient {
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	return weirv1connect.NewControllerServiceClient(http.DefaultClient, base, connect.WithProtoJSON())
}

// call runs one RPC against the controller; when a follower refuses it and names the
// leader, it is retried once there.
func call[Res any](ctx context.Context, cmd *command, rpc func(context.Context, weirv1connect.ControllerServiceClient) (*connect.Response[Res], error)) (*Res, error) {
	ctx, cancel := context.WithTimeout(ctx, cmd.c.timeout)
	defer cancel()
	resp, err := rpc(ctx, client(cmd.c.controller))
	var ce *connect.Error
	if errors.As(err, &ce) && ce.Code() == connect.CodeFailedPrecondition {
		if addr := ce.Meta().Get(leaderAddrHeader); addr != "" {
			fmt.Fprintf(cmd.stderr, "controller %s: %s is not the leader; retrying at the leader %s\n", cmd.name, cmd.c.controller, addr)
			resp, err = rpc(ctx, client(addr))
		}
	}
	if err != nil {
		return nil, err
	}
	return resp.Msg, nil
}

// fail prints an RPC error and returns exitError.
func (cmd *command) fail(err error) int {
	var ce *connect.Error
	if errors.As(err, &ce) {
		fmt.Fprintf(cmd.stderr, "controller %s: %s: %s\n", cmd.name, ce.Code(), ce.Message())
		if cmd.json() {
			cmd.printJSONValue(map[string]string{"error": ce.Message(), "code": ce.Code().String()})
		}
		return exitError
	}
	fmt.Fprintf(cmd.stderr, "controller %s: %v\n", cmd.name, err)
	return exitError
}

// printJSON writes a response message as JSON.
func (cmd *command) printJSON(m proto.Message) {
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(m)
	if err != nil {
		fmt.Fprintf(cmd.stderr, "controller %s: encoding JSON: %v\n", cmd.name, err)
		return
	}
	fmt.Fprintln(cmd.stdout, string(b))
}

func (cmd *command) printJSONValue(v map[string]string) {
	b, _ := json.MarshalIndent(v, "", "  ") // a map of strings always encodes
	fmt.Fprintln(cmd.stdout, string(b))
}
