package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/services/worker/tasks"
)

// recorder is a trivial task body. An active "acts" every 50 ms: it takes the time, checks
// that it may still act, and logs an "act" line stamped with that time, its epoch and lease.
// A standby or warm-up reports a lag that falls from 30 000 to 0 within about 300 ms.
type recorder struct {
	log *slog.Logger
}

const tick = 50 * time.Millisecond

func (b *recorder) Run(ctx context.Context, r tasks.Replica) error {
	t := time.NewTicker(tick)
	defer t.Stop()
	if r.Role == cluster.RoleActive {
		attrs := []any{"task", r.Task.String(), "epoch", r.Epoch, "lease", r.Lease}
		if r.Start != nil {
			attrs = append(attrs, "from_epoch", r.Start.FromEpoch, "changelog_end", r.Start.ChangelogEnd)
		}
		b.log.Info("start", attrs...)
		r.Report(cluster.Running, 0)
	}
	lag := int64(30_000)
	for {
		if r.Role == cluster.RoleActive {
			at := time.Now()
			if !r.Alive() {
				<-ctx.Done() // never act again in this run
				return nil
			}
			b.log.Info("act", "task", r.Task.String(), "epoch", r.Epoch, "lease", r.Lease, "at", at.UnixNano(), "deadline", r.Deadline().UnixNano())
		} else {
			lag = max(0, lag-5_000)
			r.Report(cluster.Following, lag)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (b *recorder) Release(ctx context.Context, r tasks.Replica) (cluster.Checkpoint, error) {
	b.log.Info("final commit", "task", r.Task.String(), "epoch", r.Epoch, "lease", r.Lease, "at", time.Now().UnixNano())
	return cluster.Checkpoint{Positions: map[string]int64{"input/" + r.Task.Group: 1000 + r.Epoch}, ChangelogEnd: r.Epoch}, nil
}
