//go:build integration

package integration

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/weirhq/weir/integration/harness"
	"github.com/weirhq/weir/libs/agents"
	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/libs/topics"
)

// timerOwner is the worker running the app's one_worker timers: the active of partition 0
// of its first task group (the group of agent "copy", the only one).
func timerOwner(t *testing.T, ctx context.Context, env *ctlEnv, app string) string {
	t.Helper()
	as, err := cluster.ReadAssignments(ctx, env.etcd, env.layout, app)
	if err != nil {
		t.Fatal(err)
	}
	for k, a := range as.Tasks {
		if k.Partition == 0 {
			return a.Active
		}
	}
	t.Fatalf("no task of partition 0 in %+v", as.Tasks)
	return ""
}

// TestTimersAcrossHandoffAndKill runs an app with a one_worker timer firing every second and
// an every_worker timer on 2 real worker processes, then stops the worker running the
// one_worker timer gracefully (a handoff) and later kills the next one with -9 (a failover):
// every scheduled time is fired, and fired exactly once except the times fired by a killed
// worker after its last commit (re-fired by its successor with the same identity, which
// Weir consumers drop).
func TestTimersAcrossHandoffAndKill(t *testing.T) {
	ctx := harness.Context(t, 4*time.Minute)
	sc := newScratch(t)
	appName, prefix := sc.app(t, "timers"), sc.prefix
	src := fmt.Sprintf(`
app %q {
  partitions = 2
}

topic "input" {
  name = %q
}

topic "ticks" {
  name       = %q
  partitions = 1
  value      = json
}

topic "worker_ticks" {
  name       = %q
  partitions = 1
  value      = json
}

agent "copy" {
  from = topic.input
  emit {
    to = topic.ticks
  }
}

timer "tick" {
  every = "1s"
  emit {
    to    = topic.ticks
    value = { at = timestamp }
  }
}

timer "local" {
  every  = "1s"
  run_on = "every_worker"
  emit {
    to    = topic.worker_ticks
    value = { at = timestamp }
  }
}
`, appName, prefix+"input", prefix+"ticks", prefix+"worker_ticks")

	bin := workerBinary(t)
	env := newCtlEnv(t)
	ctl := env.start(t, "c1")
	applySource(t, ctx, ctl.Addr, src)
	logDir := t.TempDir()
	procs := map[string]*workerProc{}
	spawn := func(wid string) {
		procs[wid] = startWorkerProc(t, bin, env, wid, t.TempDir(), filepath.Join(logDir, wid+".log"))
	}
	spawn("w1")
	spawn("w2")
	env.waitAssigned(t, ctx, appName, 2)
	time.Sleep(4 * time.Second)

	// A graceful stop of the timer's worker: its task is handed off.
	first := timerOwner(t, ctx, env, appName)
	stopAt := time.Now()
	procs[first].Signal(syscall.SIGTERM)
	select {
	case <-procs[first].Done():
	case <-time.After(60 * time.Second):
		t.Fatalf("worker %s did not stop within 60s after SIGTERM", first)
	}
	t.Logf("stopped %s (timer owner) gracefully after %s", first, time.Since(stopAt).Round(time.Millisecond))
	spawn("w3")
	env.waitAssigned(t, ctx, appName, 2)
	time.Sleep(4 * time.Second)

	// A kill -9 of the timer's worker: its successor takes over after the lease expires.
	second := timerOwner(t, ctx, env, appName)
	killAt := time.Now()
	procs[second].kill()
	t.Logf("killed %s (timer owner)", second)
	env.waitAssigned(t, ctx, appName, 1)
	time.Sleep(4 * time.Second)
	end := time.Now()

	// Read the ticks up to a scheduled time well before the end.
	type firing struct {
		task string
		at   time.Time
	}
	var mu sync.Mutex
	var fired []firing
	cutoff := end.Add(-2 * time.Second).Truncate(time.Second)
	readUntil(t, ctx, prefix+"ticks", 1, func(r topics.Record) bool {
		ident := header(r, agents.HeaderIdentity)
		parts := strings.Split(ident, "/")
		if len(parts) < 2 {
			t.Fatalf("a tick without a timer identity: headers %v", r.Headers)
		}
		ms, err := strconv.ParseInt(parts[len(parts)-1], 10, 64)
		if err != nil {
			t.Fatalf("identity %q: %v", ident, err)
		}
		mu.Lock()
		defer mu.Unlock()
		at := time.UnixMilli(ms)
		fired = append(fired, firing{task: header(r, agents.HeaderTask), at: at})
		return !at.Before(cutoff)
	})
	count := map[int64]int{}
	var times []int64
	for _, f := range fired {
		if f.task != appName+"/timers" {
			t.Errorf("tick from task %q, want %s/timers", f.task, appName)
		}
		if count[f.at.Unix()]++; count[f.at.Unix()] == 1 {
			times = append(times, f.at.Unix())
		}
	}
	slices.Sort(times)
	if len(times) < 10 {
		t.Fatalf("only %d distinct ticks: %v", len(times), times)
	}
	for i := 1; i < len(times); i++ {
		if times[i] != times[i-1]+1 {
			t.Errorf("ticks skipped between %s and %s", time.Unix(times[i-1], 0).UTC(), time.Unix(times[i], 0).UTC())
		}
	}
	dups := 0
	for sec, c := range count {
		if c == 1 {
			continue
		}
		dups++
		// Only a time the killed worker fired after its last commit may be fired again.
		at := time.Unix(sec, 0)
		if c > 2 || at.Before(killAt.Add(-2*time.Second)) || at.After(killAt) {
			t.Errorf("tick %s fired %d times (graceful stop at %s, kill at %s)", at.UTC(), c, stopAt.UTC(), killAt.UTC())
		}
	}
	t.Logf("%d one_worker ticks from %s to %s, %d re-fired after the kill (same identity)", len(times),
		time.Unix(times[0], 0).UTC(), time.Unix(times[len(times)-1], 0).UTC(), dups)

	// every_worker: each live worker fires its own ticks, identified per worker.
	perWorker := map[string]int{}
	readUntil(t, ctx, prefix+"worker_ticks", 1, func(r topics.Record) bool {
		perWorker[header(r, agents.HeaderTask)]++
		return !r.Time.Before(cutoff)
	})
	for _, wid := range []string{"w1", "w2", "w3"} {
		if perWorker[appName+"/timers@"+wid] == 0 {
			t.Errorf("no every_worker tick from %s: %v", wid, perWorker)
		}
	}
}

func header(r topics.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}
