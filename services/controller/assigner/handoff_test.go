package assigner

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/services/controller/assign"
)

var (
	t0   = time.Unix(1_000_000, 0)
	task = cluster.TaskKey{App: "a", Group: "g", Partition: 0}
)

// fixture is a view with workers a (lease 1), b (lease 2) and c (lease 3) registered.
func fixture() (*planner, *view) {
	cfg := Defaults()
	cfg.ID = "c"
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	v := newView(cluster.Layout{}, cfg.Grace, log)
	for i, id := range []string{"a", "b", "c"} {
		v.workers[id] = member{rec: cluster.WorkerRecord{ID: id, Capacity: 1}, lease: int64(i + 1)}
	}
	p := newPlanner(cfg, log)
	p.v, p.now = v, t0
	p.indexStatus()
	return p, v
}

func report(v *view, worker string, lease int64, ts cluster.TaskStatus) {
	v.status[worker] = cluster.WorkerStatus{Worker: worker, Lease: lease, Tasks: []cluster.TaskStatus{ts}}
}

func computed(active string, standbys, warmups []string) assign.TaskAssignment {
	return assign.TaskAssignment{Task: taskID(task), Active: active, Standbys: standbys, Warmups: warmups}
}

func TestStepHandoff(t *testing.T) {
	stable := cluster.Assignment{Active: "a", Lease: 1, Epoch: 10, Standbys: []string{"c"}, State: cluster.Stable}
	warming := stable
	warming.Warmups, warming.State = []string{"b"}, cluster.Warming
	releasing := warming
	releasing.State = cluster.Releasing
	released := cluster.Handoff{Worker: "a", Lease: 1, Epoch: 10, Checkpoint: cluster.Checkpoint{ChangelogEnd: 77}}
	caughtUp := cluster.TaskStatus{Task: task, Role: cluster.RoleWarmup, Epoch: 10, State: cluster.Following, Lag: 10_000}
	behind := caughtUp
	behind.Lag = 10_001
	toB := computed("a", []string{"c"}, []string{"b"})

	cases := []struct {
		name      string
		cur       *cluster.Assignment
		c         assign.TaskAssignment
		setup     func(p *planner, v *view)
		want      cluster.Assignment
		wantClear bool
	}{
		{name: "initial gets a new epoch", c: computed("a", []string{"c"}, nil),
			want: cluster.Assignment{Active: "a", Lease: 1, Standbys: []string{"c"}, State: cluster.Stable}},
		{name: "planned move starts warming", cur: &stable, c: toB, want: warming},
		{name: "target behind keeps warming", cur: &warming, c: toB,
			setup: func(p *planner, v *view) { report(v, "b", 2, behind) }, want: warming},
		{name: "target caught up: releasing", cur: &warming, c: toB,
			setup: func(p *planner, v *view) { report(v, "b", 2, caughtUp) }, want: releasing},
		{name: "report of another epoch does not count", cur: &warming, c: toB,
			setup: func(p *planner, v *view) { s := caughtUp; s.Epoch = 9; report(v, "b", 2, s) }, want: warming},
		{name: "releasing waits for the released record", cur: &releasing, c: toB,
			setup: func(p *planner, v *view) { p.since[task] = t0.Add(-time.Second) }, want: releasing},
		{name: "released: target active with a new epoch from the checkpoint", cur: &releasing, c: toB,
			setup: func(p *planner, v *view) { v.handoffs[task] = released },
			want: cluster.Assignment{Active: "b", Lease: 2, Standbys: []string{"c"}, State: cluster.Stable,
				Start: &cluster.Start{FromEpoch: 10, Checkpoint: released.Checkpoint}}, wantClear: true},
		{name: "released record of another epoch is ignored", cur: &releasing, c: toB,
			setup: func(p *planner, v *view) { h := released; h.Epoch = 9; v.handoffs[task] = h }, want: releasing},
		{name: "released, then the old active's lease ended: still completes", cur: &releasing, c: toB,
			setup: func(p *planner, v *view) { v.handoffs[task] = released; v.remove("a", t0) },
			want: cluster.Assignment{Active: "b", Lease: 2, Standbys: []string{"c"}, State: cluster.Stable,
				Start: &cluster.Start{FromEpoch: 10, Checkpoint: released.Checkpoint}}, wantClear: true},
		{name: "handoff timeout aborts and cools down", cur: &releasing, c: toB,
			setup: func(p *planner, v *view) { p.since[task] = t0.Add(-p.cfg.HandoffTimeout) }, want: stable},
		{name: "target changed aborts", cur: &releasing, c: computed("a", []string{"b"}, []string{"c"}),
			want: cluster.Assignment{Active: "a", Lease: 1, Epoch: 10, Standbys: []string{"b"}, Warmups: []string{"c"}, State: cluster.Warming}},
		{name: "stale released record is cleared", cur: &stable, c: computed("a", []string{"c"}, nil),
			setup: func(p *planner, v *view) { v.handoffs[task] = released }, want: stable, wantClear: true},
		{name: "lost active within grace is frozen", cur: &warming, c: computed("c", []string{"b"}, nil),
			setup: func(p *planner, v *view) { v.remove("a", t0.Add(-time.Second)) }, want: warming},
		{name: "lost active after grace fails over", cur: &stable, c: computed("c", []string{"b"}, nil),
			setup: func(p *planner, v *view) { v.remove("a", t0.Add(-p.cfg.Grace)) },
			want:  cluster.Assignment{Active: "c", Lease: 3, Standbys: []string{"b"}, State: cluster.Stable}},
		{name: "stopped worker needs no grace", cur: &stable, c: computed("c", []string{"b"}, nil),
			setup: func(p *planner, v *view) {
				m := v.workers["a"]
				m.rec.Stopped = true
				v.workers["a"] = m
				v.remove("a", t0)
			},
			want: cluster.Assignment{Active: "c", Lease: 3, Standbys: []string{"b"}, State: cluster.Stable}},
		{name: "restart under the same id waits for the grace", cur: &stable, c: computed("a", []string{"c"}, nil),
			setup: func(p *planner, v *view) {
				v.remove("a", t0.Add(-time.Second))
				v.workers["a"] = member{rec: cluster.WorkerRecord{ID: "a", Capacity: 1}, lease: 9}
			}, want: stable},
		{name: "restart under the same id after the grace: new lease, new epoch", cur: &stable, c: computed("a", []string{"c"}, nil),
			setup: func(p *planner, v *view) {
				v.remove("a", t0.Add(-p.cfg.Grace))
				v.workers["a"] = member{rec: cluster.WorkerRecord{ID: "a", Capacity: 1}, lease: 9}
			}, want: cluster.Assignment{Active: "a", Lease: 9, Standbys: []string{"c"}, State: cluster.Stable}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, v := fixture()
			if tc.setup != nil {
				tc.setup(p, v)
			}
			p.indexStatus()
			got, clear := p.step(task, tc.cur, tc.c)
			if !got.Equal(tc.want) || clear != tc.wantClear {
				t.Errorf("got %+v (clear %v)\nwant %+v (clear %v)", got, clear, tc.want, tc.wantClear)
			}
		})
	}
}

