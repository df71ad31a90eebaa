package membership

import (
	"testing"

	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/services/worker/tasks"
)

func TestDesired(t *testing.T) {
	key := func(p int) cluster.TaskKey { return cluster.TaskKey{App: "a", Group: "g", Partition: p} }
	start := &cluster.Start{FromEpoch: 3, Checkpoint: cluster.Checkpoint{ChangelogEnd: 9}}
	index := map[cluster.TaskKey]entry{
		key(0): {rec: cluster.Assignment{Active: "me", Lease: 7, Epoch: 10, State: cluster.Stable, Start: start}},
		key(1): {rec: cluster.Assignment{Active: "me", Lease: 7, Epoch: 11, Warmups: []string{"x"}, State: cluster.Releasing}},
		key(2): {rec: cluster.Assignment{Active: "me", Lease: 6, Epoch: 12, State: cluster.Stable}}, // earlier lease
		key(3): {rec: cluster.Assignment{Active: "x", Lease: 1, Epoch: 13, Warmups: []string{"me"}, State: cluster.Warming}},
		key(4): {rec: cluster.Assignment{Active: "x", Lease: 1, Epoch: 14, Standbys: []string{"y", "me"}, State: cluster.Stable}},
		key(5): {rec: cluster.Assignment{Active: "x", Lease: 1, Epoch: 15, State: cluster.Stable}}, // not named
	}
	got := desired("me", 7, index)
	want := map[cluster.TaskKey]tasks.Spec{
		key(0): {Task: key(0), Role: cluster.RoleActive, Epoch: 10, Start: start},
		key(1): {Task: key(1), Role: cluster.RoleActive, Epoch: 11, Release: true},
		key(3): {Task: key(3), Role: cluster.RoleWarmup, Epoch: 13},
		key(4): {Task: key(4), Role: cluster.RoleStandby, Epoch: 14},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d specs %+v, want %d", len(got), got, len(want))
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok || g.Task != w.Task || g.Role != w.Role || g.Epoch != w.Epoch || g.Release != w.Release || !g.Start.Equal(w.Start) {
			t.Errorf("%s: got %+v, want %+v", k, g, w)
		}
	}
	if !holdsActive("me", 7, index) {
		t.Error("holdsActive = false, want true")
	}
	if holdsActive("me", 8, index) {
		t.Error("holdsActive under another lease = true")
	}
}
