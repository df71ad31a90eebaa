//go:build integration

package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// testClient connects to the etcd in ETCD_ENDPOINTS and returns a layout under a prefix of its
// own, deleted when the test ends.
func testClient(t *testing.T) (*clientv3.Client, Layout) {
	t.Helper()
	endpoints := os.Getenv("ETCD_ENDPOINTS")
	if endpoints == "" {
		t.Fatal("ETCD_ENDPOINTS is not set")
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: strings.Split(endpoints, ","), DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	l := Layout{Prefix: fmt.Sprintf("/weir-test/%s-%d", t.Name(), time.Now().UnixNano())}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := cli.Delete(ctx, l.All(), clientv3.WithPrefix()); err != nil {
			t.Errorf("cleaning up %s: %v", l.All(), err)
		}
		cli.Close()
	})
	return cli, l
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// checkIndex asserts that every worker's index holds exactly the tasks naming it, with the same
// records, and nothing else.
func checkIndex(t *testing.T, ctx context.Context, cli *clientv3.Client, l Layout, app string, workers []string) map[TaskKey]Assignment {
	t.Helper()
	all, err := ReadAssignments(ctx, cli, l, app)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range workers {
		idx, err := ReadWorkerIndex(ctx, cli, l, w)
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		for task, a := range all.Tasks {
			if !slices.Contains(a.Workers(), w) {
				continue
			}
			want++
			if got, ok := idx.Tasks[task]; !ok || !got.Equal(a) {
				t.Errorf("index of %s: %s = %+v (present %v), task key has %+v", w, task, got, ok, a)
			}
		}
		if len(idx.Tasks) != want {
			t.Errorf("index of %s has %d tasks, want %d", w, len(idx.Tasks), want)
		}
	}
	return all.Tasks
}

