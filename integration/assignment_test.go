//go:build integration

package integration

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/weirhq/weir/integration/harness"
	"github.com/weirhq/weir/libs/cluster"
)

// Short timings for the test (the defaults are TTL 10 s, grace 7 s).
const (
	assignTTL   = 3 * time.Second
	assignGrace = 2 * time.Second
)

// TestAssignmentProcesses runs one controller and up to four worker processes against a real
// etcd, with a trivial task body, through join, kill -9, SIGTERM and SIGSTOP/SIGCONT:
//
//   - a joining worker gets its share only through the two-phase handoff (warm-up → releasing →
//     released → active with a new epoch), and tasks that do not move keep their epoch;
//   - a killed worker's tasks have live actives again within TTL + grace + 2 s, and no sooner
//     than grace after its lease ended;
//   - a worker stopped with SIGTERM hands every task off through released records, then
//     deregisters and exits 0;
//   - a worker paused past its lease and resumed stops acting on its old tasks before it does
//     anything else, and registers again under a new lease;
//   - throughout, no two workers act on one task at once: over time, each task's actions come
//     from one epoch at a time, in increasing order.
func TestAssignmentProcesses(t *testing.T) {
	ctx := harness.Context(t, 3*time.Minute)
	bin := buildAssignNode(t)
	endpoints := harness.EtcdEndpoints(t)
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	layout := cluster.Layout{Prefix: "/weir-test/" + harness.Name(t, "assign")}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		cli.Delete(ctx, layout.All(), clientv3.WithPrefix())
		cli.Close()
	})

	topo := cluster.Topology{App: "orders", Standbys: 1, Groups: []cluster.Group{{Name: "enrich", Partitions: 12}, {Name: "count", Partitions: 12}}}
	tasks := topo.Tasks()
	start, err := cli.Get(ctx, "/weir-test/none")
	if err != nil {
		t.Fatal(err)
	}
	events := record(t, ctx, cli, layout.All(), start.Header.Revision+1)
	if err := cluster.PutTopology(ctx, cli, layout, topo); err != nil {
		t.Fatal(err)
	}

	common := []string{"-etcd", endpoints[0], "-prefix", layout.Prefix}
	startNode(t, bin, "c1", append(common, "-mode", "controller", "-grace", assignGrace.String(), "-produce-timeout", "1s",
		"-handoff-timeout", "20s")...)
	worker := func(id string) *node {
		return startNode(t, bin, id, append(common, "-mode", "worker", "-ttl", assignTTL.String(), "-margin", "500ms",
			"-drain-timeout", "30s")...)
	}
	nodes := map[string]*node{}
	for _, id := range []string{"w1", "w2", "w3"} {
		nodes[id] = worker(id)
	}
	settle := func(what string, workers ...string) clusterState {
		return pollState(t, ctx, cli, layout, topo.App, what, func(s clusterState) (bool, string) {
			return s.settled(tasks, workers, topo.Standbys)
		})
	}
	before := settle("the first assignment", "w1", "w2", "w3")
	t.Logf("assigned over 3 workers at revision %d", before.Rev)

	// Join: a fourth worker gets its share through handoffs only.
	nodes["w4"] = worker("w4")
	after := settle("the join", "w1", "w2", "w3", "w4")
	moved := checkPhase(t, "join", events.snapshot(), layout, tasks, before, after, incarnation{})
	if moved != 6 {
		t.Errorf("join moved %d tasks, want 6 (the new worker's share)", moved)
	}

	// kill -9: the worker's tasks are live again within TTL + grace + 2 s.
	before = after
	killed := incarnation{"w2", before.Leases["w2"]}
	killAt := nodes["w2"].signal(t, syscall.SIGKILL)
	pollState(t, ctx, cli, layout, topo.App, "live actives after kill -9", func(s clusterState) (bool, string) {
		if _, ok := s.Leases["w2"]; ok {
			return false, "w2 still registered"
		}
		return s.live(tasks)
	})
	took := time.Since(killAt)
	t.Logf("kill -9: every task live again after %v", took.Round(time.Millisecond))
	if bound := assignTTL + assignGrace + 2*time.Second; took > bound {
		t.Errorf("kill -9: tasks live again after %v, want at most TTL + grace + 2 s = %v", took, bound)
	}
	after = settle("the reassignment after kill -9", "w1", "w3", "w4")
	checkPhase(t, "kill", events.snapshot(), layout, tasks, before, after, killed)

	// SIGTERM: the worker drains through handoffs, deregisters and exits 0.
	before = after
	nodes["w3"].signal(t, syscall.SIGTERM)
	if err := nodes["w3"].wait(ctx); err != nil {
		t.Errorf("w3 after SIGTERM: %v (exit code %d)", err, nodes["w3"].exitCode())
	}
	after = settle("the drain", "w1", "w4")
	evs := events.snapshot()
	if n := checkPhase(t, "drain", evs, layout, tasks, before, after, incarnation{}); n < 8 {
		t.Errorf("drain moved %d tasks, want at least w3's 8", n)
	}
	checkDeregisteredAfterHandoffs(t, evs, layout, "w3", before.Rev)

	// SIGSTOP past the lease, then SIGCONT: the worker stops acting on its old tasks first.
	before = after
	paused := incarnation{"w4", before.Leases["w4"]}
	nodes["w4"].signal(t, syscall.SIGSTOP)
	pollState(t, ctx, cli, layout, topo.App, "failover from the paused worker", func(s clusterState) (bool, string) {
		if _, ok := s.Leases["w4"]; ok {
			return false, "w4 still registered"
		}
		return s.live(tasks)
	})
	expired := keyGone(t, events.snapshot(), layout.Worker("w4"), before.Rev)
	resumeAt := nodes["w4"].signal(t, syscall.SIGCONT)
	after = settle("the paused worker's return", "w1", "w4")
	if after.Leases["w4"] == paused.lease {
		t.Fatalf("w4 came back under its old lease %x", paused.lease)
	}
	checkPhase(t, "pause", events.snapshot(), layout, tasks, before, after, paused)
	checkResumed(t, nodes["w4"].snapshot(), paused.lease, after.Leases["w4"], expired, resumeAt)

	// Throughout: one epoch acting per task at a time.
	var acts []nodeAct
	for id, n := range nodes {
		acts = append(acts, actsOf(id, n.snapshot())...)
	}
	checkSingleActive(t, acts)
}

