package assigner

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/services/controller/assign"
)

// planner turns the view into assignment updates. It keeps the controller's memory of
// handoffs across cycles of one term: when each releasing started and which aborted moves
// cool down. It is owned by the term's loop goroutine.
type planner struct {
	cfg      Config
	log      *slog.Logger
	since    map[cluster.TaskKey]time.Time // releasing written (or first seen) at
	cooldown map[cluster.TaskKey]time.Time // no warm-up for the task until
	flagged  map[string]bool               // incompatible workers already logged

	// per cycle
	v    *view
	now  time.Time
	wake time.Time                                         // earliest future moment a decision depends on
	lag  map[cluster.TaskKey]map[string]int64              // standby and warm-up lag by task, worker
	repl map[cluster.TaskKey]map[string]cluster.TaskStatus // live workers' reports by task, worker
}

func newPlanner(cfg Config, log *slog.Logger) *planner {
	return &planner{cfg: cfg, log: log, since: map[cluster.TaskKey]time.Time{},
		cooldown: map[cluster.TaskKey]time.Time{}, flagged: map[string]bool{}}
}

// plan returns every update the view calls for now, and the next moment to plan again even if
// nothing changes (zero: none).
func (p *planner) plan(v *view, now time.Time) ([]cluster.Update, time.Time) {
	p.v, p.now, p.wake = v, now, time.Time{}
	p.indexStatus()
	byApp := map[string][]cluster.TaskKey{}
	for t := range v.assigned {
		byApp[t.App] = append(byApp[t.App], t)
	}
	apps := slices.Collect(maps.Keys(v.topo))
	for app := range byApp {
		if _, ok := v.topo[app]; !ok {
			apps = append(apps, app)
		}
	}
	slices.Sort(apps)
	var out []cluster.Update
	for _, app := range apps {
		if v.broken[app] {
			continue
		}
		var updates []cluster.Update
		if v.paused[app] {
			updates = p.pausedApp(byApp[app])
		} else {
			var err error
			if updates, err = p.app(app, v.topo[app], byApp[app]); err != nil {
				p.log.Error("planning assignment", "app", app, "err", err)
				continue
			}
		}
		out = append(out, p.aboveFloor(app, updates)...)
	}
	for t, at := range p.cooldown {
		if !now.Before(at) {
			delete(p.cooldown, t)
		}
	}
	v.forget()
	return out, p.wake
}

// app plans one app: compute the assignment, then step each task's handoff state machine. An
// app without topology loses its tasks.
func (p *planner) app(app string, topo cluster.Topology, current []cluster.TaskKey) ([]cluster.Update, error) {
	in := assign.Input{Standbys: topo.Standbys, Workers: p.workers(current)}
	for _, t := range topo.Tasks() {
		in.Tasks = append(in.Tasks, assign.Task{ID: taskID(t), Lag: p.lag[t]})
	}
	for _, t := range current {
		a := p.v.assigned[t]
		in.Previous = append(in.Previous, assign.TaskAssignment{Task: taskID(t), Active: a.Active,
			Standbys: slices.Clone(a.Standbys), Warmups: slices.Clone(a.Warmups)})
	}
	res, err := assign.Compute(in)
	if err != nil {
		return nil, fmt.Errorf("computing assignment of app %q: %w", app, err)
	}
	if res.Deferred {
		// The join's standby budget held back balance moves; the next plan, once the view has
		// seen this one's writes, makes them.
		p.log.Debug("join budget deferred standby moves to the next plan", "app", app)
		p.wakeAt(p.now.Add(time.Second))
	}
	var out []cluster.Update
	planned := map[cluster.TaskKey]bool{}
	for _, c := range res.Assignment {
		t := taskKey(c.Task)
		planned[t] = true
		var cur *cluster.Assignment
		if a, ok := p.v.assigned[t]; ok {
			cur = &a
		}
		next, clearHandoff := p.step(t, cur, c)
		if cur != nil && cur.Equal(next) && !clearHandoff {
			continue
		}
		out = append(out, cluster.Update{Task: t, Old: cur, New: &next, ClearHandoff: clearHandoff})
	}
	for _, t := range current {
		if !planned[t] {
			a := p.v.assigned[t]
			out = append(out, cluster.Update{Task: t, Old: &a})
		}
	}
	slices.SortFunc(out, func(a, b cluster.Update) int { return a.Task.Compare(b.Task) })
	return out, nil
}

