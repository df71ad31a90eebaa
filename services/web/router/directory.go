package router

import (
	"context"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/weirhq/weir/libs/cluster"
)

// Replica is one worker holding a task, with its Connect address ("" when the worker is not
// registered).
type Replica struct {
	Worker string
	Addr   string
}

// Replicas is who holds a task, as its assignment says.
type Replicas struct {
	Active   Replica // Worker "" when the task has no active
	Epoch    int64
	Standbys []Replica // standbys, then warm-ups
}

// Directory finds a task's replicas. Implementations must be safe for concurrent use and
// read fresh data: the router calls it again after a refusal to learn of a handoff.
type Directory interface {
	Replicas(ctx context.Context, t cluster.TaskKey) (Replicas, error)
	// Workers lists every registered worker (for global tables, which all of them hold).
	Workers(ctx context.Context) ([]Replica, error)
}

// EtcdDirectory reads assignments and worker records from etcd on every call.
type EtcdDirectory struct {
	KV     clientv3.KV
	Layout cluster.Layout
}

// Replicas reads the task's assignment and the addresses of the workers it names.
func (d EtcdDirectory) Replicas(ctx context.Context, t cluster.TaskKey) (Replicas, error) {
	a, ok, _, err := cluster.ReadAssignment(ctx, d.KV, d.Layout, t)
	if err != nil || !ok {
		return Replicas{}, err
	}
	resolve := func(id string) (Replica, error) {
		w, found, err := cluster.ReadWorker(ctx, d.KV, d.Layout, id)
		if err != nil {
			return Replica{}, err
		}
		if !found {
			return Replica{Worker: id}, nil
		}
		return Replica{Worker: id, Addr: w.Addr}, nil
	}
	out := Replicas{Epoch: a.Epoch}
	if a.Active != "" {
		if out.Active, err = resolve(a.Active); err != nil {
			return Replicas{}, fmt.Errorf("resolving the owner of %s: %w", t, err)
		}
	}
	for _, id := range append(append([]string{}, a.Standbys...), a.Warmups...) {
		r, err := resolve(id)
		if err != nil {
			return Replicas{}, fmt.Errorf("resolving a standby of %s: %w", t, err)
		}
		out.Standbys = append(out.Standbys, r)
	}
	return out, nil
}

// Workers lists the registered workers, sorted by id.
func (d EtcdDirectory) Workers(ctx context.Context) ([]Replica, error) {
	ws, err := cluster.ReadWorkers(ctx, d.KV, d.Layout)
	if err != nil {
		return nil, err
	}
	var out []Replica
	for _, id := range cluster.SortedKeys(ws) {
		if !ws[id].Stopped {
			out = append(out, Replica{Worker: id, Addr: ws[id].Addr})
		}
	}
	return out, nil
}