// incarnation is a worker under one lease.
type incarnation struct {
	worker string
	lease  int64
}

// step is one recorded change of a task: its assignment record or its released record.
type step struct {
	rev      int64
	seen     time.Time
	assigned *cluster.Assignment
	released *cluster.Handoff
}

// history lists the changes of task after revision from, in order.
func history(evs []keyEvent, l cluster.Layout, task cluster.TaskKey, from int64) []step {
	var out []step
	for _, ev := range evs {
		if ev.Rev <= from || ev.Deleted {
			continue
		}
		switch ev.Key {
		case l.Assignment(task):
			a, err := cluster.DecodeAssignment(ev.Value, ev.Rev)
			if err == nil {
				out = append(out, step{rev: ev.Rev, seen: ev.Seen, assigned: &a})
			}
		case l.Handoff(task):
			h, err := cluster.DecodeHandoff(ev.Value)
			if err == nil {
				out = append(out, step{rev: ev.Rev, seen: ev.Seen, released: &h})
			}
		}
	}
	return out
}

// checkPhase checks every task's changes between two settled states and returns how many tasks
// changed active. An active changes only (a) through the two-phase handoff: warm-up, then
// releasing, then the old active's released record for its epoch, then the target active with
// a new epoch starting from the old one; or (b) for lost, by failover no sooner than grace after
// its membership key was deleted. A task whose active never changes keeps its epoch.
func checkPhase(t *testing.T, phase string, evs []keyEvent, l cluster.Layout, tasks []cluster.TaskKey, before, after clusterState, lost incarnation) int {
	t.Helper()
	var lostAt time.Time
	if lost.worker != "" {
		lostAt = keyGone(t, evs, l.Worker(lost.worker), before.Rev)
	}
	moved := 0
	for _, task := range tasks {
		cur := before.Tasks[task]
		var warmed, releasing bool
		var released *cluster.Handoff
		changed := false
		for _, s := range history(evs, l, task, before.Rev) {
			if s.rev > after.Rev {
				break
			}
			if s.released != nil {
				if !releasing {
					t.Errorf("%s: %s: released record at revision %d while not releasing", phase, task, s.rev)
				}
				released = s.released
				continue
			}
			a := *s.assigned
			if a.Active == cur.Active && a.Lease == cur.Lease {
				if a.Epoch != cur.Epoch {
					t.Errorf("%s: %s: epoch changed from %d to %d without a new active", phase, task, cur.Epoch, a.Epoch)
				}
				switch a.State {
				case cluster.Warming:
					warmed = true
				case cluster.Releasing:
					releasing = warmed || releasing
				default:
					warmed, releasing, released = false, false, nil
				}
				cur = a
				continue
			}
			changed = true
			switch {
			case lost.worker != "" && cur.Active == lost.worker && cur.Lease == lost.lease:
				if wait := s.seen.Sub(lostAt); wait < assignGrace-200*time.Millisecond {
					t.Errorf("%s: %s failed over %v after %s's lease ended, want at least the grace %v", phase, task, wait, lost.worker, assignGrace)
				}
			case !warmed || !releasing || released == nil:
				t.Errorf("%s: %s moved from %s to %s at revision %d without the full handoff (warm-up %v, releasing %v, released %v)",
					phase, task, cur.Active, a.Active, s.rev, warmed, releasing, released != nil)
			case released.Worker != cur.Active || released.Epoch != cur.Epoch:
				t.Errorf("%s: %s: released record by %s at epoch %d, want %s at %d", phase, task, released.Worker, released.Epoch, cur.Active, cur.Epoch)
			case cur.Warmups[0] != a.Active:
				t.Errorf("%s: %s moved to %s, not to its warm-up target %v", phase, task, a.Active, cur.Warmups)
			case a.Start == nil || a.Start.FromEpoch != cur.Epoch || a.Start.ChangelogEnd != released.ChangelogEnd:
				t.Errorf("%s: %s: new active starts from %+v, want the released checkpoint of epoch %d", phase, task, a.Start, cur.Epoch)
			}
			if a.Epoch <= cur.Epoch {
				t.Errorf("%s: %s: new active %s has epoch %d, not above %d", phase, task, a.Active, a.Epoch, cur.Epoch)
			}
			// A failover may plan the next move in the same write (the promoted standby is not
			// the task's owner): the new record then starts warming at once.
			cur, warmed, releasing, released = a, a.State == cluster.Warming, false, nil
		}
		if changed {
			moved++
		} else if e := after.Tasks[task].Epoch; e != before.Tasks[task].Epoch {
			t.Errorf("%s: %s kept its active but its epoch went from %d to %d", phase, task, before.Tasks[task].Epoch, e)
		}
	}
	t.Logf("%s: %d tasks moved", phase, moved)
	return moved
}

