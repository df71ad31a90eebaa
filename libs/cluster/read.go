package cluster

import (
	"context"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Assignments is a set of task records with the revision they were read at.
type Assignments struct {
	Tasks    map[TaskKey]Assignment
	Revision int64
}

// ReadAssignments reads every task record of an app.
func ReadAssignments(ctx context.Context, kv clientv3.KV, l Layout, app string) (Assignments, error) {
	resp, err := kv.Get(ctx, l.AssignmentsPrefix(app), clientv3.WithPrefix())
	if err != nil {
		return Assignments{}, fmt.Errorf("reading assignments of app %q: %w", app, err)
	}
	out := Assignments{Tasks: make(map[TaskKey]Assignment, len(resp.Kvs)), Revision: resp.Header.Revision}
	for _, kv := range resp.Kvs {
		t, err := l.ParseAssignment(string(kv.Key))
		if err != nil {
			return Assignments{}, fmt.Errorf("reading assignments of app %q: %w", app, err)
		}
		a, err := DecodeAssignment(kv.Value, kv.ModRevision)
		if err != nil {
			return Assignments{}, fmt.Errorf("reading assignment %s: %w", t, err)
		}
		out.Tasks[t] = a
	}
	return out, nil
}

// ReadWorkerIndex reads the index of one worker: every task it holds a replica of. A worker
// lists it once, then watches Layout.WorkerIndexPrefix from Revision+1.
func ReadWorkerIndex(ctx context.Context, kv clientv3.KV, l Layout, worker string) (Assignments, error) {
	resp, err := kv.Get(ctx, l.WorkerIndexPrefix(worker), clientv3.WithPrefix())
	if err != nil {
		return Assignments{}, fmt.Errorf("reading index of worker %q: %w", worker, err)
	}
	out := Assignments{Tasks: make(map[TaskKey]Assignment, len(resp.Kvs)), Revision: resp.Header.Revision}
	for _, kv := range resp.Kvs {
		_, t, err := l.ParseWorkerIndex(string(kv.Key))
		if err != nil {
			return Assignments{}, fmt.Errorf("reading index of worker %q: %w", worker, err)
		}
		a, err := DecodeAssignment(kv.Value, kv.ModRevision)
		if err != nil {
			return Assignments{}, fmt.Errorf("reading index entry %s of worker %q: %w", t, worker, err)
		}
		out.Tasks[t] = a
	}
	return out, nil
}
