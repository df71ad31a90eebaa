package tasks

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/weirhq/weir/libs/cluster"
)

type fakeLease struct{ alive bool }

func (f *fakeLease) ID() clientv3.LeaseID { return 42 }
func (f *fakeLease) Alive() bool          { return f.alive }
func (f *fakeLease) Deadline() time.Time  { return time.Now().Add(time.Minute) }

// countingBody counts runs and releases per task.
type countingBody struct {
	mu       sync.Mutex
	runs     map[cluster.TaskKey]int
	releases map[cluster.TaskKey]int
}

func (b *countingBody) Run(ctx context.Context, r Replica) error {
	b.mu.Lock()
	b.runs[r.Task]++
	b.mu.Unlock()
	r.Report(cluster.Running, 5)
	<-ctx.Done()
	return nil
}

func (b *countingBody) Release(ctx context.Context, r Replica) (cluster.Checkpoint, error) {
	b.mu.Lock()
	b.releases[r.Task]++
	b.mu.Unlock()
	return cluster.Checkpoint{ChangelogEnd: r.Epoch}, nil
}

func (b *countingBody) counts(t cluster.TaskKey) (int, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.runs[t], b.releases[t]
}

func TestManagerKeepsUnchangedReplicasAndReleases(t *testing.T) {
	body := &countingBody{runs: map[cluster.TaskKey]int{}, releases: map[cluster.TaskKey]int{}}
	released := make(chan Released, 4)
	m := New(context.Background(), body, &fakeLease{alive: true}, released, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer m.Stop()
	a := cluster.TaskKey{App: "a", Group: "g", Partition: 0}
	b := cluster.TaskKey{App: "a", Group: "g", Partition: 1}
	m.Apply(map[cluster.TaskKey]Spec{
		a: {Task: a, Role: cluster.RoleActive, Epoch: 1},
		b: {Task: b, Role: cluster.RoleActive, Epoch: 1},
	})
	waitFor(t, func() bool { ra, _ := body.counts(a); rb, _ := body.counts(b); return ra == 1 && rb == 1 })

	// b is told to release; a is unchanged and must not restart.
	m.Apply(map[cluster.TaskKey]Spec{
		a: {Task: a, Role: cluster.RoleActive, Epoch: 1},
		b: {Task: b, Role: cluster.RoleActive, Epoch: 1, Release: true},
	})
	select {
	case r := <-released:
		if r.Err != nil || r.Spec.Task != b || r.Checkpoint.ChangelogEnd != 1 {
			t.Fatalf("released %+v", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no release reported")
	}
	if ra, _ := body.counts(a); ra != 1 {
		t.Errorf("unchanged replica ran %d times, want 1", ra)
	}
	if _, rel := body.counts(b); rel != 1 {
		t.Errorf("released %d times, want 1", rel)
	}
	for _, s := range m.Status() {
		if s.Task == b && s.State != cluster.Released {
			t.Errorf("released replica reports %s", s.State)
		}
	}

	// A new epoch for a restarts it.
	m.Apply(map[cluster.TaskKey]Spec{a: {Task: a, Role: cluster.RoleActive, Epoch: 2}})
	waitFor(t, func() bool { ra, _ := body.counts(a); return ra == 2 })
	if specs := m.Specs(); len(specs) != 1 || specs[a].Epoch != 2 {
		t.Errorf("running %+v, want only a at epoch 2", specs)
	}
}

func TestManagerReleaseRefusedWithoutLease(t *testing.T) {
	body := &countingBody{runs: map[cluster.TaskKey]int{}, releases: map[cluster.TaskKey]int{}}
	released := make(chan Released, 1)
	m := New(context.Background(), body, &fakeLease{alive: false}, released, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer m.Stop()
	a := cluster.TaskKey{App: "a", Group: "g"}
	m.Apply(map[cluster.TaskKey]Spec{a: {Task: a, Role: cluster.RoleActive, Epoch: 1, Release: true}})
	if r := <-released; r.Err == nil {
		t.Fatalf("release without a live lease succeeded: %+v", r)
	}
	if _, rel := body.counts(a); rel != 0 {
		t.Errorf("body released %d times without a live lease", rel)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
