package runtime

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/weirhq/weir/libs/agents"
	"github.com/weirhq/weir/libs/agents/pipeline"
	"github.com/weirhq/weir/libs/config/app"
	"github.com/weirhq/weir/libs/tables"
)

// timerTable is the internal table, in the changelog of the task that runs an app's
// one_worker timers, holding each timer's last fired scheduled time (Unix nanoseconds, in
// decimal). Its name cannot clash
// with an app's tables: HCL names have no dots.
const timerTable = "weir.timers"

// maxCatchUp bounds how many missed scheduled times of one timer a new owner fires when it
// takes over; beyond it the missed times are skipped (and logged).
const maxCatchUp = 100

// timerTables gives an app's timers its global tables (read-only, without waiting for them
// to catch up: a timer reads what the worker's copy holds when it fires).
func (rt *Runtime) timerTables(plan *pipeline.Plan) agents.Tables {
	set, err := rt.startGlobals(plan)
	if err != nil {
		return noGlobalTables{app: plan.App().Name, err: err}
	}
	return set
}

type noGlobalTables struct {
	app string
	err error
}

func (n noGlobalTables) Table(name string) (agents.Table, error) {
	return nil, fmt.Errorf("table %q of app %q: the global tables did not start: %w", name, n.app, n.err)
}

// ownsOneWorkerTimers reports whether the active of group g, partition part runs the app's
// one_worker timers: partition 0 of the app's first task group does.
func ownsOneWorkerTimers(p *pipeline.Plan, g string, part int32) bool {
	groups := p.App().TaskGroups()
	return part == 0 && len(groups) > 0 && groups[0].Name == g
}

// taskTimers runs an app's one_worker timers inside the active that owns them. Each firing
// records its scheduled time in timerTable, committed with the task's next commit after its
// outputs are flushed: a successor (after a handoff or a failover) resumes after the last
// committed time.
type taskTimers struct {
	timers *pipeline.Timers
	list   []*pipeline.Timer
	next   []time.Time // per timer: the next scheduled time to fire (zero: never)
	table  tables.Table
	log    *slog.Logger
	obs    *taskObs
}

// newTaskTimers returns the one_worker timers of a's app if a owns them, else nil.
func newTaskTimers(a *active, now time.Time) (*taskTimers, error) {
	if !ownsOneWorkerTimers(a.plan, a.group, int32(a.r.Task.Partition)) {
		return nil, nil
	}
	var list []*pipeline.Timer
	for _, tm := range a.plan.Timers() {
		if tm.RunOn != app.RunOnEveryWorker {
			list = append(list, tm)
		}
	}
	if len(list) == 0 {
		return nil, nil
	}
	ts, err := a.plan.NewTimers(pipeline.TimerConfig{Worker: a.rt.cfg.WorkerID, Tables: a.rt.timerTables(a.plan),
		Emitter: countingEmitter{a.emit, a.obs.out}, Logger: a.log})
	if err != nil {
		return nil, err
	}
	tb, err := a.task.Table(timerTable)
	if err != nil {
		return nil, err
	}
	tt := &taskTimers{timers: ts, list: list, next: make([]time.Time, len(list)), table: tb, log: a.log, obs: a.obs}
	for i, tm := range list {
		v, ok, err := tb.Get([]byte(tm.Name))
		if err != nil {
			return nil, fmt.Errorf("reading the last firing of timer %s: %w", tm.Name, err)
		}
		ns, perr := strconv.ParseInt(string(v), 10, 64)
		if !ok || perr != nil {
			tt.next[i] = tm.Next(now) // first run: from now on, nothing before
			continue
		}
		tt.next[i] = catchUp(tm, time.Unix(0, ns).UTC(), now, a.log)
	}
	return tt, nil
}

// catchUp returns the first time to fire after last: the next one, unless more than
// maxCatchUp times were missed up to now, in which case the first one after now.
func catchUp(tm *pipeline.Timer, last, now time.Time, log *slog.Logger) time.Time {
	first := tm.Next(last)
	t, missed := first, 0
	for !t.IsZero() && !t.After(now) {
		if missed++; missed > maxCatchUp {
			next := tm.Next(now)
			log.Warn("timer missed too many scheduled times; skipping them", "timer", tm.Name,
				"last_fired", last, "resumes_at", next, "max_catch_up", maxCatchUp)
			return next
		}
		t = tm.Next(t)
	}
	return first
}

