//go:build integration

package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/weirhq/weir/integration/harness"
)

// TestDemo runs `make demo` as a user would, with a timer: it reaches the dashboard line, two
// runs of the printed curl some seconds apart show rising counts, and SIGINT stops everything
// with exit 0 within 10 s. The demo runs on its own embedded etcd and in-process dev broker:
// KAFKA_BROKERS and ETCD_ENDPOINTS (set by `make test` for the other tests) are removed from
// its environment, and its data goes to a temporary WEIR_CACHE.
//
// SIGINT goes to the demo process itself (it prints its pid), as Ctrl-C does; make and
// `go run` then exit with its status. (A Ctrl-C in a terminal also reaches make, which then
// reports "Interrupt" whatever the demo's status.)
func TestDemo(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		// The test runs the curl command the demo prints, as a user would.
		const why = "curl is not installed (Debian: apt-get install -y curl); the demo test runs the printed curl"
		if os.Getenv("CI") == "true" {
			t.Fatal(why)
		}
		t.Skip(why)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	cmd := exec.Command("make", "--no-print-directory", "demo")
	cmd.Dir = harness.Root()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "KAFKA_BROKERS=") || strings.HasPrefix(kv, "ETCD_ENDPOINTS=") || strings.HasPrefix(kv, "WEIR_CACHE=") {
			continue
		}
		env = append(env, kv)
	}
	cmd.Env = append(env, "WEIR_CACHE="+t.TempDir())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	var output lockedBuffer
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			output.Write([]byte(sc.Text() + "\n"))
			select {
			case lines <- sc.Text():
			default:
			}
		}
		close(lines)
	}()
	go func() { exited <- cmd.Wait() }()
	defer func() {
		// Whatever happened, leave no process behind.
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if t.Failed() {
			t.Logf("demo stdout:\n%s\ndemo stderr:\n%s", output.String(), stderr.String())
		}
	}()

	// The dashboard line, the curl line and the pid line, within the timer (it includes
	// `make build` and compiling the demo).
	start := time.Now()
	var dashboard, curl string
	pid := 0
	pidRe := regexp.MustCompile(`demo pid (\d+)`)
	for pid == 0 {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("demo ended before printing its lines: %v", <-exited)
			}
			switch {
			case strings.HasPrefix(line, "Dashboard: "):
				dashboard = strings.TrimPrefix(line, "Dashboard: ")
			case strings.HasPrefix(line, "Live counts: "):
				curl = strings.TrimPrefix(line, "Live counts: ")
			case pidRe.MatchString(line):
				pid, _ = strconv.Atoi(pidRe.FindStringSubmatch(line)[1])
			}
		case <-ctx.Done():
			t.Fatal("no dashboard line within the timer")
		}
	}
	if dashboard == "" || curl == "" || !strings.HasPrefix(curl, "curl ") {
		t.Fatalf("dashboard %q, curl %q", dashboard, curl)
	}
	t.Logf("dashboard line after %s: %s", time.Since(start).Round(time.Millisecond), dashboard)
	t.Logf("curl line: %s", curl)

	// The dashboard page is served.
	page, err := exec.CommandContext(ctx, "curl", "-sf", dashboard).Output()
	if err != nil || !bytes.Contains(bytes.ToLower(page), []byte("<html")) {
		t.Fatalf("dashboard %s: %v\n%.300s", dashboard, err, page)
	}

	// Two runs of the printed curl, some seconds apart: the counts rise.
	first := demoCount(t, ctx, curl)
	time.Sleep(5 * time.Second)
	second := demoCount(t, ctx, curl)
	t.Logf("counts: %v then %v", first, second)
	if !(second > first) {
		t.Fatalf("counts did not rise: %v then %v", first, second)
	}

	// SIGINT: everything stops, exit 0, within 10 s.
	stopAt := time.Now()
	if err := syscall.Kill(pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("demo exited with %v after SIGINT", err)
		}
		t.Logf("stopped with exit 0 in %s", time.Since(stopAt).Round(time.Millisecond))
	case <-time.After(10 * time.Second):
		t.Fatal("demo still running 10 s after SIGINT")
	}
	for range lines {
	}
	if !strings.Contains(output.String(), "weir demo: stopped") {
		t.Errorf("no clean-stop line in the output")
	}
	// No process of the group is left.
	if err := syscall.Kill(-cmd.Process.Pid, 0); err == nil || !errors.Is(err, syscall.ESRCH) {
		t.Errorf("processes of the demo's group still running after exit (kill -0: %v)", err)
	}
}

// demoCount runs the printed curl command and sums the windows' counts it returns.
func demoCount(t *testing.T, ctx context.Context, curl string) float64 {
	t.Helper()
	out, err := exec.CommandContext(ctx, "sh", "-c", curl).Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", curl, err, out)
	}
	var res struct {
		Found   bool `json:"found"`
		Windows []struct {
			Value float64 `json:"value"`
		} `json:"windows"`
	}
	if err := json.Unmarshal(out, &res); err != nil || !res.Found || len(res.Windows) == 0 {
		t.Fatalf("curl returned no count (%v): %s", err, out)
	}
	var sum float64
	for _, w := range res.Windows {
		sum += w.Value
	}
	return sum
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var _ io.Writer = (*lockedBuffer)(nil)
