package cli_test

import (
	"strings"
	"testing"

	"github.com/weirhq/weir/libs/service/servicetest"
	"github.com/weirhq/weir/services/web/cli"
)

// TestCLI checks the shared command line; serving needs etcd and is checked by the
// integration tests (integration/web_test.go).
func TestCLI(t *testing.T) {
	servicetest.TestCommands(t, cli.RunContext, "web")
}

func TestHelp(t *testing.T) {
	var stdout strings.Builder
	if code := cli.Run([]string{"help"}, &stdout, &stdout); code != 0 {
		t.Fatalf("help exit code %d, want 0", code)
	}
	for _, want := range []string{"127.0.0.1:7072", "dashboard", "QueryService"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("help does not mention %q:\n%s", want, stdout.String())
		}
	}
}

func TestServeFlags(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"serve", "--etcd-prefix", "weir"}, "must start with /"},
		{[]string{"serve", "--query-timeout", "0s"}, "query-timeout"},
	} {
		var out, errb strings.Builder
		if code := cli.Run(tc.args, &out, &errb); code != 2 || !strings.Contains(errb.String(), tc.stderr) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, errb.String(), tc.stderr)
		}
	}
	var out, errb strings.Builder
	code := cli.Run([]string{"serve", "--print-config", "--auth-token", "s3cret", "--etcd-endpoints", "10.0.0.1:2379"}, &out, &errb)
	if code != 0 || !strings.Contains(out.String(), `"10.0.0.1:2379"`) || !strings.Contains(out.String(), "auth-token=<redacted>") ||
		strings.Contains(out.String(), "s3cret") {
		t.Errorf("--print-config: exit %d, stdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
}
