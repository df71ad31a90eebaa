package runtime

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// runWatchdog runs a watchdog on p with the given lag and a fake clock advanced by step on
// every check, until it stalls or maxChecks checks passed; it returns whether it stalled
// and after how much fake time.
func runWatchdog(t *testing.T, p *progress, lag int64, onCheck func(i int)) (bool, time.Duration) {
	t.Helper()
	clock := &fakeClock{t: time.Unix(1000, 0)}
	start := clock.now()
	var checks atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stalled := make(chan time.Duration, 1)
	done := make(chan struct{})
	lagFn := func() int64 {
		// called once per check: move the clock and let the test act
		i := checks.Add(1)
		clock.add(time.Second)
		if onCheck != nil {
			onCheck(int(i))
		}
		return lag
	}
	go func() {
		defer close(done)
		watchdog(ctx, p, lagFn, 10*time.Second, time.Millisecond, clock.now, func() { stalled <- clock.now().Sub(start) })
	}()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case d := <-stalled:
			<-done
			return true, d
		case <-deadline:
			cancel()
			<-done
			return false, 0
		case <-time.After(time.Millisecond):
			if checks.Load() > 100 {
				cancel()
				<-done
				return false, 0
			}
		}
	}
}

func TestWatchdogStallsTaskWithLagAndNoProgress(t *testing.T) {
	var p progress
	stalled, after := runWatchdog(t, &p, 5, nil)
	if !stalled {
		t.Fatal("a task with lag and no progress was not reported stalled")
	}
	if after < 10*time.Second || after > 12*time.Second {
		t.Errorf("stalled after %s of fake time, want about the 10s timeout", after)
	}
	if !p.stalled.Load() {
		t.Error("progress.stalled not set")
	}
}

func TestWatchdogLeavesProgressingAndIdleTasksAlone(t *testing.T) {
	var p progress
	if stalled, _ := runWatchdog(t, &p, 5, func(int) { p.records.Add(1) }); stalled {
		t.Error("a task that processes records was reported stalled")
	}
	var idle progress
	if stalled, _ := runWatchdog(t, &idle, 0, nil); stalled {
		t.Error("an idle task without lag was reported stalled")
	}
}

func TestWatchdogStallsBusyTaskWithoutLag(t *testing.T) {
	var p progress
	p.busy.Store(true) // stuck inside a batch whose records were all delivered
	if stalled, _ := runWatchdog(t, &p, 0, nil); !stalled {
		t.Error("a task stuck inside a batch was not reported stalled")
	}
}
