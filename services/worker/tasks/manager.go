package tasks

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/weirhq/weir/libs/cluster"
)

// Released is the outcome of releasing an active: the checkpoint for the task's released
// record, or the error that kept it from making its final commit.
type Released struct {
	Spec       Spec
	Checkpoint cluster.Checkpoint
	Err        error
}

// Manager runs the replicas of one worker incarnation (one lease). Apply, Status and Stop are
// safe for concurrent use; every replica goroutine is owned by the context given to New and is
// finished when Stop returns.
type Manager struct {
	body     Body
	lease    Lease
	log      *slog.Logger
	released chan<- Released
	ctx      context.Context
	cancel   context.CancelFunc

	mu      sync.Mutex
	running map[cluster.TaskKey]*runner
	wg      sync.WaitGroup
}

// runner is one replica's goroutine and what it last reported.
type runner struct {
	spec   Spec
	cancel context.CancelFunc
	done   chan struct{}

	mu    sync.Mutex
	state cluster.ReplicaState
	lag   int64
}

// New returns a Manager whose replicas run body under lease; released receives the outcome of
// every release (the channel must be drained while the Manager runs).
func New(ctx context.Context, body Body, lease Lease, released chan<- Released, log *slog.Logger) *Manager {
	ctx, cancel := context.WithCancel(ctx)
	return &Manager{body: body, lease: lease, log: log, released: released, ctx: ctx, cancel: cancel,
		running: map[cluster.TaskKey]*runner{}}
}

// Apply makes the running replicas match want: replicas whose Spec is unchanged keep running;
// changed ones are stopped (and waited for) before their new run starts; replicas not wanted
// are stopped.
func (m *Manager) Apply(want map[cluster.TaskKey]Spec) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ctx.Err() != nil {
		return
	}
	for _, t := range slices.SortedFunc(maps.Keys(m.running), cluster.TaskKey.Compare) {
		r := m.running[t]
		if s, ok := want[t]; !ok || !r.spec.same(s) {
			r.stop()
			delete(m.running, t)
		}
	}
	for _, t := range slices.SortedFunc(maps.Keys(want), cluster.TaskKey.Compare) {
		if _, ok := m.running[t]; !ok {
			m.start(want[t])
		}
	}
}

// Specs returns what is running now.
func (m *Manager) Specs() map[cluster.TaskKey]Spec {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[cluster.TaskKey]Spec, len(m.running))
	for t, r := range m.running {
		out[t] = r.spec
	}
	return out
}

// Status lists every replica with its last report.
func (m *Manager) Status() []cluster.TaskStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]cluster.TaskStatus, 0, len(m.running))
	for _, r := range m.running {
		r.mu.Lock()
		out = append(out, cluster.TaskStatus{Task: r.spec.Task, Role: r.spec.Role, Epoch: r.spec.Epoch, State: r.state, Lag: r.lag})
		r.mu.Unlock()
	}
	return out
}

// Stop stops every replica and waits for them; the Manager accepts no more work.
func (m *Manager) Stop() {
	m.mu.Lock()
	m.cancel()
	for t, r := range m.running {
		r.stop()
		delete(m.running, t)
	}
	m.mu.Unlock()
	m.wg.Wait()
}

func (r *runner) stop() {
	r.cancel()
	<-r.done
}

func (r *runner) report(state cluster.ReplicaState, lag int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.state, r.lag = state, lag
}

// start launches a replica; m.mu is held.
func (m *Manager) start(s Spec) {
	ctx, cancel := context.WithCancel(m.ctx)
	r := &runner{spec: s, cancel: cancel, done: make(chan struct{}), state: initialState(s)}
	m.running[s.Task] = r
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer close(r.done)
		rep := m.replica(ctx, s, r.report)
		if s.Release {
			m.release(ctx, r, rep)
			return
		}
		m.run(ctx, rep)
	}()
}

// replica is what the body gets for spec s, run under ctx.
func (m *Manager) replica(ctx context.Context, s Spec, report func(cluster.ReplicaState, int64)) Replica {
	return Replica{Spec: s, Lease: int64(m.lease.ID()), Deadline: m.lease.Deadline, Report: report,
		Alive: func() bool { return ctx.Err() == nil && m.lease.Alive() }}
}

// Replica returns what the body gets for s outside a run (a final commit on leaving).
func (m *Manager) Replica(ctx context.Context, s Spec) Replica {
	return m.replica(ctx, s, func(cluster.ReplicaState, int64) {})
}

func initialState(s Spec) cluster.ReplicaState {
	switch {
	case s.Release:
		return cluster.ReleasingState
	case s.Role == cluster.RoleActive:
		return cluster.Recovering
	}
	return cluster.Following
}

// run runs the body until ctx ends, restarting it after a failure.
func (m *Manager) run(ctx context.Context, rep Replica) {
	for {
		err := m.body.Run(ctx, rep)
		if ctx.Err() != nil {
			return
		}
		m.log.Warn("task replica failed; restarting", "task", rep.Task.String(), "role", rep.Role, "epoch", rep.Epoch, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// release makes the final commit of an active told to release and reports the outcome.
func (m *Manager) release(ctx context.Context, r *runner, rep Replica) {
	var out Released
	out.Spec = rep.Spec
	if !rep.Alive() {
		out.Err = fmt.Errorf("releasing %s: lease no longer alive", rep.Task)
	} else if cp, err := m.body.Release(ctx, rep); err != nil {
		out.Err = fmt.Errorf("releasing %s at epoch %d: %w", rep.Task, rep.Epoch, err)
	} else {
		out.Checkpoint = cp
		r.report(cluster.Released, 0)
	}
	select {
	case m.released <- out:
	case <-ctx.Done():
	}
}