func TestPublishWriteReadBackAndIndex(t *testing.T) {
	cli, l := testClient(t)
	ctx := testContext(t)
	p := &Publisher{KV: cli, Layout: l}
	t0 := TaskKey{App: "orders", Group: "g", Partition: 0}
	t1 := TaskKey{App: "orders", Group: "g", Partition: 1}
	first := map[TaskKey]Assignment{
		t0: {Active: "w1", Standbys: []string{"w2"}, State: Stable},
		t1: {Active: "w2", Standbys: []string{"w3"}, State: Stable},
	}
	revs, err := p.Publish(ctx, Diff(nil, first))
	if err != nil {
		t.Fatal(err)
	}
	got := checkIndex(t, ctx, cli, l, "orders", []string{"w1", "w2", "w3"})
	if got[t0].Epoch != revs[0] || got[t1].Epoch != revs[1] {
		t.Fatalf("epochs %d, %d, want the write revisions %v", got[t0].Epoch, got[t1].Epoch, revs)
	}

	// t0: a warm-up on w3 keeps the epoch; t1: failover to w3 starts a new one, w2 leaves.
	second := map[TaskKey]Assignment{
		t0: {Active: "w1", Standbys: []string{"w2"}, Warmups: []string{"w3"}, State: Warming},
		t1: {Active: "w3", Standbys: []string{"w1"}, State: Stable},
	}
	revs2, err := p.Publish(ctx, Diff(got, second))
	if err != nil {
		t.Fatal(err)
	}
	got2 := checkIndex(t, ctx, cli, l, "orders", []string{"w1", "w2", "w3"})
	if got2[t0].Epoch != got[t0].Epoch {
		t.Errorf("t0 epoch changed from %d to %d although its active stayed", got[t0].Epoch, got2[t0].Epoch)
	}
	if got2[t1].Epoch != revs2[1] || got2[t1].Epoch <= got[t1].Epoch {
		t.Errorf("t1 epoch %d, want the new write revision %d", got2[t1].Epoch, revs2[1])
	}
	if idx, _ := ReadWorkerIndex(ctx, cli, l, "w2"); len(idx.Tasks) != 1 {
		t.Errorf("w2 index holds %d tasks, want 1 (t0 standby)", len(idx.Tasks))
	}

	// Deleting the app's tasks removes every index entry.
	if _, err := p.Publish(ctx, Diff(got2, nil)); err != nil {
		t.Fatal(err)
	}
	resp, err := cli.Get(ctx, l.All(), clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	if resp.Count != 0 {
		t.Errorf("%d keys left after deleting every task", resp.Count)
	}
}

func TestPublishChunksAtMaxTxnOps(t *testing.T) {
	cli, l := testClient(t)
	ctx := testContext(t)

	// The server enforces the limit: one operation more than MaxTxnOps is refused.
	ops := make([]clientv3.Op, MaxTxnOps+1)
	for i := range ops {
		ops[i] = clientv3.OpPut(fmt.Sprintf("%sraw/%d", l.All(), i), "x")
	}
	if _, err := cli.Txn(ctx).Then(ops...).Commit(); err == nil {
		t.Fatalf("a transaction of %d operations was accepted; is etcd running with default limits?", len(ops))
	}

	// 1000 tasks × 4 operations (key + active + 2 standbys): 32 tasks per transaction.
	next := map[TaskKey]Assignment{}
	for i := range 1000 {
		next[TaskKey{App: "big", Group: "g", Partition: i}] = Assignment{
			Active: fmt.Sprintf("w%d", i%10), Standbys: []string{fmt.Sprintf("w%d", (i+1)%10), fmt.Sprintf("w%d", (i+2)%10)}, State: Stable,
		}
	}
	for _, concurrency := range []int{1, 8} {
		t.Run(fmt.Sprintf("concurrency%d", concurrency), func(t *testing.T) {
			p := &Publisher{KV: cli, Layout: Layout{Prefix: l.All() + fmt.Sprint(concurrency)}, Concurrency: concurrency}
			revs, err := p.Publish(ctx, Diff(nil, next))
			if err != nil {
				t.Fatal(err)
			}
			perRev := map[int64]int{}
			for _, r := range revs {
				perRev[r]++
			}
			if len(perRev) != 32 { // ⌈1000 / 32⌉
				t.Errorf("%d transactions, want 32", len(perRev))
			}
			for r, n := range perRev {
				if n > MaxTxnOps/4 {
					t.Errorf("revision %d wrote %d tasks (%d ops)", r, n, 4*n)
				}
			}
			workers := make([]string, 10)
			for i := range workers {
				workers[i] = fmt.Sprintf("w%d", i)
			}
			if got := checkIndex(t, ctx, cli, p.Layout, "big", workers); len(got) != 1000 {
				t.Errorf("read back %d tasks", len(got))
			}
		})
	}
}

func TestPublishGuard(t *testing.T) {
	cli, l := testClient(t)
	ctx := testContext(t)
	leader := l.All() + "controllers/leader"
	put, err := cli.Put(ctx, leader, "c1")
	if err != nil {
		t.Fatal(err)
	}
	task := TaskKey{App: "a", Group: "g", Partition: 0}
	update := []Update{{Task: task, New: &Assignment{Active: "w1", State: Stable}}}

	p := &Publisher{KV: cli, Layout: l, Guard: &Guard{Key: leader, Rev: put.Header.Revision}}
	if _, err := p.Publish(ctx, update); err != nil {
		t.Fatalf("guarded write by the leader: %v", err)
	}

	// Leadership passes on: the key is recreated with a new create revision.
	if _, err := cli.Delete(ctx, leader); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx, leader, "c2"); err != nil {
		t.Fatal(err)
	}
	update[0].New = &Assignment{Active: "w2", State: Stable}
	_, err = p.Publish(ctx, update)
	if !errors.Is(err, ErrNotLeader) {
		t.Fatalf("deposed leader's write: %v, want ErrNotLeader", err)
	}
	got, err := ReadAssignments(ctx, cli, l, "a")
	if err != nil {
		t.Fatal(err)
	}
	if a := got.Tasks[task]; a.Active != "w1" {
		t.Errorf("active %q after a rejected write, want w1", a.Active)
	}
	if idx, _ := ReadWorkerIndex(ctx, cli, l, "w2"); len(idx.Tasks) != 0 {
		t.Errorf("rejected write left %d index entries for w2", len(idx.Tasks))
	}
}
