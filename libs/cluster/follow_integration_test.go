//go:build integration

package cluster

import (
	"context"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/weirhq/weir/libs/devstack"
)

// mirror applies Follow batches to a map, as the controller and workers do.
type mirror struct {
	mu     sync.Mutex
	keys   map[string]string
	resets int
	rev    int64
}

func (m *mirror) apply(b Batch) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if b.Reset {
		m.keys = map[string]string{}
		m.resets++
	}
	for _, kv := range b.Changes {
		if kv.Deleted {
			delete(m.keys, kv.Key)
		} else {
			m.keys[kv.Key] = string(kv.Value)
		}
	}
	m.rev = b.Revision
	return nil
}

func (m *mirror) waitFor(t *testing.T, what string, cond func(keys map[string]string, resets int) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		m.mu.Lock()
		ok := cond(m.keys, m.resets)
		m.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// swappable is a KVWatcher whose watcher the test can replace (breaking open watches).
type swappable struct {
	clientv3.KV
	mu sync.Mutex
	w  clientv3.Watcher
}

func (s *swappable) Watch(ctx context.Context, key string, opts ...clientv3.OpOption) clientv3.WatchChan {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Watch(ctx, key, opts...)
}

func (s *swappable) RequestProgress(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.RequestProgress(ctx)
}

func (s *swappable) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Close()
}

// swap closes the current watcher (ending its watches) and installs a new one.
func (s *swappable) swap(cli *clientv3.Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.w.Close()
	s.w = clientv3.NewWatcher(cli)
}

// TestClusterFollowListsWatchesAndRelistsAfterCompaction runs against a private embedded etcd,
// because it compacts the history.
func TestClusterFollowListsWatchesAndRelistsAfterCompaction(t *testing.T) {
	ctx := testContext(t)
	srv, err := devstack.StartEtcd(ctx, devstack.EtcdConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{srv.Endpoint()}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if _, err := cli.Put(ctx, "/p/a", "1"); err != nil {
		t.Fatal(err)
	}

	m := &mirror{}
	fctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	// A handler that blocks lets the test compact the history past the watch's position.
	var gate sync.Mutex
	kw := &swappable{KV: cli, w: clientv3.NewWatcher(cli)}
	defer kw.Close()
	go func() {
		done <- Follow(fctx, kw, "/p/", func(b Batch) error {
			gate.Lock()
			defer gate.Unlock()
			return m.apply(b)
		}, nil)
	}()
	m.waitFor(t, "the first listing", func(k map[string]string, r int) bool { return r == 1 && k["/p/a"] == "1" })

	if _, err := cli.Put(ctx, "/p/b", "2"); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Delete(ctx, "/p/a"); err != nil {
		t.Fatal(err)
	}
	m.waitFor(t, "watched changes", func(k map[string]string, r int) bool { return len(k) == 1 && k["/p/b"] == "2" && r == 1 })

	// Break the watch and compact past it: Follow must list again.
	gate.Lock()
	kw.swap(cli)
	for i := range 5 {
		if _, err := cli.Put(ctx, "/p/c", string(rune('0'+i))); err != nil {
			gate.Unlock()
			t.Fatal(err)
		}
	}
	resp, err := cli.Put(ctx, "/other", "x")
	if err == nil {
		_, err = cli.Compact(ctx, resp.Header.Revision)
	}
	gate.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	m.waitFor(t, "a listing after compaction", func(k map[string]string, r int) bool { return r >= 2 && k["/p/c"] == "4" && k["/p/b"] == "2" })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Follow = %v after cancel, want nil", err)
	}
}

