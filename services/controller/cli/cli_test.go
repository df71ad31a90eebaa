package cli_test

import (
	"strings"
	"testing"

	"github.com/weirhq/weir/libs/service/servicetest"
	"github.com/weirhq/weir/services/controller/cli"
)

func TestCLI(t *testing.T) {
	servicetest.TestCLI(t, cli.RunContext, "controller")
}

// TestHelpIsHonest checks that help gives serve's default address and says which commands
// are still to come.
func TestHelpIsHonest(t *testing.T) {
	var stdout strings.Builder
	if code := cli.Run([]string{"help"}, &stdout, &stdout); code != 0 {
		t.Fatalf("help exit code %d, want 0", code)
	}
	for _, want := range []string{"127.0.0.1:7070", "validate", "fmt", "apply", "Not here yet"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("help does not mention %q:\n%s", want, stdout.String())
		}
	}
}
