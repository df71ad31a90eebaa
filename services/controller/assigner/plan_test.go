package assigner

import (
	"testing"

	"github.com/weirhq/weir/libs/cluster"
)

func TestPlanAppsAndOrphans(t *testing.T) {
	p, v := fixture()
	v.topo["a"] = cluster.Topology{App: "a", Standbys: 1, Groups: []cluster.Group{{Name: "g", Partitions: 3}}}
	gone := cluster.TaskKey{App: "gone", Group: "g", Partition: 0}
	v.assigned[gone] = cluster.Assignment{Active: "a", Lease: 1, Epoch: 5, State: cluster.Stable}
	broken := cluster.TaskKey{App: "broken", Group: "g", Partition: 0}
	v.assigned[broken] = cluster.Assignment{Active: "a", Lease: 1, Epoch: 5, State: cluster.Stable}
	v.broken["broken"] = true

	updates, _ := p.plan(v, t0)
	if len(updates) != 4 {
		t.Fatalf("%d updates, want 3 new tasks and 1 deletion: %+v", len(updates), updates)
	}
	actives := map[string]int{}
	for _, u := range updates {
		switch u.Task.App {
		case "a":
			if u.Old != nil || u.New == nil || u.New.Lease == 0 || len(u.New.Standbys) != 1 {
				t.Errorf("new task %s: %+v", u.Task, u.New)
			} else {
				actives[u.New.Active]++
			}
		case "gone":
			if u.New != nil {
				t.Errorf("task of an app without topology kept: %+v", u.New)
			}
		default:
			t.Errorf("unexpected update of %s", u.Task)
		}
	}
	if len(actives) != 3 {
		t.Errorf("actives %v, want one task on each worker", actives)
	}
}

func TestPlanIncompatibleWorkerIsDrained(t *testing.T) {
	p, v := fixture()
	p.cfg.Compatible = func(version string) bool { return version != "old" }
	m := v.workers["a"]
	m.rec.Version = "old"
	v.workers["a"] = m
	v.topo["a"] = cluster.Topology{App: "a", Groups: []cluster.Group{{Name: "g", Partitions: 1}}}
	v.assigned[cluster.TaskKey{App: "a", Group: "g"}] = cluster.Assignment{Active: "a", Lease: 1, Epoch: 5, State: cluster.Stable}
	updates, _ := p.plan(v, t0)
	if len(updates) != 1 || updates[0].New.Active != "a" || len(updates[0].New.Warmups) != 1 || updates[0].New.State != cluster.Warming {
		t.Fatalf("updates %+v, want the task warming up elsewhere while a stays active", updates)
	}
}
