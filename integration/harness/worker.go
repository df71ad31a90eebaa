package harness

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// WorkerConfig starts one real worker process (a services/worker binary, or a user's own
// worker built on services/worker/node) with `serve`.
type WorkerConfig struct {
	Bin           string // the worker binary
	ID            string // --instance-id
	EtcdPrefix    string
	EtcdEndpoints []string
	Brokers       []string
	DataDir       string
	// LogPath receives the process's output in full (stderr line by line, and stdout).
	LogPath string
	// Args are more flags after the common ones (a later flag wins over an earlier one).
	Args []string
	// Env holds more environment variables (NAME=value) on top of this process's.
	Env []string
	// OnLine, when set, sees every line the worker logs (from the log-reading goroutine).
	OnLine func(line string)
	// ReadyTimeout bounds the wait for the worker's ready line (60 s when zero).
	ReadyTimeout time.Duration
}

// Worker is a running worker process.
type Worker struct {
	ID, Dir, LogPath string
	Addr             string // the address of its server, from its ready line

	cmd  *exec.Cmd
	done chan struct{}
	tail LogTail
}

var workerReadyAddr = regexp.MustCompile(`addr=("?)([^ "]+)`)

// StartWorker starts a worker and waits until it logs that it is ready. The caller stops it
// (Kill, or Stop); a goroutine reads its log until it exits.
func StartWorker(cfg WorkerConfig) (*Worker, error) {
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 60 * time.Second
	}
	w := &Worker{ID: cfg.ID, Dir: cfg.DataDir, LogPath: cfg.LogPath, done: make(chan struct{})}
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--instance-id", cfg.ID,
		"--etcd-prefix", cfg.EtcdPrefix, "--etcd-endpoints", strings.Join(cfg.EtcdEndpoints, ","),
		"--kafka-brokers", strings.Join(cfg.Brokers, ","), "--data-dir", cfg.DataDir}, cfg.Args...)
	w.cmd = exec.Command(cfg.Bin, args...)
	if len(cfg.Env) > 0 {
		w.cmd.Env = append(os.Environ(), cfg.Env...)
	}
	logf, err := os.Create(cfg.LogPath)
	if err != nil {
		return nil, fmt.Errorf("creating the log of worker %s: %w", cfg.ID, err)
	}
	errPipe, err := w.cmd.StderrPipe()
	if err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting worker %s: %w", cfg.ID, err)
	}
	w.cmd.Stdout = logf
	if err := w.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting worker %s: %w", cfg.ID, err)
	}
	ready := make(chan struct{})
	go func() {
		defer close(w.done)
		sc := bufio.NewScanner(errPipe)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		isReady := false
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logf, line)
			w.tail.Add(line)
			if cfg.OnLine != nil {
				cfg.OnLine(line)
			}
			if !isReady && (strings.Contains(line, "msg=ready") || strings.Contains(line, `"msg":"ready"`)) {
				if m := workerReadyAddr.FindStringSubmatch(line); m != nil {
					w.Addr = m[2]
					isReady = true
					close(ready)
				}
			}
		}
		w.cmd.Wait()
		logf.Close()
	}()
	select {
	case <-ready:
		return w, nil
	case <-w.done:
		return nil, fmt.Errorf("worker %s exited before it was ready; log %s:\n%s", cfg.ID, cfg.LogPath, w.Tail())
	case <-time.After(cfg.ReadyTimeout):
		w.Kill()
		return nil, fmt.Errorf("worker %s not ready within %s; log %s:\n%s", cfg.ID, cfg.ReadyTimeout, cfg.LogPath, w.Tail())
	}
}

// LogTail keeps the last 40 lines of a log, for error messages. The zero value is ready;
// it is safe for concurrent use.
type LogTail struct {
	mu    sync.Mutex
	lines []string
}

// Add appends a line.
func (l *LogTail) Add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
	if len(l.lines) > 40 {
		l.lines = l.lines[len(l.lines)-40:]
	}
}

// String returns the lines kept, one a line.
func (l *LogTail) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// Tail returns the last lines the worker logged.
func (w *Worker) Tail() string { return w.tail.String() }

// Pid is the worker's process id.
func (w *Worker) Pid() int { return w.cmd.Process.Pid }

// Done is closed once the process exited and its log is complete.
func (w *Worker) Done() <-chan struct{} { return w.done }

// Alive reports whether the process has not exited yet.
func (w *Worker) Alive() bool {
	select {
	case <-w.done:
		return false
	default:
		return true
	}
}

// Signal sends sig to the process.
func (w *Worker) Signal(sig os.Signal) error { return w.cmd.Process.Signal(sig) }

// Kill sends SIGKILL (after SIGCONT, in case it is stopped) and waits for the exit.
func (w *Worker) Kill() {
	if !w.Alive() {
		return
	}
	w.cmd.Process.Signal(syscall.SIGCONT)
	w.cmd.Process.Kill()
	<-w.done
}

// Stop asks the worker to stop (SIGINT: it drains and exits) and kills it when it has not
// exited within grace; the error says it had to be killed.
func (w *Worker) Stop(grace time.Duration) error {
	if !w.Alive() {
		return nil
	}
	w.cmd.Process.Signal(os.Interrupt)
	select {
	case <-w.done:
		return nil
	case <-time.After(grace):
		w.Kill()
		return errors.New("worker " + w.ID + " did not stop within " + grace.String() + "; killed")
	}
}

// Problems returns the last max WARN and ERROR lines of the worker's log file (read now), to
// show with a test failure: the ready tail rarely holds the cause.
func (w *Worker) Problems(max int) string {
	raw, err := os.ReadFile(w.LogPath)
	if err != nil {
		return fmt.Sprintf("reading %s: %v", w.LogPath, err)
	}
	var out []string
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
			out = append(out, line)
		}
	}
	if len(out) > max {
		out = out[len(out)-max:]
	}
	if len(out) == 0 {
		return "(none)"
	}
	return strings.Join(out, "\n")
}
