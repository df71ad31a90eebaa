//go:build integration

package integration

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/weirhq/weir/libs/cluster"
)

// keyEvent is one change under the test's prefix, as the recorder saw it.
type keyEvent struct {
	Rev     int64
	Key     string
	Value   []byte
	Lease   int64
	Deleted bool
	Seen    time.Time
}

// recorder records every change under a prefix from a revision on.
type recorder struct {
	mu     sync.Mutex
	events []keyEvent
}

func record(t *testing.T, ctx context.Context, cli *clientv3.Client, prefix string, fromRev int64) *recorder {
	r := &recorder{}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		for resp := range cli.Watch(wctx, prefix, clientv3.WithPrefix(), clientv3.WithRev(fromRev)) {
			now := time.Now()
			r.mu.Lock()
			for _, ev := range resp.Events {
				r.events = append(r.events, keyEvent{Rev: ev.Kv.ModRevision, Key: string(ev.Kv.Key), Value: ev.Kv.Value,
					Lease: ev.Kv.Lease, Deleted: ev.Type == clientv3.EventTypeDelete, Seen: now})
			}
			r.mu.Unlock()
		}
	}()
	return r
}

func (r *recorder) snapshot() []keyEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// clusterState is one consistent read of the workers and an app's assignments.
type clusterState struct {
	Rev     int64
	Leases  map[string]int64 // registered worker → lease
	Records map[string]cluster.WorkerRecord
	Tasks   map[cluster.TaskKey]cluster.Assignment
}

func readState(ctx context.Context, cli *clientv3.Client, l cluster.Layout, app string) (clusterState, error) {
	ws, err := cli.Get(ctx, l.WorkersPrefix(), clientv3.WithPrefix())
	if err != nil {
		return clusterState{}, err
	}
	as, err := cluster.ReadAssignments(ctx, cli, l, app)
	if err != nil {
		return clusterState{}, err
	}
	s := clusterState{Rev: as.Revision, Leases: map[string]int64{}, Records: map[string]cluster.WorkerRecord{}, Tasks: as.Tasks}
	for _, kv := range ws.Kvs {
		id, err := l.ParseWorker(string(kv.Key))
		if err != nil {
			return clusterState{}, err
		}
		rec, err := cluster.DecodeWorker(kv.Value)
		if err != nil {
			return clusterState{}, err
		}
		s.Leases[id], s.Records[id] = kv.Lease, rec
	}
	return s, nil
}

// live reports whether every task has an active that is registered under the lease its record
// names; it explains the first task that has not.
func (s clusterState) live(tasks []cluster.TaskKey) (bool, string) {
	for _, t := range tasks {
		a, ok := s.Tasks[t]
		if !ok || a.Active == "" {
			return false, fmt.Sprintf("%s has no active", t)
		}
		if l, ok := s.Leases[a.Active]; !ok || l != a.Lease {
			return false, fmt.Sprintf("%s: active %s under lease %x is not registered under it", t, a.Active, a.Lease)
		}
	}
	return true, ""
}

// settled reports whether every task is live, stable, without warm-ups and with standbys
// standbys, and the actives are balanced over exactly workers (equal capacities).
func (s clusterState) settled(tasks []cluster.TaskKey, workers []string, standbys int) (bool, string) {
	if ok, why := s.live(tasks); !ok {
		return false, why
	}
	count := map[string]int{}
	for _, t := range tasks {
		a := s.Tasks[t]
		if a.State != cluster.Stable || len(a.Warmups) > 0 {
			return false, fmt.Sprintf("%s is %s (warm-ups %v)", t, a.State, a.Warmups)
		}
		if len(a.Standbys) != min(standbys, len(workers)-1) {
			return false, fmt.Sprintf("%s has standbys %v", t, a.Standbys)
		}
		count[a.Active]++
	}
	lo, hi := len(tasks)/len(workers), (len(tasks)+len(workers)-1)/len(workers)
	for _, w := range workers {
		if count[w] < lo || count[w] > hi {
			return false, fmt.Sprintf("worker %s is active on %d tasks, want %d..%d (%v)", w, count[w], lo, hi, count)
		}
	}
	if len(count) != len(workers) {
		return false, fmt.Sprintf("actives on %v, want exactly %v", count, workers)
	}
	return true, ""
}

// pollState polls the cluster state until cond holds or ctx ends.
func pollState(t *testing.T, ctx context.Context, cli *clientv3.Client, l cluster.Layout, app, what string, cond func(clusterState) (bool, string)) clusterState {
	t.Helper()
	var why string
	for {
		s, err := readState(ctx, cli, l, app)
		if err == nil {
			var ok bool
			if ok, why = cond(s); ok {
				return s
			}
		} else {
			why = err.Error()
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v; last: %s", what, ctx.Err(), why)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
