package server

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/services/controller/plan"
)

// wipe stops an app's tasks and rebuilds its internal topics: the state reset that reset
// --wipe-state and apply --reset-state share.
//
//  1. Write the app's paused marker (guarded). The assignment loop unassigns every task of a
//     paused app; each active makes its final commit and writes its released record, or its
//     lease expires.
//  2. Wait until no task of the app has an active (ReleaseWait at most; on timeout the wipe
//     stops with the app still paused, unless forced).
//  3. Optionally commit the consumer group's new offsets (reset).
//  4. Recreate the internal topics (changelogs, repartition topics) empty.
//  5. Return the operations that raise the epoch floor and delete the paused marker, for the
//     caller's final transaction; the assignment loop then reassigns the tasks.
type wipe struct {
	s       *Service
	app     string
	guard   *cluster.Guard
	headRev int64
	log     *slog.Logger
}

// run does steps 1–4: it pauses the app, waits for its tasks to be released, runs between
// (if set), recreates the internal topics among ts when recreate is set, and returns the
// recreated topics and the operations of the final transaction (floor raised, pause lifted).
func (w *wipe) run(ctx context.Context, st cluster.AppState, ts []plan.Topic, reason string, force, recreate, resetPositions bool, between func(context.Context) error) ([]clientv3.Op, []string, cluster.EpochFloor, error) {
	l := w.s.cfg.Layout
	var floor cluster.EpochFloor
	pause, err := cluster.PutJSONOp(l.PausedKey(w.app), cluster.Paused{Reason: reason, Since: w.s.cfg.Now().UTC(), By: w.s.cfg.ID})
	if err != nil {
		return nil, nil, floor, err
	}
	if _, err := cluster.CommitApp(ctx, w.s.cfg.Etcd, l, w.guard, cluster.AppWrite{App: w.app, HeadRev: w.headRev, Ops: []clientv3.Op{pause}}); err != nil {
		return nil, nil, floor, err
	}
	w.log.Info("paused app", "reason", reason)
	maxEpoch, err := w.waitReleased(ctx, force)
	if err != nil {
		return nil, nil, floor, err
	}
	if between != nil {
		if err := between(ctx); err != nil {
			return nil, nil, floor, err
		}
	}
	var names []string
	if recreate {
		var internal []plan.Topic
		for _, t := range ts {
			if t.Internal() && t.Role != plan.RoleDeadLetter {
				internal = append(internal, t)
			}
		}
		if names, err = w.s.recreateTopics(ctx, internal); err != nil {
			return nil, nil, floor, err
		}
		w.log.Info("recreated internal topics", "topics", names)
	}
	floor = cluster.EpochFloor{Floor: max(st.Floor.Floor, maxEpoch+1, st.Revision+1), RaisedAt: w.s.cfg.Now().UTC(),
		Reason: reason, ResetPositions: resetPositions}
	ops, err := w.finish(floor)
	return ops, names, floor, err
}

// finish returns the operations that store floor and lift the pause.
func (w *wipe) finish(floor cluster.EpochFloor) ([]clientv3.Op, error) {
	l := w.s.cfg.Layout
	put, err := cluster.PutJSONOp(l.EpochFloorKey(w.app), floor)
	if err != nil {
		return nil, err
	}
	return []clientv3.Op{put, clientv3.OpDelete(l.PausedKey(w.app))}, nil
}

// waitReleased polls the app's assignments until no task has an active and returns the
// highest epoch seen. Until the assignment loop honours the paused marker, tasks with an
// active are only released by an operator or by force.
func (w *wipe) waitReleased(ctx context.Context, force bool) (int64, error) {
	deadline := time.Now().Add(w.s.cfg.ReleaseWait)
	var maxEpoch int64
	for {
		as, err := cluster.ReadAssignments(ctx, w.s.cfg.Etcd, w.s.cfg.Layout, w.app)
		if err != nil {
			return 0, err
		}
		held := map[string]string{}
		for t, a := range as.Tasks {
			maxEpoch = max(maxEpoch, a.Epoch)
			if a.Active != "" {
				held[t.String()] = a.Active
			}
		}
		if len(held) == 0 {
			return maxEpoch, nil
		}
		if time.Now().After(deadline) {
			var list []string
			for _, t := range slices.Sorted(maps.Keys(held)) {
				list = append(list, t+" on "+held[t])
			}
			if force {
				w.log.Warn("forcing the wipe although tasks are still held", "tasks", list)
				return maxEpoch, nil
			}
			return 0, refused("app %q stays paused: %d task(s) still held after %s (%s); run the reset again once they are released, or with --force",
				w.app, len(held), w.s.cfg.ReleaseWait, strings.Join(list, ", "))
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("waiting for the tasks of app %q to be released: %w", w.app, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}
