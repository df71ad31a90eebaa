//go:build integration

package integration

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/structpb"

	weirv1 "github.com/weirhq/weir/gen/weir/v1"
	"github.com/weirhq/weir/gen/weir/v1/weirv1connect"
	"github.com/weirhq/weir/integration/browser"
	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/libs/tables"
)

func webClient(c *browser.Cluster) weirv1connect.QueryServiceClient {
	return weirv1connect.NewQueryServiceClient(http.DefaultClient, c.WebURL)
}

// setCounts writes counts (JSON numbers) into a task's table and commits them.
func setCounts(ctx context.Context, t *testing.T, task *tables.Task, kv map[string]int) {
	t.Helper()
	tb, err := task.Table("counts")
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range kv {
		if err := tb.Set([]byte(k), []byte(strconv.Itoa(v))); err != nil {
			t.Fatal(err)
		}
	}
	if err := task.Commit(ctx, task.Positions(), task.Dedup()); err != nil {
		t.Fatal(err)
	}
}

func strKey(s string) *structpb.Value { return structpb.NewStringValue(s) }

// TestWebRoutesQueries: two workers own two partitions each; every key read through web
// equals what its owner's task committed and is served by that owner; scans merge every
// partition in key order; windows come back by range; the cluster views are right.
func TestWebRoutesQueries(t *testing.T) {
	c := browser.NewCluster(t, "w1", "w2")
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	owner := map[int]string{0: "w1", 1: "w1", 2: "w2", 3: "w2"}
	as := map[int]cluster.Assignment{}
	for p, w := range owner {
		other := map[string]string{"w1": "w2", "w2": "w1"}[w]
		as[p] = cluster.Assignment{Active: w, Standbys: []string{other}}
	}
	epochs := c.Assign(ctx, as)
	want := map[string]int{}
	perPart := map[int]map[string]int{}
	for i := range 40 {
		k := fmt.Sprintf("page-%02d", i)
		want[k] = i * 3
		p := browser.Partition(k)
		if perPart[p] == nil {
			perPart[p] = map[string]int{}
		}
		perPart[p][k] = i * 3
	}
	spec, err := tables.SpecFromConfig(c.App.Table("per_minute").Window, nil)
	if err != nil {
		t.Fatal(err)
	}
	for p, w := range owner {
		wk := c.Workers[w]
		task := c.OpenTask(ctx, wk, p, epochs[p])
		setCounts(ctx, t, task, perPart[p])
		if p == browser.Partition("page-07") { // windows of one key
			ws, err := tables.OpenWindows(task)
			if err != nil {
				t.Fatal(err)
			}
			wt, err := ws.Table("per_minute", spec)
			if err != nil {
				t.Fatal(err)
			}
			for _, ts := range []int64{60_000, 61_000, 125_000} {
				if _, err := ws.Observe(ts); err != nil {
					t.Fatal(err)
				}
				if _, err := wt.Update([]byte("page-07"), ts, func(old []byte, ok bool) ([]byte, error) {
					n := 0
					if ok {
						n, _ = strconv.Atoi(string(old))
					}
					return []byte(strconv.Itoa(n + 1)), nil
				}); err != nil {
					t.Fatal(err)
				}
			}
			if err := task.Commit(ctx, task.Positions(), task.Dedup()); err != nil {
				t.Fatal(err)
			}
		}
		wk.Hold(p, cluster.RoleActive, epochs[p])
		other := map[string]string{"w1": "w2", "w2": "w1"}[w]
		c.Workers[other].Hold(p, cluster.RoleStandby, epochs[p])
	}

	q := webClient(c)
	for k, v := range want {
		resp, err := q.GetTableValue(ctx, connect.NewRequest(&weirv1.GetTableValueRequest{App: c.App.Name, Table: "counts", Key: strKey(k)}))
		if err != nil {
			t.Fatalf("GetTableValue(%s): %v", k, err)
		}
		m := resp.Msg
		p := browser.Partition(k)
		if !m.Found || int(m.Value.GetNumberValue()) != v || m.Read.Worker != owner[p] || int(m.Read.Partition) != p || m.Read.Role != "active" {
			t.Errorf("GetTableValue(%s) = %v; want %d from %s (partition %d)", k, m, v, owner[p], p)
		}
	}
	resp, err := q.GetTableValue(ctx, connect.NewRequest(&weirv1.GetTableValueRequest{App: c.App.Name, Table: "counts", Key: strKey("nope")}))
	if err != nil || resp.Msg.Found {
		t.Errorf("absent key: %v, %v", resp, err)
	}

	// Windows of page-07: [60 s, 120 s) = 2, [120 s, 180 s) = 1.
	wresp, err := q.GetTableValue(ctx, connect.NewRequest(&weirv1.GetTableValueRequest{App: c.App.Name, Table: "per_minute", Key: strKey("page-07")}))
	if err != nil {
		t.Fatal(err)
	}
	if w := wresp.Msg.Windows; !wresp.Msg.Windowed || len(w) != 2 || w[0].StartMs != 60_000 || w[0].Value.GetNumberValue() != 2 ||
		w[1].EndMs != 180_000 || w[1].Value.GetNumberValue() != 1 {
		t.Errorf("windows of page-07 = %v", wresp.Msg)
	}
	wresp, err = q.GetTableValue(ctx, connect.NewRequest(&weirv1.GetTableValueRequest{App: c.App.Name, Table: "per_minute", Key: strKey("page-07"), FromMs: 100_000, ToMs: 200_000}))
	if err != nil || len(wresp.Msg.Windows) != 1 {
		t.Errorf("windows of page-07 from 100 s: %v, %v", wresp, err)
	}

	// A scan in pages of 7 returns every key once, in key order.
	var scanned []string
	cursor := ""
	for range 20 {
		resp, err := q.ScanTable(ctx, connect.NewRequest(&weirv1.ScanTableRequest{App: c.App.Name, Table: "counts", Prefix: "page-", Limit: 7, Cursor: cursor}))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range resp.Msg.Entries {
			scanned = append(scanned, e.Key.GetStringValue())
			if int(e.Value.GetNumberValue()) != want[e.Key.GetStringValue()] {
				t.Errorf("scan: %v, want %d", e, want[e.Key.GetStringValue()])
			}
		}
		if cursor = resp.Msg.NextCursor; cursor == "" {
			break
		}
	}
	if len(scanned) != len(want) || !slices.IsSorted(scanned) {
		t.Errorf("scanned %d keys (sorted: %v), want %d sorted", len(scanned), slices.IsSorted(scanned), len(want))
	}

	// A worker asked for a key it does not own names the owner (issue 8).
	k := "page-03"
	p := browser.Partition(k)
	notOwner := c.Workers[map[string]string{"w1": "w2", "w2": "w1"}[owner[p]]]
	tc := weirv1connect.NewTableServiceClient(http.DefaultClient, "http://"+notOwner.Addr)
	_, err = tc.Get(ctx, connect.NewRequest(&weirv1.TableGetRequest{App: c.App.Name, Table: "counts", Key: &weirv1.TableKey{Value: strKey(k)}}))
	var ce *connect.Error
	if !errors.As(err, &ce) || ce.Code() != connect.CodeFailedPrecondition {
		t.Fatalf("Get at a standby without allow_stale: %v, want FAILED_PRECONDITION", err)
	}
	if d := detailOf(ce); d == nil || d.Owner != owner[p] || d.OwnerAddr != c.Workers[owner[p]].Addr || d.HeldAs != "standby" {
		t.Errorf("refusal %v names %v; want owner %s at %s", ce, d, owner[p], c.Workers[owner[p]].Addr)
	}
	stale, err := tc.Get(ctx, connect.NewRequest(&weirv1.TableGetRequest{App: c.App.Name, Table: "counts", Key: &weirv1.TableKey{Value: strKey(k)}, AllowStale: true}))
	if err != nil || stale.Msg.Read.Role != "standby" {
		t.Errorf("stale Get at the standby: %v, %v", stale, err)
	}

	// Views.
	asg, err := q.GetAssignment(ctx, connect.NewRequest(&weirv1.GetAssignmentRequest{App: c.App.Name}))
	if err != nil || len(asg.Msg.Tasks) != browser.Partitions {
		t.Fatalf("GetAssignment: %v, %v", asg, err)
	}
	for _, ta := range asg.Msg.Tasks {
		if ta.Active != owner[int(ta.Partition)] || ta.ActiveAddr != c.Workers[ta.Active].Addr || len(ta.Standbys) != 1 {
			t.Errorf("assignment %v", ta)
		}
	}
	h, err := q.ClusterHealth(ctx, connect.NewRequest(&weirv1.ClusterHealthRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Msg.Workers) != 2 || h.Msg.UnassignedTasks != 0 || h.Msg.Leader != "controller-1" || !h.Msg.Healthy {
		t.Errorf("ClusterHealth = %v", h.Msg)
	}
	for _, w := range h.Msg.Workers {
		if !w.Reachable || w.ActiveTasks != 2 || w.StandbyTasks != 2 {
			t.Errorf("worker health %v", w)
		}
	}
	d, err := q.DescribeApp(ctx, connect.NewRequest(&weirv1.DescribeAppRequest{App: c.App.Name}))
	if err != nil || len(d.Msg.History) != 1 || len(d.Msg.Tables) != 2 || len(d.Msg.Edges) == 0 {
		t.Errorf("DescribeApp: %v, %v", d, err)
	}
	_, err = q.GetTableValue(ctx, connect.NewRequest(&weirv1.GetTableValueRequest{App: c.App.Name, Table: "nope", Key: strKey("a")}))
	if connect.CodeOf(err) != connect.CodeNotFound {
		t.Errorf("unknown table: %v, want NOT_FOUND", err)
	}
	_, err = q.GetTableValue(ctx, connect.NewRequest(&weirv1.GetTableValueRequest{App: "nope", Table: "counts", Key: strKey("a")}))
	if connect.CodeOf(err) != connect.CodeNotFound {
		t.Errorf("unknown app: %v, want NOT_FOUND", err)
	}
}

func detailOf(ce *connect.Error) *weirv1.NotOwner {
	for _, d := range ce.Details() {
		if v, err := d.Value(); err == nil {
			if n, ok := v.(*weirv1.NotOwner); ok {
				return n
			}
		}
	}
	return nil
}

// TestWebScriptedHandoffUnderLoad drives a handoff step by step on the in-process rig
// (integration/browser: TableServices over stores the test writes, assignments the test
// publishes, no controller and no worker runtime): a key's partition moves from w1 to w2 (a
// real standby catches up from the changelog, w1 makes its final commit, the assignment names
// w2 with a new epoch, w2 starts its task from the log) while the test's writer raises the
// key's count every 10 ms and web is asked for it 50 times a second: no query fails and no
// answer goes backwards. It pins the router's and the table service's side of a handoff
// deterministically; TestWebQueriesDuringPartitionMove (webmove_test.go) checks the same on
// the real system.
func TestWebScriptedHandoffUnderLoad(t *testing.T) {
	c := browser.NewCluster(t, "w1", "w2")
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	const key = "hot-page"
	p := browser.Partition(key)
	w1, w2 := c.Workers["w1"], c.Workers["w2"]
	epochs := c.Assign(ctx, map[int]cluster.Assignment{p: {Active: "w1"}})
	task := c.OpenTask(ctx, w1, p, epochs[p])
	w1.Hold(p, cluster.RoleActive, epochs[p])

	var count atomic.Int64
	// The writer: +1 and a commit every 10 ms on whichever task is current.
	var taskMu sync.Mutex
	current := task
	writing := true
	writerDone := make(chan error, 1)
	wctx, stopWriter := context.WithCancel(ctx)
	go func() {
		writerDone <- func() error {
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-wctx.Done():
					return nil
				case <-tick.C:
				}
				taskMu.Lock()
				if writing {
					tb, err := current.Table("counts")
					if err == nil {
						err = tb.Set([]byte(key), []byte(strconv.FormatInt(count.Load()+1, 10)))
					}
					if err == nil {
						err = current.Commit(wctx, current.Positions(), current.Dedup())
					}
					if err != nil {
						taskMu.Unlock()
						if wctx.Err() != nil {
							return nil
						}
						return err
					}
					count.Add(1)
				}
				taskMu.Unlock()
			}
		}()
	}()

	// The readers: 50 queries a second through web.
	q := webClient(c)
	var (
		queries, failures atomic.Int64
		mu                sync.Mutex
		answers           []answer
		servedBy          = map[string]int{}
		firstErr          error
	)
	rctx, stopReaders := context.WithCancel(ctx)
	readersDone := make(chan struct{})
	go func() {
		defer close(readersDone)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		var wg sync.WaitGroup
		defer wg.Wait()
		for {
			select {
			case <-rctx.Done():
				return
			case <-tick.C:
			}
			wg.Go(func() {
				qctx, cancel := context.WithTimeout(context.WithoutCancel(rctx), 10*time.Second)
				defer cancel()
				start := time.Now()
				resp, err := q.GetTableValue(qctx, connect.NewRequest(&weirv1.GetTableValueRequest{App: c.App.Name, Table: "counts", Key: strKey(key)}))
				queries.Add(1)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					failures.Add(1)
					if firstErr == nil {
						firstErr = err
					}
					return
				}
				answers = append(answers, answer{start: start, end: time.Now(), value: resp.Msg.Value.GetNumberValue(), worker: resp.Msg.Read.Worker})
				servedBy[resp.Msg.Read.Worker]++
			})
		}
	}()

	time.Sleep(1500 * time.Millisecond)
	// Warm-up: w2 follows the changelog as a standby.
	c.Assign(ctx, map[int]cluster.Assignment{p: {Active: "w1", Warmups: []string{"w2"}, State: cluster.Warming}})
	sb, err := tables.OpenStandby(w2.Store, c.Kafka, tables.StandbyConfig{Topic: c.Changelog, Partition: int32(p), Logger: browser.Log})
	if err != nil {
		t.Fatal(err)
	}
	sctx, stopStandby := context.WithCancel(ctx)
	standbyDone := make(chan error, 1)
	go func() { standbyDone <- sb.Run(sctx) }()
	w2.Hold(p, cluster.RoleWarmup, epochs[p])
	waitFor(t, 30*time.Second, "the standby to follow", func() bool { l := sb.Lag(); return l >= 0 && l < 5 })
	time.Sleep(500 * time.Millisecond)

	// Release: w1 stops and makes its final commit (the writer's last one).
	taskMu.Lock()
	writing = false
	final := task.EndOffset()
	taskMu.Unlock()
	w1.Hold(p, "", 0)
	waitFor(t, 30*time.Second, "the standby to reach the released end", func() bool { return sb.Applied() >= final })
	stopStandby()
	if err := <-standbyDone; err != nil {
		t.Fatalf("standby: %v", err)
	}
	// Promote: the assignment names w2 (new epoch); w2 starts its task from the changelog.
	epochs = c.Assign(ctx, map[int]cluster.Assignment{p: {Active: "w2", Standbys: []string{"w1"}}})
	next := c.OpenTask(ctx, w2, p, epochs[p])
	w2.Hold(p, cluster.RoleActive, epochs[p])
	taskMu.Lock()
	current, writing = next, true
	taskMu.Unlock()

	time.Sleep(2 * time.Second)
	stopReaders()
	<-readersDone
	stopWriter()
	if err := <-writerDone; err != nil {
		t.Fatalf("writer: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d queries, %d failed, served by %v, final count %d", queries.Load(), failures.Load(), servedBy, count.Load())
	if failures.Load() > 0 {
		t.Errorf("%d of %d queries failed; first: %v", failures.Load(), queries.Load(), firstErr)
	}
	if backwards := wentBackwards(answers); len(backwards) > 0 {
		t.Errorf("values went backwards %d times: %v", len(backwards), backwards[:min(5, len(backwards))])
	}
	if servedBy["w1"] == 0 || servedBy["w2"] == 0 {
		t.Errorf("served by %v; want both the old and the new owner", servedBy)
	}
	if queries.Load() < 150 {
		t.Errorf("only %d queries ran", queries.Load())
	}
	// The final value through web equals the table's.
	resp, err := q.GetTableValue(ctx, connect.NewRequest(&weirv1.GetTableValueRequest{App: c.App.Name, Table: "counts", Key: strKey(key)}))
	if err != nil || int64(resp.Msg.Value.GetNumberValue()) != count.Load() || resp.Msg.Read.Worker != "w2" {
		t.Errorf("final read = %v, %v; want %d from w2", resp, err, count.Load())
	}
}

// answer is one query's result and when it was asked and answered.
type answer struct {
	start, end time.Time
	value      float64
	worker     string
}

// wentBackwards lists the answers lower than an answer that had already arrived when they were
// asked (concurrent queries may legitimately finish out of order).
func wentBackwards(as []answer) []string {
	var out []string
	for _, a := range as {
		for _, b := range as {
			if b.end.Before(a.start) && b.value > a.value {
				out = append(out, fmt.Sprintf("%v from %s asked after %v from %s had arrived", a.value, a.worker, b.value, b.worker))
				break
			}
		}
	}
	return out
}
