// Package tasks runs a worker's task replicas: one goroutine per replica, started, stopped and
// released as the worker's assignment changes, with the real work done by a pluggable Body.
package tasks

import (
	"context"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/weirhq/weir/libs/cluster"
)

// Spec is one replica the worker should run: the task, its role and the epoch of the
// assignment record it acts on. Release asks an active to stop and make its final commit (the
// task is "releasing"). Start is set for an active that takes over through a handoff.
type Spec struct {
	Task    cluster.TaskKey
	Role    cluster.Role
	Epoch   int64
	Release bool
	Start   *cluster.Start
}

// same reports whether a running replica for s can keep running for o (nothing it depends on
// changed): tasks whose replica does not change never pause.
func (s Spec) same(o Spec) bool {
	return s.Task == o.Task && s.Role == o.Role && s.Epoch == o.Epoch && s.Release == o.Release && s.Start.Equal(o.Start)
}

// Replica is what a Body gets for one run.
type Replica struct {
	Spec
	// Lease is the worker lease (incarnation) the replica runs under.
	Lease int64
	// Deadline is the moment until which the lease is provably alive (it moves forward with
	// every acknowledged keep-alive).
	Deadline func() time.Time
	// Alive reports whether the worker may still act on the task: false once the worker's lease
	// is no longer provably alive or the run was stopped. An active must call it right before
	// every externally visible action (produce, commit) and stop when it returns false.
	Alive func() bool
	// Report publishes the replica's state and lag (records behind) in the worker's status.
	Report func(state cluster.ReplicaState, lag int64)
}

// Lease is the worker's lease as the Manager sees it; lease.Keeper implements it.
type Lease interface {
	ID() clientv3.LeaseID
	Alive() bool
	Deadline() time.Time
}

// Body does a task's work; the runtime provides the real one. The Manager calls Run on its own
// goroutine per replica and never calls two methods for the same task at once.
type Body interface {
	// Run runs the replica in its role until ctx ends (return nil) or it fails (the Manager
	// logs the error and runs it again after a pause while it is still wanted).
	Run(ctx context.Context, r Replica) error
	// Release is called for an active whose Run has returned because the controller asked it
	// to hand the task off: it makes the final commit and returns where the next active starts.
	Release(ctx context.Context, r Replica) (cluster.Checkpoint, error)
}