// aboveFloor drops updates that would start a new epoch while the app's epoch floor is above
// the revision etcd is at (possible only after etcd was wiped and the floor restored): a new
// epoch is the revision of its write and must never be below the floor. Loud, never silent.
func (p *planner) aboveFloor(app string, updates []cluster.Update) []cluster.Update {
	floor := p.v.floor[app]
	if floor <= p.v.appsRev {
		return updates
	}
	out := updates[:0]
	for _, u := range updates {
		if u.New != nil && u.New.Active != "" && (u.Old == nil || u.Old.Active != u.New.Active || u.Old.Lease != u.New.Lease || u.New.Epoch == 0) {
			p.log.Error("not issuing an epoch below the app's epoch floor; raise etcd's revision above it",
				"app", app, "task", u.Task.String(), "floor", floor, "revision", p.v.appsRev)
			continue
		}
		out = append(out, u)
	}
	return out
}

// pausedApp releases every task of a paused app (a state reset is under way) and leaves it
// unassigned: an active is told to release (no target) and, once its released record is in
// or its lease ended plus grace, the task keeps no active, standbys or warm-ups.
func (p *planner) pausedApp(current []cluster.TaskKey) []cluster.Update {
	var out []cluster.Update
	for _, t := range current {
		cur := p.v.assigned[t]
		next, clearHandoff := p.release(t, cur)
		if cur.Equal(next) && !clearHandoff {
			continue
		}
		out = append(out, cluster.Update{Task: t, Old: &cur, New: &next, ClearHandoff: clearHandoff})
	}
	slices.SortFunc(out, func(a, b cluster.Update) int { return a.Task.Compare(b.Task) })
	return out
}

// workers lists the workers for Compute: every registered worker (draining when it said so,
// stopped or runs an incompatible version), plus, as alive but draining, every lost worker
// still within its grace that is the active of one of these tasks — so its tasks stay put
// until expiry + grace.
func (p *planner) workers(current []cluster.TaskKey) []assign.Worker {
	var out []assign.Worker
	for _, id := range slices.Sorted(maps.Keys(p.v.workers)) {
		m := p.v.workers[id]
		ok := p.cfg.Compatible == nil || p.cfg.Compatible(m.rec.Version)
		if !ok && !p.flagged[id] {
			p.log.Warn("worker runs an incompatible version; handing its tasks off", "worker", id, "version", m.rec.Version)
			p.flagged[id] = true
		}
		out = append(out, assign.Worker{ID: id, Capacity: m.rec.Capacity, Zone: m.rec.Zone,
			Draining: m.rec.Draining || m.rec.Stopped || !ok, Alive: true})
	}
	inGrace := map[string]bool{}
	for _, t := range current {
		a := p.v.assigned[t]
		if a.Active == "" || inGrace[a.Active] {
			continue
		}
		if _, registered := p.v.workers[a.Active]; registered {
			continue
		}
		if p.frozen(a) {
			inGrace[a.Active] = true
			out = append(out, assign.Worker{ID: a.Active, Alive: true, Draining: true})
		}
	}
	return out
}

// frozen reports whether a task must stay as it is because its active's lease ended less
// than the grace ago; it notes when the grace ends.
func (p *planner) frozen(a cluster.Assignment) bool {
	if a.Active == "" {
		return false
	}
	lost, until := p.v.lost(incarnation{a.Active, a.Lease}, p.now)
	if !lost || !p.now.Before(until) {
		return false
	}
	p.wakeAt(until)
	return true
}

// indexStatus indexes the status of registered workers (their current lease) by task.
func (p *planner) indexStatus() {
	p.lag = map[cluster.TaskKey]map[string]int64{}
	p.repl = map[cluster.TaskKey]map[string]cluster.TaskStatus{}
	for id, st := range p.v.status {
		if m, ok := p.v.workers[id]; !ok || m.lease != st.Lease {
			continue
		}
		for _, ts := range st.Tasks {
			if p.repl[ts.Task] == nil {
				p.repl[ts.Task] = map[string]cluster.TaskStatus{}
			}
			p.repl[ts.Task][id] = ts
			if ts.Role == cluster.RoleStandby || ts.Role == cluster.RoleWarmup {
				if p.lag[ts.Task] == nil {
					p.lag[ts.Task] = map[string]int64{}
				}
				p.lag[ts.Task][id] = ts.Lag
			}
		}
	}
}

func (p *planner) wakeAt(t time.Time) {
	if p.wake.IsZero() || t.Before(p.wake) {
		p.wake = t
	}
}

func taskID(t cluster.TaskKey) assign.TaskID {
	return assign.TaskID{App: t.App, Group: t.Group, Partition: t.Partition}
}

func taskKey(t assign.TaskID) cluster.TaskKey {
	return cluster.TaskKey{App: t.App, Group: t.Group, Partition: t.Partition}
}
