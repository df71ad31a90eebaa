package cluster

import (
	"context"
	"fmt"
	"sort"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Reads for the web service (and anyone discovering the cluster): the registered workers,
// their status records, the controllers and the elected leader, one task's assignment.

// ReadWorkers returns every registered worker by id.
func ReadWorkers(ctx context.Context, kv clientv3.KV, l Layout) (map[string]WorkerRecord, error) {
	resp, err := kv.Get(ctx, l.WorkersPrefix(), clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("listing workers: %w", err)
	}
	out := make(map[string]WorkerRecord, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		id, err := l.ParseWorker(string(kv.Key))
		if err != nil {
			continue
		}
		w, err := DecodeWorker(kv.Value)
		if err != nil {
			return nil, fmt.Errorf("listing workers: %s: %w", kv.Key, err)
		}
		out[id] = w
	}
	return out, nil
}

// ReadWorker returns one worker's record; ok is false when it is not registered.
func ReadWorker(ctx context.Context, kv clientv3.KV, l Layout, id string) (WorkerRecord, bool, error) {
	resp, err := kv.Get(ctx, l.Worker(id))
	if err != nil {
		return WorkerRecord{}, false, fmt.Errorf("reading worker %q: %w", id, err)
	}
	if len(resp.Kvs) == 0 {
		return WorkerRecord{}, false, nil
	}
	w, err := DecodeWorker(resp.Kvs[0].Value)
	if err != nil {
		return WorkerRecord{}, false, fmt.Errorf("reading worker %q: %w", id, err)
	}
	return w, true, nil
}

// ReadStatuses returns every worker's status record by worker id.
func ReadStatuses(ctx context.Context, kv clientv3.KV, l Layout) (map[string]WorkerStatus, error) {
	resp, err := kv.Get(ctx, l.StatusPrefix(), clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("listing worker statuses: %w", err)
	}
	out := make(map[string]WorkerStatus, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		id, err := l.ParseStatus(string(kv.Key))
		if err != nil {
			continue
		}
		s, err := DecodeStatus(kv.Value)
		if err != nil {
			return nil, fmt.Errorf("listing worker statuses: %s: %w", kv.Key, err)
		}
		out[id] = s
	}
	return out, nil
}

// ReadAssignment reads one task's assignment with the revision of the read; ok is false when
// the task has no record.
func ReadAssignment(ctx context.Context, kv clientv3.KV, l Layout, t TaskKey) (a Assignment, ok bool, rev int64, err error) {
	resp, err := kv.Get(ctx, l.Assignment(t))
	if err != nil {
		return Assignment{}, false, 0, fmt.Errorf("reading assignment of %s: %w", t, err)
	}
	if len(resp.Kvs) == 0 {
		return Assignment{}, false, resp.Header.Revision, nil
	}
	a, err = DecodeAssignment(resp.Kvs[0].Value, resp.Kvs[0].ModRevision)
	if err != nil {
		return Assignment{}, false, 0, fmt.Errorf("reading assignment of %s: %w", t, err)
	}
	return a, true, resp.Header.Revision, nil
}

// ReadAllAssignments reads the task records of every app.
func ReadAllAssignments(ctx context.Context, kv clientv3.KV, l Layout) (Assignments, error) {
	resp, err := kv.Get(ctx, l.AppsPrefix(), clientv3.WithPrefix())
	if err != nil {
		return Assignments{}, fmt.Errorf("reading assignments: %w", err)
	}
	out := Assignments{Tasks: map[TaskKey]Assignment{}, Revision: resp.Header.Revision}
	for _, kv := range resp.Kvs {
		kind, _, t, err := l.ParseAppKey(string(kv.Key))
		if err != nil || kind != AssignmentKey {
			continue
		}
		a, err := DecodeAssignment(kv.Value, kv.ModRevision)
		if err != nil {
			return Assignments{}, fmt.Errorf("reading assignment %s: %w", t, err)
		}
		out.Tasks[t] = a
	}
	return out, nil
}

// ReadLeader returns the id of the elected controller leader ("" when none): the election
// key with the lowest create revision, as concurrency.Election decides.
func ReadLeader(ctx context.Context, kv clientv3.KV, l Layout) (string, error) {
	resp, err := kv.Get(ctx, l.Election()+"/", clientv3.WithFirstCreate()...)
	if err != nil {
		return "", fmt.Errorf("reading the controller leader: %w", err)
	}
	if len(resp.Kvs) == 0 {
		return "", nil
	}
	return string(resp.Kvs[0].Value), nil
}

// SortedKeys returns the keys of a map with string keys (worker ids, app names), sorted.
func SortedKeys[V any](m map[string]V) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
