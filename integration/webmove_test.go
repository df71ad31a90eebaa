//go:build integration

package integration

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	weirv1 "github.com/weirhq/weir/gen/weir/v1"
	"github.com/weirhq/weir/gen/weir/v1/weirv1connect"
	"github.com/weirhq/weir/integration/harness"
	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/libs/service/servicetest"
	"github.com/weirhq/weir/libs/topics"
	webcli "github.com/weirhq/weir/services/web/cli"
)

// keyIn returns the first key "<prefix><i>" whose partition (the producer's hashing) is p.
func keyIn(prefix string, p, partitions int) string {
	for i := 0; ; i++ {
		k := fmt.Sprintf("%s%d", prefix, i)
		if int(topics.KeyPartition([]byte(k), partitions)) == p {
			return k
		}
	}
}

// ownerChange is one change of a task's active owner seen in etcd.
type ownerChange struct {
	at     time.Time
	active string
	epoch  int64
	state  cluster.TaskState
}

// TestWebQueriesDuringPartitionMove runs the real system: a controller, two worker processes
// running a counting app (3 partitions, one standby each), the web service talking to the
// workers over Connect, and a generator that keeps producing views of one key per partition
// and of 200 other keys. Each key of the partitions the busier worker owns is queried through
// web 50 times a second while a third worker process joins and the controller moves one of
// those partitions to it with its two-phase handoff (warm-up, release, new epoch). For the
// moved partition's key (the hot key, chosen once the move is seen) etcd shows the owner
// changed during the queries and answers come from both owners; for every queried key no
// query fails, every answer comes from the active (no allow_stale), and no answer is lower
// than one that arrived before it was asked. Once the generator stops, every key read through
// web equals the number of records sent for it, and equals what the owner's TableService
// returns.
func TestWebQueriesDuringPartitionMove(t *testing.T) {
	ctx := harness.Context(t, 3*time.Minute)
	const partitions = 3
	sc := newScratch(t)
	appName, prefix := sc.app(t, "webq"), sc.prefix
	input := prefix + "views"
	src := fmt.Sprintf(`
app %q {
  partitions       = %d
  standby_replicas = 1
}

topic "views" {
  name  = %q
  key   = string
  value = string
}

table "counts" {
  value   = number
  default = 0
}

agent "count_views" {
  from = topic.views
  aggregate "count" {
    into = table.counts
  }
}
`, appName, partitions, input)

	bin := workerBinary(t)
	env := newCtlEnv(t)
	ctl := env.start(t, "c1")
	applySource(t, ctx, ctl.Addr, src)
	logDir := t.TempDir()
	t.Cleanup(func() {
		if t.Failed() {
			for _, w := range []string{"w1", "w2", "w3"} {
				if b, err := os.ReadFile(filepath.Join(logDir, w+".log")); err == nil {
					t.Logf("log of %s (last 4 KiB):\n%s", w, tail(b, 4096))
				}
			}
		}
	})
	startWorkerProc(t, bin, env, "w1", t.TempDir(), filepath.Join(logDir, "w1.log"))
	startWorkerProc(t, bin, env, "w2", t.TempDir(), filepath.Join(logDir, "w2.log"))
	before := env.waitAssigned(t, ctx, appName, 2)

	web := servicetest.Start(t, webcli.RunContext, "serve", "--listen", "127.0.0.1:0", "--instance-id", "web-1",
		"--etcd-prefix", env.prefix, "--etcd-endpoints", strings.Join(env.endpoints, ","))
	q := weirv1connect.NewQueryServiceClient(servicetest.HTTP1Client(t), "http://"+web.Addr, connect.WithProtoJSON())
	get := func(ctx context.Context, key string) (*weirv1.GetTableValueResponse, error) {
		resp, err := q.GetTableValue(ctx, connect.NewRequest(&weirv1.GetTableValueRequest{App: appName, Table: "counts", Key: strKey(key)}))
		if err != nil {
			return nil, err
		}
		return resp.Msg, nil
	}

	// One key per partition, views of each every 20 ms, and views of 8 of 200 other keys.
	hotKeys := make([]string, partitions)
	for p := range partitions {
		hotKeys[p] = keyIn("page-", p, partitions)
	}
	prod := newProducer(t)
	sent := map[string]int{}
	genCtx, stopGen := context.WithCancel(ctx)
	genDone := make(chan error, 1)
	go func() {
		genDone <- func() error {
			rng := rand.New(rand.NewPCG(3, 4))
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for i := 0; ; i++ {
				select {
				case <-genCtx.Done():
					return nil
				case <-tick.C:
				}
				keys := slices.Clone(hotKeys)
				for range 8 {
					keys = append(keys, fmt.Sprintf("other-%d", rng.IntN(200)))
				}
				recs := make([]topics.Record, len(keys))
				for j, k := range keys {
					recs[j] = topics.Record{Topic: input, Key: []byte(k), Value: fmt.Appendf(nil, "view %d", i)}
				}
				// Not bound to genCtx: a batch in flight when the generator stops still lands
				// and is counted.
				if err := prod.Send(ctx, recs...); err != nil {
					return fmt.Errorf("sending views: %w", err)
				}
				for _, k := range keys {
					sent[k]++
				}
			}
		}()
	}()
	stopGenerator := func() {
		stopGen()
		if err := <-genDone; err != nil {
			t.Fatal(err)
		}
	}
	defer stopGen()

	// Every partition's key is counted and readable through web before the move.
	waitFor(t, 30*time.Second, "every key to be counted and readable through web", func() bool {
		for _, k := range hotKeys {
			m, err := get(ctx, k)
			if err != nil || !m.Found || m.Value.GetNumberValue() < 1 {
				return false
			}
		}
		return true
	})

	// The partitions of the worker holding two actives: the controller must move one of them
	// to the joining worker (3 tasks over 3 workers), so their keys are the candidates.
	owners := map[int]string{}
	held := map[string][]int{}
	for tk, a := range before.Tasks {
		owners[tk.Partition] = a.Active
		held[a.Active] = append(held[a.Active], tk.Partition)
	}
	var busy string
	for w, ps := range held {
		if len(ps) == 2 {
			busy = w
		}
	}
	if busy == "" {
		t.Fatalf("assignment over 2 workers %v: no worker holds 2 of the 3 tasks", held)
	}
	candidates := held[busy]
	sort.Ints(candidates)
	t.Logf("before the move: owners %v; %s holds %v, whose keys are queried", owners, busy, candidates)

	// Owner changes of the candidate partitions, from etcd, while the queries run.
	var histMu sync.Mutex
	history := map[int][]ownerChange{}
	watchCtx, stopWatch := context.WithCancel(ctx)
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		for {
			if as, err := cluster.ReadAssignments(watchCtx, env.etcd, env.layout, appName); err == nil {
				histMu.Lock()
				for tk, a := range as.Tasks {
					h := history[tk.Partition]
					if len(h) == 0 || h[len(h)-1].active != a.Active || h[len(h)-1].state != a.State || h[len(h)-1].epoch != a.Epoch {
						history[tk.Partition] = append(h, ownerChange{at: time.Now(), active: a.Active, epoch: a.Epoch, state: a.State})
					}
				}
				histMu.Unlock()
			}
			select {
			case <-watchCtx.Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()

	// The queries: each candidate key 50 times a second, at most 2500 times (50 s).
	type keyLoad struct {
		mu       sync.Mutex
		answers  []answer
		failures []string
		attempts map[int32]int
		maxWait  time.Duration
	}
	loads := map[string]*keyLoad{}
	qctx, stopQueries := context.WithCancel(ctx)
	var qwg sync.WaitGroup
	queryStart := time.Now()
	for _, p := range candidates {
		k := hotKeys[p]
		l := &keyLoad{attempts: map[int32]int{}}
		loads[k] = l
		qwg.Go(func() {
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			var wg sync.WaitGroup
			defer wg.Wait()
			for range 2500 {
				select {
				case <-qctx.Done():
					return
				case <-tick.C:
				}
				wg.Go(func() {
					ctx, cancel := context.WithTimeout(context.WithoutCancel(qctx), 15*time.Second)
					defer cancel()
					start := time.Now()
					m, err := get(ctx, k)
					end := time.Now()
					l.mu.Lock()
					defer l.mu.Unlock()
					l.maxWait = max(l.maxWait, end.Sub(start))
					switch {
					case err != nil:
						l.failures = append(l.failures, fmt.Sprintf("%s: %v", start.Format("15:04:05.000"), err))
					case !m.Found:
						l.failures = append(l.failures, fmt.Sprintf("%s: not found (from %s)", start.Format("15:04:05.000"), m.Read.GetWorker()))
					case m.Read.GetRole() != string(cluster.RoleActive):
						// Without allow_stale only the active answers (a standby may lag).
						l.failures = append(l.failures, fmt.Sprintf("%s: answered by %s as %q, not the active", start.Format("15:04:05.000"), m.Read.GetWorker(), m.Read.GetRole()))
					default:
						l.answers = append(l.answers, answer{start: start, end: end, value: m.Value.GetNumberValue(), worker: m.Read.GetWorker()})
						l.attempts[m.Attempts]++
					}
				})
			}
		})
	}

	// A third worker joins; the controller hands one task over to it.
	time.Sleep(2 * time.Second)
	joined := time.Now()
	startWorkerProc(t, bin, env, "w3", t.TempDir(), filepath.Join(logDir, "w3.log"))
	after := env.waitAssigned(t, ctx, appName, 3)
	settled := time.Now()
	time.Sleep(3 * time.Second) // and queries on the new owner for a while
	stopQueries()
	qwg.Wait()
	queryEnd := time.Now()
	stopWatch()
	<-watchDone

	moved := -1
	for _, p := range candidates {
		if a := after.Tasks[cluster.TaskKey{App: appName, Group: taskGroup(after, p), Partition: p}]; a.Active != owners[p] {
			if moved >= 0 {
				t.Errorf("partitions %d and %d both moved", moved, p)
			}
			moved = p
		}
	}
	histMu.Lock()
	for _, p := range candidates {
		var steps []string
		for _, c := range history[p] {
			steps = append(steps, fmt.Sprintf("+%.2fs %s/e%d/%s", c.at.Sub(queryStart).Seconds(), c.active, c.epoch, c.state))
		}
		t.Logf("partition %d in etcd: %s", p, strings.Join(steps, " → "))
	}
	histMu.Unlock()
	if moved < 0 {
		t.Fatalf("none of %s's partitions %v moved: after the join %v", busy, candidates, after.Tasks)
	}
	hot := hotKeys[moved]
	newOwner := after.Tasks[cluster.TaskKey{App: appName, Group: taskGroup(after, moved), Partition: moved}].Active
	t.Logf("w3 joined at +%.1fs, assignment settled at +%.1fs, queries ended at +%.1fs; partition %d (hot key %q) moved %s → %s",
		joined.Sub(queryStart).Seconds(), settled.Sub(queryStart).Seconds(), queryEnd.Sub(queryStart).Seconds(), moved, hot, owners[moved], newOwner)
	if newOwner != "w3" {
		t.Errorf("partition %d moved to %s, want the joining worker w3", moved, newOwner)
	}
	// The owner change happened inside the query window (etcd's history of the partition).
	histMu.Lock()
	var changedAt time.Time
	for _, c := range history[moved] {
		if c.active == newOwner && changedAt.IsZero() {
			changedAt = c.at
		}
	}
	histMu.Unlock()
	if changedAt.IsZero() || !changedAt.After(queryStart) || !changedAt.Before(queryEnd) {
		t.Errorf("the owner of partition %d became %s at %v, not inside the query window %v – %v", moved, newOwner, changedAt, queryStart, queryEnd)
	}

	for _, p := range candidates {
		k := hotKeys[p]
		l := loads[k]
		l.mu.Lock()
		servedBy := map[string]int{}
		for _, a := range l.answers {
			servedBy[a.worker]++
		}
		total := len(l.answers) + len(l.failures)
		rate := float64(total) / queryEnd.Sub(queryStart).Seconds()
		t.Logf("key %q (partition %d): %d queries (%.1f/s), %d failed, served by %v, tries per answer %v, slowest %v",
			k, p, total, rate, len(l.failures), servedBy, l.attempts, l.maxWait.Round(time.Millisecond))
		if len(l.failures) > 0 {
			t.Errorf("key %q: %d of %d queries failed; first: %s", k, len(l.failures), total, l.failures[0])
		}
		if backwards := wentBackwards(l.answers); len(backwards) > 0 {
			t.Errorf("key %q: counts went backwards %d times: %v", k, len(backwards), backwards[:min(5, len(backwards))])
		}
		if total < 200 {
			t.Errorf("key %q: only %d queries ran", k, total)
		}
		if rate < 40 {
			t.Errorf("key %q: %.1f queries/s, want about 50", k, rate)
		}
		if p == moved {
			if servedBy[owners[moved]] == 0 || servedBy[newOwner] == 0 {
				t.Errorf("hot key %q served by %v; want both the old owner %s and the new owner %s", k, servedBy, owners[moved], newOwner)
			}
			// The count kept rising across the handoff (else "never backwards" says little).
			highest := map[string]float64{}
			for _, a := range l.answers {
				highest[a.worker] = max(highest[a.worker], a.value)
			}
			if highest[newOwner] <= highest[owners[moved]] {
				t.Errorf("hot key %q: highest count from the new owner %v, from the old %v; want it to keep rising", k, highest[newOwner], highest[owners[moved]])
			}
		}
		l.mu.Unlock()
	}

	// The generator stops; every key read through web settles at the number of views sent,
	// which is also what its owner's TableService returns.
	stopGenerator()
	want := sent
	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	t.Logf("sent %d views of %d keys; hot key %q: %d", sum(want), len(keys), hot, want[hot])
	deadline := time.Now().Add(30 * time.Second)
	for _, k := range keys {
		var m *weirv1.GetTableValueResponse
		var err error
		for {
			m, err = get(ctx, k)
			if err == nil && int(m.Value.GetNumberValue()) == want[k] {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("key %q through web: %v, %v; want %d", k, m, err, want[k])
			}
			time.Sleep(200 * time.Millisecond)
		}
		asg, err := q.GetAssignment(ctx, connect.NewRequest(&weirv1.GetAssignmentRequest{App: appName}))
		if err != nil {
			t.Fatal(err)
		}
		var ownerAddr string
		for _, ta := range asg.Msg.Tasks {
			if ta.Partition == m.Read.Partition && ta.Group == m.Read.Group {
				ownerAddr = ta.ActiveAddr
				if ta.Active != m.Read.Worker {
					t.Errorf("key %q read from %s; GetAssignment names %s as the owner", k, m.Read.Worker, ta.Active)
				}
			}
		}
		tc := weirv1connect.NewTableServiceClient(servicetest.HTTP1Client(t), "http://"+ownerAddr)
		direct, err := tc.Get(ctx, connect.NewRequest(&weirv1.TableGetRequest{App: appName, Table: "counts", Key: &weirv1.TableKey{Value: strKey(k)}}))
		if err != nil || int(direct.Msg.Value.GetNumberValue()) != want[k] {
			t.Errorf("key %q at its owner %s: %v, %v; want %d", k, ownerAddr, direct, err, want[k])
		}
	}
	if got, err := get(ctx, hot); err != nil || got.Read.Worker != newOwner {
		t.Errorf("hot key %q finally read %v, %v; want from %s", hot, got, err, newOwner)
	}
}

// taskGroup is the task group of partition p in an assignment (the app has one group).
func taskGroup(as cluster.Assignments, p int) string {
	for tk := range as.Tasks {
		if tk.Partition == p {
			return tk.Group
		}
	}
	return ""
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
