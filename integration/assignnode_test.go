//go:build integration

package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/weirhq/weir/integration/harness"
)

// buildAssignNode builds the weir-assign-node test binary once into the test's temp dir.
func buildAssignNode(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "weir-assign-node")
	cmd := exec.Command("go", "build", "-o", bin, "./integration/cmd/weir-assign-node")
	cmd.Dir = harness.Root()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building weir-assign-node: %v\n%s", err, out)
	}
	return bin
}

// nodeLine is one JSON log line of a node; the fields are those the tests look at.
type nodeLine struct {
	Msg      string `json:"msg"`
	Level    string `json:"level"`
	Task     string `json:"task"`
	Epoch    int64  `json:"epoch"`
	Lease    int64  `json:"lease"`
	At       int64  `json:"at"`
	Deadline int64  `json:"deadline"`
	Err      string `json:"err"`
}

// node is one running weir-assign-node process; its stdout lines are kept in order.
type node struct {
	id     string
	cmd    *exec.Cmd
	done   chan struct{}
	mu     sync.Mutex
	lines  []nodeLine
	stderr bytes.Buffer
	err    error
}

// startNode starts a node; it is killed when the test ends if still running.
func startNode(t *testing.T, bin, id string, args ...string) *node {
	t.Helper()
	n := &node{id: id, done: make(chan struct{})}
	n.cmd = exec.Command(bin, append([]string{"-id", id}, args...)...)
	n.cmd.Stderr = &lockedWriter{mu: &n.mu, w: &n.stderr}
	out, err := n.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.cmd.Start(); err != nil {
		t.Fatalf("starting node %s: %v", id, err)
	}
	go func() {
		defer close(n.done)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var l nodeLine
			if json.Unmarshal(sc.Bytes(), &l) != nil {
				continue
			}
			n.mu.Lock()
			n.lines = append(n.lines, l)
			n.mu.Unlock()
		}
		err := n.cmd.Wait()
		n.mu.Lock()
		n.err = err
		n.mu.Unlock()
	}()
	t.Cleanup(func() {
		select {
		case <-n.done:
		default:
			n.cmd.Process.Signal(syscall.SIGCONT)
			n.cmd.Process.Kill()
			<-n.done
		}
		n.mu.Lock()
		raced := strings.Contains(n.stderr.String(), "WARNING: DATA RACE")
		n.mu.Unlock()
		if raced {
			t.Errorf("node %s reported a data race (built with -race)", id)
		}
		if t.Failed() {
			t.Logf("node %s errors:\n%s", id, n.errors())
		}
	})
	return n
}

func (n *node) signal(t *testing.T, sig syscall.Signal) time.Time {
	t.Helper()
	at := time.Now()
	if err := n.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("sending %v to %s: %v", sig, n.id, err)
	}
	return at
}

// wait waits for the process to exit and returns its exit error.
func (n *node) wait(ctx context.Context) error {
	select {
	case <-n.done:
	case <-ctx.Done():
		return fmt.Errorf("node %s still running: %w", n.id, ctx.Err())
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.err
}

func (n *node) snapshot() []nodeLine {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]nodeLine(nil), n.lines...)
}

// errors returns the node's warnings and errors and its stderr tail, for failure reports.
func (n *node) errors() string {
	var b strings.Builder
	for _, l := range n.snapshot() {
		if l.Level == "WARN" || l.Level == "ERROR" {
			fmt.Fprintf(&b, "  %s %s %s\n", l.Level, l.Msg, l.Err)
		}
	}
	n.mu.Lock()
	tail := n.stderr.String()
	n.mu.Unlock()
	if len(tail) > 4000 {
		tail = tail[len(tail)-4000:]
	}
	return b.String() + tail
}

func (n *node) exitCode() int {
	var ee *exec.ExitError
	if errors.As(n.err, &ee) {
		return ee.ExitCode()
	}
	if n.err != nil {
		return -1
	}
	return 0
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}