func TestClusterWriteReleasedComparesRevisionAndLease(t *testing.T) {
	cli, l := testClient(t)
	ctx := testContext(t)
	task := TaskKey{App: "a", Group: "g", Partition: 3}
	grant, err := cli.Grant(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Revoke(context.Background(), grant.ID)
	if _, err := cli.Put(ctx, l.Worker("w1"), "{}", clientv3.WithLease(grant.ID)); err != nil {
		t.Fatal(err)
	}
	p := &Publisher{KV: cli, Layout: l}
	rec := Assignment{Active: "w1", Lease: int64(grant.ID), Warmups: []string{"w2"}, State: Releasing}
	revs, err := p.Publish(ctx, []Update{{Task: task, New: &rec}})
	if err != nil {
		t.Fatal(err)
	}
	h := Handoff{Worker: "w1", Lease: int64(grant.ID), Epoch: revs[0], Checkpoint: Checkpoint{ChangelogEnd: 12, Positions: map[string]int64{"in/0": 5}}}

	if ok, err := WriteReleased(ctx, cli, l, task, h, revs[0]-1); err != nil || ok {
		t.Fatalf("released against a stale revision: ok %v, err %v", ok, err)
	}
	other := h
	other.Lease = int64(grant.ID) + 1
	if ok, err := WriteReleased(ctx, cli, l, task, other, revs[0]); err != nil || ok {
		t.Fatalf("released under a lease that does not hold the worker key: ok %v, err %v", ok, err)
	}
	if ok, err := WriteReleased(ctx, cli, l, task, h, revs[0]); err != nil || !ok {
		t.Fatalf("released by the holder: ok %v, err %v", ok, err)
	}
	got, err := cli.Get(ctx, l.Handoff(task))
	if err != nil || len(got.Kvs) != 1 {
		t.Fatalf("released record: %v, %v", got, err)
	}
	if d, err := DecodeHandoff(got.Kvs[0].Value); err != nil || d.Epoch != h.Epoch || !d.Checkpoint.Equal(h.Checkpoint) {
		t.Fatalf("released record %+v, %v", d, err)
	}

	// Completing the handoff deletes the released record in the same transaction; the new
	// active gets a new epoch, as does a new lease under the same worker id.
	old := rec
	old.Epoch = revs[0]
	next := Assignment{Active: "w2", Lease: 9, State: Stable, Start: &Start{FromEpoch: revs[0], Checkpoint: h.Checkpoint}}
	revs2, err := p.Publish(ctx, []Update{{Task: task, Old: &old, New: &next, ClearHandoff: true}})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := cli.Get(ctx, l.Handoff(task)); len(got.Kvs) != 0 {
		t.Error("released record left after the completing write")
	}
	all, err := ReadAssignments(ctx, cli, l, "a")
	if err != nil {
		t.Fatal(err)
	}
	if a := all.Tasks[task]; a.Epoch != revs2[0] || !a.Start.Equal(next.Start) {
		t.Errorf("completed record %+v, want epoch %d and the start", a, revs2[0])
	}
	renewed := all.Tasks[task]
	renewed.Lease = 10
	revs3, err := p.Publish(ctx, Diff(map[TaskKey]Assignment{task: all.Tasks[task]}, map[TaskKey]Assignment{task: renewed}))
	if err != nil {
		t.Fatal(err)
	}
	if all, _ = ReadAssignments(ctx, cli, l, "a"); all.Tasks[task].Epoch != revs3[0] {
		t.Errorf("epoch %d after a lease change, want the new revision %d", all.Tasks[task].Epoch, revs3[0])
	}
}

func TestClusterTopologyRoundTrip(t *testing.T) {
	cli, l := testClient(t)
	ctx := testContext(t)
	topo := Topology{App: "orders", Standbys: 1, Groups: []Group{{Name: "g1", Partitions: 2}, {Name: "g2", Partitions: 1}}}
	if err := PutTopology(ctx, cli, l, topo); err != nil {
		t.Fatal(err)
	}
	resp, err := cli.Get(ctx, l.Topology("orders"))
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("get: %v, %v", resp, err)
	}
	got, err := DecodeTopology(resp.Kvs[0].Value)
	if err != nil || len(got.Tasks()) != 3 {
		t.Fatalf("decoded %+v (%d tasks), %v", got, len(got.Tasks()), err)
	}
	kind, app, _, err := l.ParseAppKey(l.Topology("orders"))
	if err != nil || kind != TopologyKey || app != "orders" {
		t.Fatalf("ParseAppKey = %v, %q, %v", kind, app, err)
	}
	if err := PutTopology(ctx, cli, l, Topology{App: "bad", Groups: []Group{{Name: "g", Partitions: 0}}}); err == nil {
		t.Fatal("invalid topology written")
	}
}
