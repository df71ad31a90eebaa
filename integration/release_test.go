//go:build integration

package integration

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weirhq/weir/integration/harness"
	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/libs/tables"
	"github.com/weirhq/weir/libs/topics"
	"github.com/weirhq/weir/services/worker/runtime"
	"github.com/weirhq/weir/services/worker/tasks"
)

// TestReleaseOfATaskNotRunning: a worker told to release an active that is not running there
// (its run failed and was waiting to restart when the handoff stopped it, or the worker
// restarted) releases it from its last commit instead of failing, which left the handoff
// waiting for the controller's timeout (60 s) and then a cooldown as long. The checkpoint is
// the one a warm release of the same state gives: the same input positions, and a changelog
// end at or after it (the cold release fences first).
func TestReleaseOfATaskNotRunning(t *testing.T) {
	ctx := harness.Context(t, 2*time.Minute)
	env := newCtlEnv(t)
	ctl := env.start(t, "c1") // no worker: nothing runs the app but the runtimes below
	suffix := make([]byte, 3)
	rand.Read(suffix)
	app := "release_" + hex.EncodeToString(suffix)
	in := harness.Topic(t, topics.TopicSpec{Name: "release-in", Partitions: 2})
	out := harness.Name(t, "release-out")
	const records = 10
	p := newProducer(t)
	for u := range records {
		user := fmt.Sprintf("u%d", u)
		r := topics.Record{Topic: in, Partition: 0, PinPartition: true, Key: []byte(user), Value: fmt.Appendf(nil, `{"user":%q}`, user)}
		if err := p.SendAsync(ctx, r, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	applySource(t, ctx, ctl.Addr, startupApp(app, in, out))

	newRuntime := func(id string) *runtime.Runtime {
		store, err := tables.Open(t.TempDir(), tables.Options{})
		if err != nil {
			t.Fatal(err)
		}
		rt, err := runtime.New(runtime.Config{WorkerID: id, Store: store, Kafka: harness.Client(t), Etcd: env.etcd, Layout: env.layout})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { rt.Close(); store.Close() })
		return rt
	}
	task := cluster.TaskKey{App: app, Group: "count", Partition: 0}
	replica := func(epoch int64, state *atomic.Value) tasks.Replica {
		return tasks.Replica{
			Spec:     tasks.Spec{Task: task, Role: cluster.RoleActive, Epoch: epoch},
			Lease:    epoch,
			Deadline: func() time.Time { return time.Now().Add(time.Minute) },
			Alive:    func() bool { return true },
			Report:   func(s cluster.ReplicaState, _ int64) { state.Store(s) },
		}
	}

	// Warm: run the active until its outputs are out, stop it as a handoff does, release.
	rt1 := newRuntime("rw1")
	var state atomic.Value
	rctx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- rt1.Run(rctx, replica(1, &state)) }()
	readUntil(t, ctx, out, 2, func() func(topics.Record) bool {
		n := 0
		return func(topics.Record) bool { n++; return n >= records }
	}())
	stop()
	if err := <-ran; err != nil {
		t.Fatalf("run: %v", err)
	}
	warm, err := rt1.Release(ctx, replica(1, &state))
	if err != nil {
		t.Fatalf("warm release: %v", err)
	}

	// Cold: another worker, which never ran the task, is told to release it at a later epoch.
	rt2 := newRuntime("rw2")
	cold, err := rt2.Release(ctx, replica(2, &state))
	if err != nil {
		t.Fatalf("cold release: %v", err)
	}
	tp := topics.TopicPartition{Topic: in, Partition: 0}.String()
	if warm.Positions[tp] != records || cold.Positions[tp] != records {
		t.Errorf("positions of %s: warm %d, cold %d; want %d (every input record committed)", tp, warm.Positions[tp], cold.Positions[tp], records)
	}
	if cold.ChangelogEnd < warm.ChangelogEnd {
		t.Errorf("cold release's changelog end %d is before the warm one's %d", cold.ChangelogEnd, warm.ChangelogEnd)
	}
	t.Logf("warm %+v, cold %+v", warm, cold)
}
