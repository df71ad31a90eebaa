// Package failpoint lets crash tests stop a process at named points of the commit protocol.
//
// Failpoints are armed only through the environment variable WEIR_FAILPOINTS, read once at
// start:
//
//	WEIR_FAILPOINTS="commit.after-flush=kill@3,commit.before-append=zombie@5"
//
// Each entry is NAME=ACTION@N: the N-th time the process passes the point NAME, ACTION
// fires (once); or NAME=ACTION@+DURATION: ACTION fires (once) at the first pass at least
// DURATION (e.g. 5s) after the process started, whatever the rate of passes. Actions:
//
//   - kill: the process writes "failpoint fired name=NAME action=kill" to stderr and sends
//     itself SIGKILL (a crash at exactly that point).
//   - any other word (e.g. zombie): Hit returns it and the caller acts on it.
//
// When WEIR_FAILPOINTS is unset, Hit is one load of a nil map and a return: free on the hot
// path. Unknown names are allowed (a point that does not exist never fires); a malformed
// value makes Hit never fire and is reported by Err.
package failpoint

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// EnvVar is the environment variable that arms failpoints.
const EnvVar = "WEIR_FAILPOINTS"

// ActionKill kills the process at the failpoint.
const ActionKill = "kill"

type point struct {
	action    string
	at        int64     // fires on this hit (0: by time)
	notBefore time.Time // fires at the first hit from then on (when at is 0)
	hits      int64
	fired     bool
}

var (
	started  = time.Now()
	mu       sync.Mutex
	points   map[string]*point // nil when nothing is armed: Hit returns at once
	parseErr error
)

func init() {
	points, parseErr = parse(os.Getenv(EnvVar))
	if parseErr != nil {
		fmt.Fprintf(os.Stderr, "failpoint: ignoring %s: %v\n", EnvVar, parseErr)
		points = nil
	}
}

// Err reports a malformed WEIR_FAILPOINTS (then no failpoint is armed).
func Err() error { return parseErr }

// parse parses a WEIR_FAILPOINTS value; it reports every malformed entry at once. An empty
// value arms nothing (a nil map).
func parse(s string) (map[string]*point, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	out := map[string]*point{}
	var errs []error
	for _, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		name, spec, ok := strings.Cut(entry, "=")
		action, at, ok2 := strings.Cut(spec, "@")
		var n int64
		var d time.Duration
		var err error
		if rest, byTime := strings.CutPrefix(at, "+"); byTime {
			if d, err = time.ParseDuration(rest); err == nil && d < 0 {
				err = errors.New("negative")
			}
		} else if n, err = strconv.ParseInt(at, 10, 64); err == nil && n < 1 {
			err = errors.New("not positive")
		}
		switch {
		case !ok || !ok2 || name == "" || action == "":
			errs = append(errs, fmt.Errorf("entry %q: want NAME=ACTION@N or NAME=ACTION@+DURATION", entry))
		case err != nil:
			errs = append(errs, fmt.Errorf("entry %q: N must be a positive integer, DURATION a duration like 5s", entry))
		case out[name] != nil:
			errs = append(errs, fmt.Errorf("entry %q: failpoint %s armed twice", entry, name))
		default:
			out[name] = &point{action: action, at: n, notBefore: started.Add(d)}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// Hit marks one pass through the failpoint name. It returns the armed action when this pass
// is the one it fires on ("" otherwise); a kill action does not return.
func Hit(name string) string {
	if points == nil {
		return ""
	}
	mu.Lock()
	p := points[name]
	if p == nil {
		mu.Unlock()
		return ""
	}
	p.hits++
	fire := !p.fired && (p.hits == p.at || (p.at == 0 && !time.Now().Before(p.notBefore)))
	p.fired = p.fired || fire
	hit := p.hits
	mu.Unlock()
	if !fire {
		return ""
	}
	fmt.Fprintf(os.Stderr, "failpoint fired name=%s action=%s hit=%d\n", name, p.action, hit)
	if p.action == ActionKill {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way
	}
	return p.action
}

// StopFor stops the whole process (SIGSTOP, as a long GC pause or a frozen VM would) and has
// a helper process resume it (SIGCONT) after d. It returns once the process runs again.
func StopFor(d time.Duration) error {
	pid := os.Getpid()
	secs := strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
	resume := exec.Command("/bin/sh", "-c", "sleep "+secs+"; kill -CONT "+strconv.Itoa(pid))
	if err := resume.Start(); err != nil {
		return fmt.Errorf("failpoint: starting the resumer: %w", err)
	}
	go resume.Wait() // reap it
	fmt.Fprintf(os.Stderr, "failpoint: stopping the process for %s\n", d)
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		return fmt.Errorf("failpoint: stopping the process: %w", err)
	}
	return nil
}
