package runtime

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// errStalled ends an active run that the stall watchdog found stuck: the task restarts from
// its last commit.
var errStalled = errors.New("the task stalled: it has lag and made no progress")

// progress is what the watchdog reads of an active's loop, from its own goroutine.
type progress struct {
	records atomic.Int64 // records processed (increases with each one)
	busy    atomic.Bool  // the loop is inside a batch, a commit or a timer firing
	stalled atomic.Bool  // set by the watchdog
}

// watchdog calls stall once, when the task has lag (or is busy) and its record count has not
// moved for timeout, checking every tick. It returns when ctx ends or after stalling.
func watchdog(ctx context.Context, p *progress, lag func() int64, timeout, tick time.Duration, now func() time.Time, stall func()) {
	last, since := p.records.Load(), now()
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n := p.records.Load()
		if n != last || (lag() <= 0 && !p.busy.Load()) {
			last, since = n, now()
			continue
		}
		if now().Sub(since) >= timeout {
			p.stalled.Store(true)
			stall()
			return
		}
	}
}

// watched runs the active's loop under the stall watchdog. A stall ends the loop with
// errStalled (reported in the task's status and metrics); the task manager restarts the
// task from its last commit. A handler that never returns cannot be interrupted: its task
// stays stalled (reported) until the worker restarts.
func (a *active) watched(ctx context.Context) error {
	lctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	cfg := a.rt.cfg
	done := make(chan struct{})
	go func() {
		defer close(done)
		watchdog(lctx, &a.prog, a.lag, cfg.StallTimeout, cfg.StallCheck, time.Now, func() {
			reason := fmt.Sprintf("no progress for %s (input lag %d records", cfg.StallTimeout, a.lag())
			if a.prog.busy.Load() {
				reason += ", stuck inside a batch"
			}
			reason += ")"
			a.log.Warn("task stalled; restarting it from its last commit", "reason", reason)
			a.obs.stalled()
			a.rt.mu.Lock()
			a.rt.stalls[a.r.Task] = reason
			if st, ok := a.rt.status[a.r.Task]; ok {
				st.Stalled = reason
				a.rt.status[a.r.Task] = st
			}
			a.rt.mu.Unlock()
			cancel(errStalled)
		})
	}()
	err := a.loop(lctx)
	cancel(nil)
	<-done
	if ctx.Err() == nil && a.prog.stalled.Load() {
		return fmt.Errorf("task %s: %w", a.r.Task, errStalled)
	}
	return err
}
