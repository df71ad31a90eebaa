package runtime

import (
	"context"
	"fmt"
	"time"

	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/libs/tables"
	"github.com/weirhq/weir/services/worker/tasks"
)

// runStandby follows the task's changelog into the local store and reports its lag, which
// the controller uses to decide when a warm-up is caught up enough for a handoff.
func (rt *Runtime) runStandby(ctx context.Context, r tasks.Replica) error {
	plan, version, err := rt.apps.plan(ctx, r.Task.App)
	if err != nil {
		return err
	}
	g, err := group(plan, r.Task.Group)
	if err != nil {
		return err
	}
	log := rt.log.With("task", r.Task.String(), "role", string(r.Role))
	if _, err := rt.startGlobals(plan); err != nil { // warm for a promotion
		log.Warn("starting the app's global tables", "err", err)
	}
	s, err := tables.OpenStandby(rt.cfg.Store, rt.kafka, tables.StandbyConfig{Topic: g.Changelog, Partition: int32(r.Task.Partition), Logger: log})
	if err != nil {
		return fmt.Errorf("opening standby of %s: %w", r.Task, err)
	}
	rt.watchState(r.Task, r.Role, s.Metrics)
	sctx, stop := context.WithCancel(ctx)
	var runErr error
	done := make(chan struct{}) // closed when Run has returned (runErr set): waited on by the loop and the defer alike
	go func() { runErr = s.Run(sctx); close(done) }()
	defer func() { stop(); <-done }()

	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		lag := s.Lag()
		reported := lag
		if reported < 0 {
			reported = 1 << 40 // unknown until the first fetch answers: not caught up
		}
		r.Report(cluster.Following, reported)
		rt.setStatus(TaskStatus{Task: r.Task, Role: r.Role, State: cluster.Following, Epoch: r.Epoch, Lag: lag, Version: version, Changelog: g.Changelog})
		select {
		case <-ctx.Done():
			return nil
		case <-done:
			if err := runErr; err != nil {
				return fmt.Errorf("standby of %s: %w", r.Task, err)
			}
			return nil
		case <-tick.C:
		}
	}
}