// keyGone returns when the recorder saw key deleted after revision from.
func keyGone(t *testing.T, evs []keyEvent, key string, from int64) time.Time {
	t.Helper()
	for _, ev := range evs {
		if ev.Rev > from && ev.Key == key && ev.Deleted {
			return ev.Seen
		}
	}
	t.Fatalf("no deletion of %s recorded", key)
	return time.Time{}
}

// checkDeregisteredAfterHandoffs checks that worker marked itself draining before its tasks
// were released and deleted its membership key only after its last task moved.
func checkDeregisteredAfterHandoffs(t *testing.T, evs []keyEvent, l cluster.Layout, worker string, from int64) {
	t.Helper()
	var draining, gone, lastRelease int64
	for _, ev := range evs {
		if ev.Rev <= from {
			continue
		}
		switch {
		case ev.Key == l.Worker(worker) && ev.Deleted:
			gone = ev.Rev
		case ev.Key == l.Worker(worker):
			if rec, err := cluster.DecodeWorker(ev.Value); err == nil && rec.Draining && draining == 0 {
				draining = ev.Rev
			}
		default:
			if kind, _, _, err := l.ParseAppKey(ev.Key); err == nil && kind == cluster.HandoffKey && !ev.Deleted {
				if h, err := cluster.DecodeHandoff(ev.Value); err == nil && h.Worker == worker {
					lastRelease = ev.Rev
				}
			}
		}
	}
	if draining == 0 || lastRelease == 0 || gone == 0 || !(draining < lastRelease && lastRelease < gone) {
		t.Errorf("%s: draining at revision %d, last released record at %d, deregistered at %d; want them in that order", worker, draining, lastRelease, gone)
	}
}

