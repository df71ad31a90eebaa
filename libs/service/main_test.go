package service_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/weirhq/weir/libs/service"
	"github.com/weirhq/weir/libs/service/servicetest"
)

var demo = service.Spec{
	Name:          "demo",
	Summary:       "a service for testing service.Main",
	DefaultListen: "127.0.0.1:7999",
	Later:         "More commands arrive later.",
}

func runDemo(spec service.Spec) servicetest.RunFunc {
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
		return service.Main(ctx, spec, args, stdout, stderr)
	}
}

func TestMainCLI(t *testing.T) {
	servicetest.TestCLI(t, runDemo(demo), "demo")
}

func TestUsageMentionsDefaultsAndLater(t *testing.T) {
	usage := service.Usage(demo)
	for _, want := range []string{demo.Summary, demo.DefaultListen, demo.Later} {
		if !strings.Contains(usage, want) {
			t.Errorf("usage does not mention %q:\n%s", want, usage)
		}
	}
}

func TestServeHelp(t *testing.T) {
	var stdout strings.Builder
	if code := service.Main(t.Context(), demo, []string{"serve", "-h"}, &stdout, io.Discard); code != 0 {
		t.Errorf("serve -h exit code %d, want 0", code)
	}
	for _, want := range []string{"-listen", "-instance-id", demo.DefaultListen} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("serve -h does not mention %q:\n%s", want, stdout.String())
		}
	}
}

func TestServeSetupFailure(t *testing.T) {
	spec := demo
	spec.Setup = func(*service.Server) error { return errors.New("boom") }
	var stderr strings.Builder
	code := service.Main(t.Context(), spec, []string{"serve", "--listen", "127.0.0.1:0"}, io.Discard, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "boom") {
		t.Errorf("exit code %d, stderr %q; want 1 and the setup error", code, stderr.String())
	}
}

func TestCommandsDispatchAndUsage(t *testing.T) {
	spec := demo
	var gotArgs []string
	spec.Commands = []service.Command{{
		Name:    "check",
		Summary: "check something offline",
		Run: func(_ context.Context, args []string, stdout, _ io.Writer) int {
			gotArgs = args
			_, _ = io.WriteString(stdout, "checked\n")
			return 3
		},
	}}
	var stdout strings.Builder
	if code := service.Main(t.Context(), spec, []string{"check", "-x", "a.hcl"}, &stdout, io.Discard); code != 3 {
		t.Errorf("exit code %d, want the command's 3", code)
	}
	if stdout.String() != "checked\n" || strings.Join(gotArgs, " ") != "-x a.hcl" {
		t.Errorf("stdout %q, args %q; want the command's output and its arguments", stdout.String(), gotArgs)
	}
	usage := service.Usage(spec)
	for _, want := range []string{"check", "check something offline", "COMMAND -h"} {
		if !strings.Contains(usage, want) {
			t.Errorf("usage does not mention %q:\n%s", want, usage)
		}
	}
	var stderr strings.Builder
	if code := service.Main(t.Context(), spec, []string{"nope"}, io.Discard, &stderr); code != service.ExitUsage {
		t.Errorf("unknown command: exit code %d, want %d", code, service.ExitUsage)
	}
}
