package membership

import (
	"slices"

	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/services/worker/tasks"
)

// entry is one record of the worker's index with the revision it was written at (the same as
// the task key's).
type entry struct {
	rec cluster.Assignment
	rev int64
}

// desired turns the worker's index into the replicas it should run under lease. A task whose
// active is this worker under another (earlier) lease is not run at all: the controller
// re-issues it with a new epoch first.
func desired(me string, lease int64, index map[cluster.TaskKey]entry) map[cluster.TaskKey]tasks.Spec {
	out := make(map[cluster.TaskKey]tasks.Spec, len(index))
	for t, e := range index {
		a := e.rec
		s := tasks.Spec{Task: t, Epoch: a.Epoch}
		switch {
		case a.Active == me:
			if a.Lease != lease {
				continue
			}
			s.Role, s.Start, s.Release = cluster.RoleActive, a.Start, a.State == cluster.Releasing
		case slices.Contains(a.Warmups, me):
			s.Role = cluster.RoleWarmup
		case slices.Contains(a.Standbys, me):
			s.Role = cluster.RoleStandby
		default:
			continue
		}
		out[t] = s
	}
	return out
}

// holdsActive reports whether the index makes this worker (under lease) active on any task.
func holdsActive(me string, lease int64, index map[cluster.TaskKey]entry) bool {
	for _, e := range index {
		if e.rec.Active == me && e.rec.Lease == lease {
			return true
		}
	}
	return false
}
