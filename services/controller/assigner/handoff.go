package assigner

import (
	"slices"

	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/services/controller/assign"
)

// step is one task's state machine: from its current record cur (nil: none) and the computed
// assignment c, the record to publish and whether to delete the task's released record.
//
//	frozen       the active's lease ended less than Grace ago: nothing changes
//	new epoch    no record, a new active (initial or failover) or the same worker under a new
//	             lease: Active = c.Active with its current lease, epoch = this write
//	stable  ⇄ warming     c plans a warm-up target / drops it (cooldown strips it)
//	warming → releasing   the target reports the task as a warm-up of this epoch with
//	                      lag ≤ AcceptableLag, and the active still holds its lease
//	releasing → active(target), new epoch, Start = the released checkpoint
//	                      the old active's released record (same epoch and lease) exists
//	releasing → stable/warming (abort)
//	                      the target changed or left, or HandoffTimeout passed (then the task
//	                      gets no warm-up for another HandoffTimeout)
func (p *planner) step(t cluster.TaskKey, cur *cluster.Assignment, c assign.TaskAssignment) (cluster.Assignment, bool) {
	h, hasHandoff := p.v.handoffs[t]
	released := cur != nil && cur.State == cluster.Releasing && len(cur.Warmups) > 0 && matches(h, hasHandoff, *cur)
	if cur != nil && !released && p.frozen(*cur) {
		return *cur, false
	}
	next := cluster.Assignment{Active: c.Active, Lease: p.lease(c.Active), Standbys: c.Standbys, Warmups: c.Warmups}
	if !released && (cur == nil || cur.Active != next.Active || cur.Lease != next.Lease) {
		delete(p.since, t)
		next.State = warmingIf(next)
		return next, hasHandoff
	}
	next.Epoch, next.Start = cur.Epoch, cur.Start
	if released {
		// The old active stopped and committed: the target takes over even if the old active's
		// lease has ended since.
		return p.complete(t, *cur, next, h)
	}
	if cur.State == cluster.Releasing && len(cur.Warmups) > 0 {
		return p.releasing(t, *cur, next, hasHandoff)
	}
	delete(p.since, t)
	if until, ok := p.cooldown[t]; ok && p.now.Before(until) {
		next.Warmups = nil
		p.wakeAt(until)
	}
	next.State = warmingIf(next)
	if next.State == cluster.Warming && slices.Equal(cur.Warmups, next.Warmups) && p.caughtUp(t, next.Warmups[0], cur.Epoch) {
		next.State = cluster.Releasing
		p.since[t] = p.now
		p.wakeAt(p.now.Add(p.cfg.HandoffTimeout))
		p.log.Info("handoff: releasing", "task", t.String(), "from", cur.Active, "to", next.Warmups[0], "epoch", cur.Epoch)
	}
	return next, hasHandoff
}

// complete makes the released task's warm-up target active with a new epoch, starting from the
// old active's checkpoint. With the target gone, the task stays with the old active (which
// resumes when it is still alive) and the released record is dropped.
func (p *planner) complete(t cluster.TaskKey, cur, next cluster.Assignment, h cluster.Handoff) (cluster.Assignment, bool) {
	delete(p.since, t)
	target := cur.Warmups[0]
	lease := p.lease(target)
	if lease == 0 {
		p.log.Info("handoff: aborted, target left after release", "task", t.String(), "from", cur.Active, "to", target)
		if p.frozen(cur) {
			return cur, true
		}
		if next.Active != cur.Active || next.Lease != cur.Lease {
			next.Epoch, next.Start = 0, nil
		}
		next.State = warmingIf(next)
		return next, true
	}
	p.log.Info("handoff: complete", "task", t.String(), "from", cur.Active, "to", target, "from_epoch", cur.Epoch)
	standbys := slices.DeleteFunc(slices.Clone(next.Standbys), func(id string) bool { return id == target || id == cur.Active })
	return cluster.Assignment{Active: target, Lease: lease, Standbys: standbys, State: cluster.Stable,
		Start: &cluster.Start{FromEpoch: cur.Epoch, Checkpoint: h.Checkpoint}}, true
}

// releasing steps a task whose active was told to release and has not released yet.
func (p *planner) releasing(t cluster.TaskKey, cur, next cluster.Assignment, hasHandoff bool) (cluster.Assignment, bool) {
	target := cur.Warmups[0]
	since, ok := p.since[t]
	if !ok { // releasing before this term began
		since = p.now
		p.since[t] = since
	}
	switch {
	case !slices.Equal(next.Warmups, cur.Warmups) || p.lease(target) == 0:
		delete(p.since, t)
		p.log.Info("handoff: aborted, target changed", "task", t.String(), "from", cur.Active, "to", target)
		next.State = warmingIf(next)
		return next, hasHandoff
	case !p.now.Before(since.Add(p.cfg.HandoffTimeout)):
		delete(p.since, t)
		p.cooldown[t] = p.now.Add(p.cfg.HandoffTimeout)
		p.wakeAt(p.cooldown[t])
		p.log.Warn("handoff: aborted, the active did not release in time", "task", t.String(), "from", cur.Active, "to", target,
			"timeout", p.cfg.HandoffTimeout.String())
		next.Warmups, next.State = nil, cluster.Stable
		return next, hasHandoff
	}
	p.wakeAt(since.Add(p.cfg.HandoffTimeout))
	next.Warmups, next.State = cur.Warmups, cluster.Releasing
	return next, false
}

// release steps a task of a paused app towards "no active": releasing without a target, then
// unassigned once the active released (or its lease ended plus grace).
func (p *planner) release(t cluster.TaskKey, cur cluster.Assignment) (cluster.Assignment, bool) {
	h, hasHandoff := p.v.handoffs[t]
	unassigned := cluster.Assignment{State: cluster.Stable}
	switch {
	case cur.Active == "":
		unassigned.Epoch = cur.Epoch
		return unassigned, hasHandoff
	case cur.State == cluster.Releasing && matches(h, hasHandoff, cur):
		p.log.Info("paused: released", "task", t.String(), "from", cur.Active, "epoch", cur.Epoch)
		return unassigned, true
	case p.frozen(cur):
		return cur, false
	}
	if lost, _ := p.v.lost(incarnation{cur.Active, cur.Lease}, p.now); lost {
		return unassigned, hasHandoff
	}
	next := cluster.Assignment{Active: cur.Active, Lease: cur.Lease, Epoch: cur.Epoch, State: cluster.Releasing, Start: cur.Start}
	return next, hasHandoff && !matches(h, hasHandoff, cur)
}

// matches reports whether h is the released record of cur's active at cur's epoch.
func matches(h cluster.Handoff, ok bool, cur cluster.Assignment) bool {
	return ok && h.Epoch == cur.Epoch && h.Worker == cur.Active && h.Lease == cur.Lease
}

// caughtUp reports whether worker reports t as a warm-up of epoch within the acceptable lag.
func (p *planner) caughtUp(t cluster.TaskKey, worker string, epoch int64) bool {
	ts, ok := p.repl[t][worker]
	return ok && ts.Role == cluster.RoleWarmup && ts.Epoch == epoch && ts.State == cluster.Following && ts.Lag <= p.cfg.AcceptableLag
}

// lease is the current lease of a registered worker (0: not registered).
func (p *planner) lease(id string) int64 {
	if m, ok := p.v.workers[id]; ok {
		return m.lease
	}
	return 0
}

func warmingIf(a cluster.Assignment) cluster.TaskState {
	if len(a.Warmups) > 0 {
		return cluster.Warming
	}
	return cluster.Stable
}
