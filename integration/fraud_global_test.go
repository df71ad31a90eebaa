//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/structpb"

	weirv1 "github.com/weirhq/weir/gen/weir/v1"
	"github.com/weirhq/weir/gen/weir/v1/weirv1connect"
	"github.com/weirhq/weir/integration/harness"
	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/libs/service/servicetest"
	"github.com/weirhq/weir/libs/topics"
	webcli "github.com/weirhq/weir/services/web/cli"
)

// globalLimit asks a worker's TableService for an account's limit in the global table
// account_limits: the value, or ok false when the worker's copy has none.
func globalLimit(t *testing.T, ctx context.Context, addr, app, account string) (limit float64, ok bool, err error) {
	t.Helper()
	c := weirv1connect.NewTableServiceClient(servicetest.HTTP1Client(t), "http://"+addr, connect.WithProtoJSON())
	res, err := c.Get(ctx, connect.NewRequest(&weirv1.TableGetRequest{App: app, Table: "account_limits",
		Key: &weirv1.TableKey{Value: structpb.NewStringValue(account)}}))
	if err != nil || !res.Msg.Found {
		return 0, false, err
	}
	return res.Msg.Value.GetStructValue().GetFields()["max_amount"].GetNumberValue(), true, nil
}

// waitGlobalLimits waits until the worker's copy of account_limits holds want (a negative
// limit: no entry), as read through its TableService.
func waitGlobalLimits(t *testing.T, ctx context.Context, w *workerProc, app string, want map[string]float64) {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		var wrong []string
		for acct, lim := range want {
			got, ok, err := globalLimit(t, wctx, w.Addr, app, acct)
			switch {
			case err != nil:
				wrong = append(wrong, fmt.Sprintf("%s: %v", acct, err))
			case lim < 0 && ok, lim >= 0 && (!ok || got != lim):
				wrong = append(wrong, fmt.Sprintf("%s: %v (found %v), want %v", acct, got, ok, lim))
			}
		}
		if len(wrong) == 0 {
			return
		}
		select {
		case <-wctx.Done():
			t.Fatalf("worker %s: global table account_limits does not hold the limits: %v; log %s", w.ID, wrong, w.LogPath)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// TestFraudGlobalTableEveryWorker runs examples/fraud on a controller and two worker
// processes. Limits written to ONE partition of account_limits' source topic reach the
// global table copy of every worker: lookups in both agents (the flag filter and the
// score_payment handler) find them for payments processed on either worker, and the web
// service's table query answers from a worker's copy. The copy
// stays current across a kill -9 and restart with the same data dir (limits changed and
// deleted while the worker was down, resumed from its local offsets) and is rebuilt by a
// worker starting with an empty data dir.
func TestFraudGlobalTableEveryWorker(t *testing.T) {
	ctx := harness.Context(t, 6*time.Minute)
	bin := buildFraudWorker(t)
	env := newCtlEnv(t)
	ctl := env.start(t, "c1")
	ex := loadExample(t, "fraud")
	if _, err := ctlClient(t, ctl.Addr).Apply(ctx, connect.NewRequest(&weirv1.ApplyRequest{Source: ex.Source, Author: "test"})); err != nil {
		t.Fatal(err)
	}
	logs := t.TempDir()
	if d := os.Getenv("WEIR_TEST_LOGS"); d != "" {
		logs = d // keep the workers' logs
	}
	dir2 := t.TempDir()
	w1 := startWorkerProc(t, bin, env, "gw1", t.TempDir(), filepath.Join(logs, "gw1.log"))
	w2 := startWorkerProc(t, bin, env, "gw2", dir2, filepath.Join(logs, "gw2.log"))
	as := env.waitAssigned(t, ctx, ex.App, 2)

	// One account per payments partition (the payments topic has 12), each with a limit;
	// every limit is written to partition 0 of account_limits (3 partitions).
	const partitions = 12
	accountOf := map[int32]string{}
	for i := 0; len(accountOf) < partitions; i++ {
		a := fmt.Sprintf("acc-%d", i)
		if p := topics.KeyPartition([]byte(a), partitions); accountOf[p] == "" {
			accountOf[p] = a
		}
	}
	limits := map[string]float64{}
	var recs []topics.Record
	setLimit := func(acct string, lim float64) {
		r := topics.Record{Topic: ex.Prefix + "account_limits", Partition: 0, PinPartition: true, Key: []byte(acct)}
		if lim >= 0 {
			r.Value = []byte(fmt.Sprintf(`{"max_amount": %v}`, lim))
		}
		recs = append(recs, r)
		limits[acct] = lim
	}
	for p := range int32(partitions) {
		setLimit(accountOf[p], float64(200+10*p))
	}
	p := newProducer(t)
	send(t, ctx, p, recs...)
	for _, w := range []*workerProc{w1, w2} {
		waitGlobalLimits(t, ctx, w, ex.App, limits)
	}

	got := map[string]fraudReport{}
	phase := func(name string, as cluster.Assignments, workers ...*workerProc) {
		t.Helper()
		want := map[string]fraudReport{}
		var pays []topics.Record
		used := map[string]bool{}
		for _, w := range workers {
			acct := ownedAccount(t, as, accountOf, limits, used, w.ID)
			used[acct] = true
			lim := limits[acct]
			if lim < 0 {
				t.Fatalf("account %s has no limit", acct)
			}
			// Above the limit: flagged and scored against the limit. Below it (but above
			// min_amount): a lookup that missed would flag and score it against 100.
			lo := fraudPayment(t, ex, name+"-"+w.ID+"-lo", acct, lim-50)
			hi := fraudPayment(t, ex, name+"-"+w.ID+"-hi", acct, lim+100)
			pays = append(pays, lo, hi)
			id := name + "-" + w.ID + "-hi"
			want[id] = fraudReport{ID: id, Account: acct, Amount: lim + 100, Limit: lim, Score: (lim + 100) / lim, Decision: "review"}
			part := int(topics.KeyPartition([]byte(acct), partitions))
			t.Logf("%s: payments of %s (limit %v) on partition %d: flag_large_payments on %s, score on %s", name, acct, lim, part,
				as.Tasks[cluster.TaskKey{App: ex.App, Group: "flag_large_payments", Partition: part}].Active,
				as.Tasks[cluster.TaskKey{App: ex.App, Group: "score", Partition: part}].Active)
		}
		send(t, ctx, p, pays...)
		collectFraudReports(t, ctx, ex, got, want)
		for id, w := range want {
			if g := got[id]; g != w {
				t.Errorf("%s: report %+v, want %+v (the limit from account_limits)", name, g, w)
			}
		}
		for id, r := range got {
			if len(id) > 3 && id[len(id)-3:] == "-lo" {
				t.Errorf("%s: payment %s below its account's limit was scored: %+v (a lookup missed)", name, id, r)
			}
		}
	}
	phase("one", as, w1, w2)

	// The web service answers queries of the global table from any worker's copy.
	web := servicetest.Start(t, webcli.RunContext, "serve", "--listen", "127.0.0.1:0", "--etcd-prefix", env.prefix,
		"--etcd-endpoints", strings.Join(env.endpoints, ","))
	q := weirv1connect.NewQueryServiceClient(servicetest.HTTP1Client(t), "http://"+web.Addr, connect.WithProtoJSON())
	for _, acct := range []string{accountOf[0], accountOf[7]} {
		res, err := q.GetTableValue(ctx, connect.NewRequest(&weirv1.GetTableValueRequest{App: ex.App, Table: "account_limits", Key: strKey(acct)}))
		if err != nil {
			t.Fatalf("web query of account_limits[%s]: %v", acct, err)
		}
		m := res.Msg
		if got := m.Value.GetStructValue().GetFields()["max_amount"].GetNumberValue(); !m.Found || got != limits[acct] || m.Read.Role != "global" {
			t.Errorf("web query of account_limits[%s] = %v, want max_amount %v read from a global copy", acct, m, limits[acct])
		}
	}

	// gw2 is killed; limits change (one is deleted) while it is down; it restarts on the
	// same data dir and resumes from its local offsets.
	w2.kill()
	recs = nil
	for p := range int32(partitions) {
		setLimit(accountOf[p], float64(300+10*p))
	}
	deleted := accountOf[partitions-1]
	setLimit(deleted, -1)
	send(t, ctx, p, recs...)
	w2 = startWorkerProc(t, bin, env, "gw2", dir2, filepath.Join(logs, "gw2-restarted.log"))
	if from := followedFrom(t, w2.LogPath, 0); from != partitions {
		t.Errorf("restarted gw2 followed account_limits/0 from offset %d, want %d (its local offset)", from, partitions)
	}
	as = env.waitAssigned(t, ctx, ex.App, 2)
	for _, w := range []*workerProc{w1, w2} {
		waitGlobalLimits(t, ctx, w, ex.App, limits)
	}
	phase("two", as, w1, w2)

	// gw1 is replaced by gw3 with an empty data dir: it rebuilds the table from the topic.
	w1.kill()
	w3 := startWorkerProc(t, bin, env, "gw3", t.TempDir(), filepath.Join(logs, "gw3.log"))
	if from := followedFrom(t, w3.LogPath, 0); from != 0 {
		t.Errorf("gw3 with an empty dir followed account_limits/0 from offset %d, want 0", from)
	}
	as = env.waitAssigned(t, ctx, ex.App, 2)
	waitGlobalLimits(t, ctx, w3, ex.App, limits)
	phase("three", as, w2, w3)
	for _, w := range []*workerProc{w2, w3} {
		if !w.Alive() {
			t.Errorf("worker %s exited; log %s", w.ID, w.LogPath)
		}
	}
}

// ownedAccount returns an account with a limit, not used yet, whose payments are looked up on worker: the
// partition's flag_large_payments active (the filter's lookup) or, failing that, its score
// active (score_payment's lookup) is there.
func ownedAccount(t *testing.T, as cluster.Assignments, accountOf map[int32]string, limits map[string]float64, used map[string]bool, worker string) string {
	t.Helper()
	for _, group := range []string{"flag_large_payments", "score"} {
		for p := range int32(len(accountOf)) {
			a := as.Tasks[cluster.TaskKey{App: appOf(as), Group: group, Partition: int(p)}]
			if acct := accountOf[p]; a.Active == worker && limits[acct] >= 0 && !used[acct] {
				return accountOf[p]
			}
		}
	}
	t.Fatalf("worker %s holds no active of the app: %+v", worker, as.Tasks)
	return ""
}

func appOf(as cluster.Assignments) string {
	for k := range as.Tasks {
		return k.App
	}
	return ""
}

func fraudPayment(t *testing.T, ex *example, id, account string, amount float64) topics.Record {
	t.Helper()
	b, err := json.Marshal(map[string]any{"id": id, "account": account, "amount": amount, "at": "2026-01-01T10:00:00Z"})
	if err != nil {
		t.Fatal(err)
	}
	return topics.Record{Topic: ex.Prefix + "payments", Key: []byte(account), Value: b}
}

// collectFraudReports reads fraud_reports into got until every report in want is there, and
// a moment longer.
func collectFraudReports(t *testing.T, ctx context.Context, ex *example, got, want map[string]fraudReport) {
	t.Helper()
	rctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	var settle <-chan time.Time
	readFraudReports(t, rctx, ex.Prefix+"fraud_reports", 12, func(_ topics.Record, rep fraudReport) bool {
		if rep.ID != "" {
			got[rep.ID] = rep
		}
		return false
	}, func() bool {
		if settle == nil {
			for id := range want {
				if _, ok := got[id]; !ok {
					return false
				}
			}
			settle = time.After(2 * time.Second)
		}
		select {
		case <-settle:
			return true
		default:
			return false
		}
	})
}

var followedRE = regexp.MustCompile(`global table following a source partition.*partition=(\d+) from=(\d+)`)

// followedFrom returns the offset a worker's follower of account_limits started partition
// part at, from its log (-1 when it did not log it).
func followedFrom(t *testing.T, logPath string, part int) int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(logPath)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range followedRE.FindAllStringSubmatch(string(b), -1) {
			if m[1] == fmt.Sprint(part) {
				var from int
				fmt.Sscan(m[2], &from)
				return from
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	return -1
}
