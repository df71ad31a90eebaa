package membership

import (
	"context"
	"maps"
	"slices"

	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/services/worker/tasks"
)

// released records the outcome of a release and writes its released record.
func (s *session) released(ctx context.Context, r tasks.Released) {
	if r.Err != nil {
		// The controller aborts the handoff after its timeout; the task then runs here again.
		s.m.log.Error("releasing a task failed", "task", r.Spec.Task.String(), "epoch", r.Spec.Epoch, "err", r.Err)
		return
	}
	s.release[r.Spec.Task] = &pendingRelease{res: r}
	s.writeReleases(ctx)
}

// writeReleases writes the released record of every finished release whose task is still
// releasing at the same epoch, against the revision of the record as now indexed; releases of
// tasks no longer releasing here are forgotten. A write whose compare failed (the record
// changed meanwhile) is tried again on the next index change.
func (s *session) writeReleases(ctx context.Context) {
	for _, t := range slices.SortedFunc(maps.Keys(s.release), cluster.TaskKey.Compare) {
		p := s.release[t]
		e, ok := s.index[t]
		if !ok || e.rec.Active != s.m.cfg.ID || e.rec.Lease != s.lease || e.rec.State != cluster.Releasing || e.rec.Epoch != p.res.Spec.Epoch {
			delete(s.release, t)
			continue
		}
		if p.written {
			continue
		}
		h := cluster.Handoff{Worker: s.m.cfg.ID, Lease: s.lease, Epoch: e.rec.Epoch, Checkpoint: p.res.Checkpoint}
		cctx, cancel := s.m.etcdCtx(ctx)
		ok, err := cluster.WriteReleased(cctx, s.m.cli, s.m.cfg.Layout, t, h, e.rev)
		cancel()
		switch {
		case err != nil:
			s.m.log.Warn("writing released record", "task", t.String(), "err", err)
		case ok:
			p.written = true
			s.m.log.Info("released", "task", t.String(), "epoch", e.rec.Epoch, "changelog_end", h.ChangelogEnd)
		}
	}
}
