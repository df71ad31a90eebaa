package cli_test

import (
	"strings"
	"testing"

	"github.com/weirhq/weir/libs/service/servicetest"
	"github.com/weirhq/weir/services/worker/cli"
)

// TestCLI checks the shared command line; serving needs etcd and Kafka and is checked by the
// integration tests (integration/worker_test.go).
func TestCLI(t *testing.T) {
	servicetest.TestCommands(t, cli.RunContext, "worker")
}

func TestHelp(t *testing.T) {
	var stdout strings.Builder
	if code := cli.Run([]string{"help"}, &stdout, &stdout); code != 0 {
		t.Fatalf("help exit code %d, want 0", code)
	}
	for _, want := range []string{"127.0.0.1:7071", "agents", "serve"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("help does not mention %q:\n%s", want, stdout.String())
		}
	}
}

func TestServeUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"serve", "--capacity", "0"}, "capacity"},
		{[]string{"serve", "--lease-ttl", "1s"}, "lease-ttl"},
		{[]string{"serve", "--etcd-prefix", "weir"}, "must start with /"},
		{[]string{"serve", "extra"}, "unexpected arguments"},
	} {
		var stdout, stderr strings.Builder
		if code := cli.Run(tc.args, &stdout, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", tc.args, code, stderr.String())
		}
		if !strings.Contains(stderr.String(), tc.stderr) {
			t.Errorf("%v: stderr %q lacks %q", tc.args, stderr.String(), tc.stderr)
		}
	}
}

func TestPrintConfig(t *testing.T) {
	var stdout, stderr strings.Builder
	if code := cli.Run([]string{"serve", "--print-config", "--zone", "z1", "--kafka-sasl-password", "s3cret", "--kafka-sasl-mechanism", "plain", "--kafka-sasl-username", "u"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out := stdout.String()
	if !strings.Contains(out, "zone=z1") || strings.Contains(out, "s3cret") || !strings.Contains(out, "(redacted)") {
		t.Errorf("print-config output:\n%s", out)
	}
}