// checkResumed checks a worker resumed after its lease (old) expired: it acted under the old
// lease only before the lease's end was seen in etcd, and after resuming it logged the lease
// loss and stopped its tasks before registering under the new lease and acting again.
func checkResumed(t *testing.T, lines []nodeLine, old, new int64, expired, resumed time.Time) {
	t.Helper()
	lost, stopped, registered := -1, -1, -1
	for i, l := range lines {
		switch {
		case l.Msg == "lease lost" && l.Lease == old && lost < 0:
			lost = i
		case l.Msg == "stopped tasks" && l.Lease == old && stopped < 0:
			stopped = i
		case l.Msg == "registered" && l.Lease == new:
			registered = i
		case l.Msg == "act" && l.Lease == old:
			if l.At >= expired.UnixNano() || l.At >= l.Deadline {
				t.Errorf("acted on %s (epoch %d) under the old lease at %v, after its deadline %v / expiry %v",
					l.Task, l.Epoch, time.Unix(0, l.At), time.Unix(0, l.Deadline), expired)
			}
			if lost >= 0 {
				t.Errorf("acted on %s under the old lease after logging its loss", l.Task)
			}
		case l.Msg == "act" && l.Lease == new && registered < 0:
			t.Errorf("acted on %s under the new lease before registering it", l.Task)
		}
	}
	if !(lost >= 0 && lost < stopped && stopped < registered) {
		t.Errorf("after resuming: lease lost at line %d, tasks stopped at %d, registered at %d; want that order", lost, stopped, registered)
	}
	t.Logf("pause: old lease seen expired %v before resume", resumed.Sub(expired).Round(time.Millisecond))
}

// nodeAct is one action of a worker on a task.
type nodeAct struct {
	worker string
	task   string
	epoch  int64
	lease  int64
	at     int64
}

func actsOf(worker string, lines []nodeLine) []nodeAct {
	var out []nodeAct
	for _, l := range lines {
		if l.Msg == "act" {
			out = append(out, nodeAct{worker: worker, task: l.Task, epoch: l.Epoch, lease: l.Lease, at: l.At})
		}
	}
	return out
}

