package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/weirhq/weir/libs/agents"
	"github.com/weirhq/weir/libs/agents/expr"
	"github.com/weirhq/weir/libs/config/app"
	"github.com/weirhq/weir/libs/config/cron"
)

// Timer is a compiled timer block: its schedule and what it runs.
type Timer struct {
	Name  string
	RunOn string // app.RunOnOneWorker or app.RunOnEveryWorker
	Every time.Duration
	Cron  string
	sched *cron.Schedule
	agent *agent
}

// Next returns the timer's first scheduled time strictly after t. An every timer fires at
// the multiples of its interval since the Unix epoch, and a cron timer at its
// expression's minutes in UTC, so every worker, and a worker taking over after a
// failover, computes the same times (and so the same emission identities). It returns the
// zero time when a cron expression does not fire within five years.
func (tm *Timer) Next(t time.Time) time.Time {
	if tm.sched != nil {
		return tm.sched.Next(t.UTC())
	}
	step := tm.Every.Nanoseconds()
	n := t.UnixNano()
	next := n - n%step
	if n%step < 0 {
		next -= step
	}
	return time.Unix(0, next+step).UTC()
}

// Timers returns the app's timers, by name.
func (p *Plan) Timers() []*Timer {
	out := make([]*Timer, 0, len(p.timers))
	for _, t := range p.app.Timers { // sorted by name
		if tm := p.timers[t.Name]; tm != nil {
			out = append(out, tm)
		}
	}
	return out
}

func (p *Plan) compileTimer(t *app.Timer, handlers agents.Handlers, ctx evalContext) error {
	tm := &Timer{Name: t.Name, RunOn: t.RunOn, Every: t.Every.Std(), Cron: t.Cron}
	if tm.RunOn == "" {
		tm.RunOn = app.RunOnOneWorker
	}
	switch {
	case t.Cron != "":
		s, err := cron.Parse(t.Cron)
		if err != nil {
			return fmt.Errorf("parsing the cron expression: %w", err)
		}
		tm.sched = s
	case tm.Every <= 0:
		return fmt.Errorf("the interval must be positive, got %s", tm.Every)
	}
	ag := &agent{name: t.Name, policy: &app.ErrorPolicy{Then: app.ThenStop}}
	st := &stage{agent: ag}
	ag.stages = []*stage{st}
	if t.Handler != "" {
		if ag.handler = handlers[t.Handler]; ag.handler == nil {
			return fmt.Errorf("no Go handler %q is registered (registered: %v)", t.Handler, handlers.Names())
		}
	}
	for _, s := range t.Steps {
		cs, err := p.compileStep(s, ctx)
		if err != nil {
			return err
		}
		st.steps = append(st.steps, cs)
	}
	tm.agent = ag
	p.timers[t.Name] = tm
	return nil
}

// TimerConfig configures the timers of one app on one worker.
type TimerConfig struct {
	// Worker is the worker's id: every_worker timers' emissions are identified per worker.
	Worker string
	// Tables gives the app's global tables (a timer looks up nothing else).
	Tables  agents.Tables
	Emitter agents.Emitter
	Logger  *slog.Logger // nil: discard
}

// Timers runs an app's timers on one worker. The runtime schedules them (Timer.Next),
// runs one_worker timers on one worker of the app only and every_worker timers on each,
// and calls Fire for each scheduled time. Fire is used by one goroutine at a time.
type Timers struct {
	task   *Task
	worker string
}

// NewTimers returns the timer runner for cfg.
func (p *Plan) NewTimers(cfg TimerConfig) (*Timers, error) {
	if cfg.Emitter == nil {
		return nil, fmt.Errorf("creating timers: no emitter")
	}
	if cfg.Worker == "" {
		return nil, fmt.Errorf("creating timers: no worker id")
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	known := map[string]bool{}
	for name := range p.tables {
		known[name] = true
	}
	t := &Task{plan: p, cfg: TaskConfig{Partition: -1, Tables: cfg.Tables, Emitter: cfg.Emitter, Sleep: Sleep},
		known: known, logger: logger.With("timers", p.app.Name)}
	return &Timers{task: t, worker: cfg.Worker}, nil
}

// TaskID is the task a timer's emissions carry in HeaderTask: "APP/timers" for a
// one_worker timer, "APP/timers@WORKER" for an every_worker one.
func (ts *Timers) TaskID(tm *Timer) string {
	id := ts.task.plan.app.Name + "/timers"
	if tm.RunOn == app.RunOnEveryWorker {
		id += "@" + ts.worker
	}
	return id
}

// Fire runs the timer called name once for its scheduled time: its steps (timestamp is
// the scheduled time) or its handler (Record.Timestamp is the scheduled time, Partition
// -1). What it emits carries the content identity (task, timer, scheduled time) in
// HeaderIdentity, numbered by HeaderSeq, so a repeated firing (a retry, or a worker taking
// over after a crash) is dropped by Weir consumers. A failure emits nothing; timers have
// no on_error policy, so the runtime decides whether to fire again.
func (ts *Timers) Fire(ctx context.Context, name string, scheduled time.Time) error {
	tm := ts.task.plan.timers[name]
	if tm == nil {
		return fmt.Errorf("firing timer %q: the app has no such timer", name)
	}
	st := tm.agent.stages[0]
	rec := &agents.Record{Partition: -1, Offset: -1, Timestamp: scheduled.UTC()}
	task := ts.TaskID(tm)
	x := &exec{task: ts.task, stage: st, in: rec, tx: newTx(ts.task.cfg.Tables, ts.task.known, ts.task.plan.windowed),
		ctx: ctx, eventTime: rec.Timestamp, taskID: task, identity: agents.TimerIdentity(task, name, scheduled)}
	d := &decoded{Env: expr.Env{Timestamp: rec.Timestamp, Partition: -1, Offset: -1}, raw: *rec}
	if err := x.safely(func() error { return x.start(d) }); err != nil {
		return fmt.Errorf("firing timer %s at %s: %w", name, expr.FormatTime(scheduled), err)
	}
	if err := x.tx.commit(ts.task.cfg.Emitter); err != nil {
		return fmt.Errorf("firing timer %s at %s: %w", name, expr.FormatTime(scheduled), err)
	}
	return nil
}
