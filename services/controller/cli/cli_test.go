package cli_test

import (
	"strings"
	"testing"

	"github.com/weirhq/weir/libs/service/servicetest"
	"github.com/weirhq/weir/services/controller/cli"
)

// TestCLI checks the shared command line; serving needs etcd and Kafka and is checked by the
// integration tests (integration/controller_test.go).
func TestCLI(t *testing.T) {
	servicetest.TestCommands(t, cli.RunContext, "controller")
}

// TestHelpListsEveryCommand checks that help gives serve's default address and every command.
func TestHelpListsEveryCommand(t *testing.T) {
	var stdout strings.Builder
	if code := cli.Run([]string{"--help"}, &stdout, &stdout); code != 0 {
		t.Fatalf("help exit code %d, want 0", code)
	}
	for _, want := range []string{"127.0.0.1:7070", "validate", "fmt", "plan", "apply", "get", "describe", "history",
		"rollback", "reset", "delete", "send", "tail", "serve", "WEIR_CONTROLLER"} {
		if !strings.Contains(stdout.String(), "  "+want) && !strings.Contains(stdout.String(), want) {
			t.Errorf("help does not mention %q:\n%s", want, stdout.String())
		}
	}
}

func TestServeUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"serve", "--session-ttl", "0s"}, 2, "session-ttl"},
		{[]string{"serve", "--instance-id", "leader"}, 2, "reserved"},
		{[]string{"serve", "--etcd-prefix", "weir"}, 2, "must start with /"},
		{[]string{"serve", "--log-level", "loud", "--listen", "x"}, 2, "log.level"},
	} {
		var out, errb strings.Builder
		if code := cli.Run(tc.args, &out, &errb); code != tc.code || !strings.Contains(errb.String(), tc.stderr) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, errb.String(), tc.code, tc.stderr)
		}
	}
	var out, errb strings.Builder
	if code := cli.Run([]string{"serve", "--print-config", "--etcd-endpoints", "10.0.0.1:2379"}, &out, &errb); code != 0 ||
		!strings.Contains(out.String(), `"10.0.0.1:2379"`) || !strings.Contains(out.String(), "session-ttl=10s") {
		t.Errorf("--print-config: exit %d, stdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
}

func TestRemoteUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"apply"},
		{"plan", "--output", "xml", "a.hcl"},
		{"rollback", "app"},
		{"rollback", "app", "zero"},
		{"reset", "app"},
		{"reset", "app", "--to", "yesterday"},
		{"describe"},
		{"history", "a", "b"},
		{"send"},
		{"tail", "t", "--from", "middle"},
	} {
		var out, errb strings.Builder
		if code := cli.Run(args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2; stderr %q", args, code, errb.String())
		}
	}
}

func TestRemoteUnreachable(t *testing.T) {
	var out, errb strings.Builder
	code := cli.Run([]string{"history", "x", "--controller", "http://127.0.0.1:1", "--timeout", "2s"}, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "controller history:") {
		t.Errorf("exit %d, stderr %q; want 1 and an error", code, errb.String())
	}
}