// checkSingleActive checks that over time each task's actions come from one (worker, lease,
// epoch) at a time, with epochs only growing: two actives never overlapped.
func checkSingleActive(t *testing.T, acts []nodeAct) {
	t.Helper()
	byTask := map[string][]nodeAct{}
	for _, a := range acts {
		byTask[a.task] = append(byTask[a.task], a)
	}
	tasks := make([]string, 0, len(byTask))
	for task := range byTask {
		tasks = append(tasks, task)
	}
	sort.Strings(tasks)
	for _, task := range tasks {
		owners := map[int64]string{}
		as := byTask[task]
		slices.SortFunc(as, func(a, b nodeAct) int { return int(a.at - b.at) })
		for i, a := range as {
			owner := fmt.Sprintf("%s/%x", a.worker, a.lease)
			if o, ok := owners[a.epoch]; ok && o != owner {
				t.Errorf("%s: epoch %d acted by %s and %s", task, a.epoch, o, owner)
			}
			owners[a.epoch] = owner
			if i > 0 && a.epoch < as[i-1].epoch {
				t.Errorf("%s: %s acted at epoch %d at %v, after %s acted at epoch %d at %v",
					task, owner, a.epoch, time.Unix(0, a.at), as[i-1].worker, as[i-1].epoch, time.Unix(0, as[i-1].at))
				break
			}
		}
	}
	t.Logf("%d actions on %d tasks checked", len(acts), len(tasks))
}

// TestAssignmentControllerFailover kills the leading controller of two: the other takes over
// after the leader's session expires and carries out the next change (a join, through handoffs).
func TestAssignmentControllerFailover(t *testing.T) {
	ctx := harness.Context(t, 2*time.Minute)
	bin := buildAssignNode(t)
	endpoints := harness.EtcdEndpoints(t)
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	layout := cluster.Layout{Prefix: "/weir-test/" + harness.Name(t, "assign")}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		cli.Delete(ctx, layout.All(), clientv3.WithPrefix())
		cli.Close()
	})
	topo := cluster.Topology{App: "orders", Standbys: 1, Groups: []cluster.Group{{Name: "g", Partitions: 8}}}
	tasks := topo.Tasks()
	if err := cluster.PutTopology(ctx, cli, layout, topo); err != nil {
		t.Fatal(err)
	}
	common := []string{"-etcd", endpoints[0], "-prefix", layout.Prefix}
	controllers := map[string]*node{}
	for _, id := range []string{"c1", "c2"} {
		controllers[id] = startNode(t, bin, id, append(common, "-mode", "controller", "-grace", assignGrace.String(),
			"-produce-timeout", "1s", "-election-ttl", "2s")...)
	}
	worker := func(id string) *node {
		return startNode(t, bin, id, append(common, "-mode", "worker", "-ttl", assignTTL.String(), "-margin", "500ms")...)
	}
	worker("w1")
	worker("w2")
	before := pollState(t, ctx, cli, layout, topo.App, "the first assignment", func(s clusterState) (bool, string) {
		return s.settled(tasks, []string{"w1", "w2"}, topo.Standbys)
	})

	resp, err := cli.Get(ctx, layout.Election(), clientv3.WithFirstCreate()...)
	if err != nil || len(resp.Kvs) == 0 {
		t.Fatalf("reading the leader: %v", err)
	}
	leaderID := string(resp.Kvs[0].Value)
	events := record(t, ctx, cli, layout.All(), before.Rev+1)
	controllers[leaderID].signal(t, syscall.SIGKILL)
	t.Logf("killed leader %s", leaderID)

	worker("w3")
	after := pollState(t, ctx, cli, layout, topo.App, "the join under the new leader", func(s clusterState) (bool, string) {
		return s.settled(tasks, []string{"w1", "w2", "w3"}, topo.Standbys)
	})
	if moved := checkPhase(t, "join after leader failover", events.snapshot(), layout, tasks, before, after, incarnation{}); moved < 2 {
		t.Errorf("moved %d tasks, want w3's share", moved)
	}
	resp, err = cli.Get(ctx, layout.Election(), clientv3.WithFirstCreate()...)
	if err != nil || len(resp.Kvs) == 0 || string(resp.Kvs[0].Value) == leaderID {
		t.Fatalf("leader after the kill: %v, %v", resp, err)
	}
}