// fire fires every scheduled time that is due at now, oldest first. A failing firing is
// logged and counted, and not repeated (timers have no on_error policy); a failed send
// fails the task's next commit, which restarts the task before the firing is committed.
func (tt *taskTimers) fire(ctx context.Context, now time.Time) error {
	for i, tm := range tt.list {
		for !tt.next[i].IsZero() && !tt.next[i].After(now) {
			at := tt.next[i]
			fireTimer(ctx, tt.timers, tm, at, tt.log, tt.obs)
			if err := tt.table.Set([]byte(tm.Name), strconv.AppendInt(nil, at.UnixNano(), 10)); err != nil {
				return fmt.Errorf("recording the firing of timer %s: %w", tm.Name, err)
			}
			tt.next[i] = tm.Next(at)
		}
	}
	return nil
}

func fireTimer(ctx context.Context, ts *pipeline.Timers, tm *pipeline.Timer, at time.Time, log *slog.Logger, obs *taskObs) {
	if err := ts.Fire(ctx, tm.Name, at); err != nil {
		log.Warn("timer failed", "timer", tm.Name, "scheduled", at, "error", err)
		obs.timerFired(tm.Name, false)
		return
	}
	obs.timerFired(tm.Name, true)
}

// workerTimers runs the every_worker timers of the apps this worker runs an active task
// of: one goroutine per app, owned by the runtime's context, started with the app's first
// active here and stopped with its last. They keep no state: a (re)started goroutine fires
// the times after its start.
type workerTimers struct {
	rt   *Runtime
	mu   sync.Mutex
	apps map[string]*appTimers
	wg   sync.WaitGroup
}

type appTimers struct {
	version int64
	refs    int
	cancel  context.CancelFunc
}

// hold counts an active of the app's version on this worker and returns its release.
func (w *workerTimers) hold(plan *pipeline.Plan, version int64) func() {
	var list []*pipeline.Timer
	for _, tm := range plan.Timers() {
		if tm.RunOn == app.RunOnEveryWorker {
			list = append(list, tm)
		}
	}
	if len(list) == 0 {
		return func() {}
	}
	name := plan.App().Name
	w.mu.Lock()
	defer w.mu.Unlock()
	at := w.apps[name]
	switch {
	case at != nil && at.version == version:
		at.refs++
	case at != nil && at.version > version:
		return func() {} // an active of an older version, about to switch
	default:
		if at != nil {
			at.cancel() // a newer version replaces the running timers
		}
		ctx, cancel := context.WithCancel(w.rt.ctx)
		at = &appTimers{version: version, refs: 1, cancel: cancel}
		w.apps[name] = at
		w.wg.Go(func() { w.run(ctx, plan, list) })
	}
	return func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if at.refs--; at.refs == 0 {
			at.cancel()
			if w.apps[name] == at {
				delete(w.apps, name)
			}
		}
	}
}

// run fires the timers in list until ctx ends.
func (w *workerTimers) run(ctx context.Context, plan *pipeline.Plan, list []*pipeline.Timer) {
	log := w.rt.log.With("app", plan.App().Name, "timers", "every_worker")
	obs := w.rt.obs.task(plan.App().Name, "timers@"+w.rt.cfg.WorkerID)
	var em *emitter
	var ts *pipeline.Timers
	start := func() error {
		em = newEmitter(ctx, w.rt.producer)
		var err error
		ts, err = plan.NewTimers(pipeline.TimerConfig{Worker: w.rt.cfg.WorkerID, Tables: w.rt.timerTables(plan),
			Emitter: countingEmitter{em, obs.out}, Logger: log})
		return err
	}
	if err := start(); err != nil {
		log.Error("starting every_worker timers", "error", err)
		return
	}
	now := time.Now()
	next := make([]time.Time, len(list))
	for i, tm := range list {
		next[i] = tm.Next(now)
	}
	for {
		i := -1
		for j := range next {
			if !next[j].IsZero() && (i < 0 || next[j].Before(next[i])) {
				i = j
			}
		}
		if i < 0 {
			return // no timer fires again
		}
		t := time.NewTimer(time.Until(next[i]))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		fireTimer(ctx, ts, list[i], next[i], log, obs)
		if err := em.flush(ctx); err != nil && ctx.Err() == nil {
			log.Warn("sending a timer's outputs", "timer", list[i].Name, "error", err)
			_ = start() // the failure is reported; later firings send afresh (start failed above if it fails)
		}
		next[i] = list[i].Next(next[i])
	}
}