func TestStepCooldownStripsWarmups(t *testing.T) {
	p, _ := fixture()
	cur := cluster.Assignment{Active: "a", Lease: 1, Epoch: 10, Warmups: []string{"b"}, State: cluster.Releasing}
	p.since[task] = t0.Add(-p.cfg.HandoffTimeout)
	got, _ := p.step(task, &cur, computed("a", nil, []string{"b"}))
	if got.State != cluster.Stable || len(got.Warmups) != 0 {
		t.Fatalf("after the timeout: %+v, want stable without warm-ups", got)
	}
	p.now = t0.Add(time.Second)
	if got, _ = p.step(task, &got, computed("a", nil, []string{"b"})); got.State != cluster.Stable || len(got.Warmups) != 0 {
		t.Fatalf("during the cooldown: %+v, want stable without warm-ups", got)
	}
	p.now = t0.Add(p.cfg.HandoffTimeout + time.Second)
	delete(p.cooldown, task)
	if got, _ = p.step(task, &got, computed("a", nil, []string{"b"})); got.State != cluster.Warming {
		t.Fatalf("after the cooldown: %+v, want warming again", got)
	}
}

func TestPausedAppReleasesToNobody(t *testing.T) {
	p, v := fixture()
	v.paused["a"] = true
	v.topo["a"] = cluster.Topology{App: "a", Groups: []cluster.Group{{Name: "g", Partitions: 1}}}
	v.assigned[task] = cluster.Assignment{Active: "a", Lease: 1, Epoch: 10, Standbys: []string{"b"}, State: cluster.Stable}

	plan := func() cluster.Assignment {
		t.Helper()
		updates, _ := p.plan(v, t0)
		if len(updates) == 0 {
			return v.assigned[task]
		}
		if len(updates) != 1 || updates[0].New == nil {
			t.Fatalf("updates %+v", updates)
		}
		next := *updates[0].New
		if next.Epoch == 0 {
			next.Epoch = 20 // as the write's revision would resolve it
		}
		v.assigned[task] = next
		return next
	}
	if got := plan(); got.State != cluster.Releasing || got.Active != "a" || got.Epoch != 10 || len(got.Standbys)+len(got.Warmups) != 0 {
		t.Fatalf("paused: %+v, want a releasing at epoch 10 with nothing else", got)
	}
	if got := plan(); got.State != cluster.Releasing {
		t.Fatalf("without a released record: %+v, want still releasing", got)
	}
	v.handoffs[task] = cluster.Handoff{Worker: "a", Lease: 1, Epoch: 10}
	updates, _ := p.plan(v, t0)
	if len(updates) != 1 || updates[0].New.Active != "" || !updates[0].ClearHandoff {
		t.Fatalf("after release: %+v, want unassigned and the released record cleared", updates)
	}
	v.assigned[task] = cluster.Assignment{State: cluster.Stable, Epoch: 21}
	delete(v.handoffs, task)
	if updates, _ := p.plan(v, t0); len(updates) != 0 {
		t.Fatalf("unassigned task rewritten: %+v", updates)
	}

	// Lifting the pause assigns the task again with a new epoch.
	v.paused["a"] = false
	if updates, _ := p.plan(v, t0); len(updates) != 1 || updates[0].New.Active == "" {
		t.Fatalf("after the pause: %+v, want the task assigned", updates)
	}
}

func TestReleasingWithoutTargetResumesWhenUnpaused(t *testing.T) {
	p, _ := fixture()
	cur := cluster.Assignment{Active: "a", Lease: 1, Epoch: 10, State: cluster.Releasing}
	got, _ := p.step(task, &cur, computed("a", []string{"c"}, nil))
	if got.State != cluster.Stable || got.Active != "a" || got.Epoch != 10 {
		t.Fatalf("got %+v, want a stable again at epoch 10", got)
	}
}

func TestFloorAboveRevisionBlocksNewEpochs(t *testing.T) {
	p, v := fixture()
	v.topo["a"] = cluster.Topology{App: "a", Groups: []cluster.Group{{Name: "g", Partitions: 2}}}
	v.floor["a"] = 1000
	v.appsRev = 50
	if updates, _ := p.plan(v, t0); len(updates) != 0 {
		t.Fatalf("issued %d new epochs below the floor", len(updates))
	}
	v.appsRev = 1000
	if updates, _ := p.plan(v, t0); len(updates) != 2 {
		t.Fatalf("%d updates once the revision reached the floor, want 2", len(updates))
	}
}
