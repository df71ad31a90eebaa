//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	weirv1 "github.com/weirhq/weir/gen/weir/v1"
	"github.com/weirhq/weir/integration/harness"
	"github.com/weirhq/weir/libs/agents"
	"github.com/weirhq/weir/libs/topics"
)

// fraudReport is a report of examples/fraud/worker's score_payment on fraud_reports.
type fraudReport struct {
	ID       string  `json:"id"`
	Account  string  `json:"account"`
	Amount   float64 `json:"amount"`
	Limit    float64 `json:"limit"`
	Score    float64 `json:"score"`
	Decision string  `json:"decision"`
}

// buildFraudWorker builds examples/fraud/worker (the worker binary with score_payment
// compiled in) into a temporary directory.
func buildFraudWorker(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "fraud-worker")
	cmd := exec.Command("go", "build", "-o", bin, "./examples/fraud/worker")
	cmd.Dir = harness.Root()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building examples/fraud/worker: %v\n%s", err, out)
	}
	return bin
}

// TestFraudWorker runs examples/fraud on a controller and the example's own worker binary
// (built from examples/fraud/worker, run as a process) over the real broker: the payments
// the first agent flags are scored by the Go handler score_payment, whose reports reach
// fraud_reports with the expected decisions; a payment the handler fails on is retried and
// then dead-lettered; payments that are not suspicious are not scored. The account given a
// limit in the global table account_limits (fed from its topic) is scored against that
// limit: both lookups (the agent's filter and the handler's) find it; the other accounts
// are scored against the default limit of 100.
func TestFraudWorker(t *testing.T) {
	ctx := harness.Context(t, 3*time.Minute)
	bin := buildFraudWorker(t)
	env := newCtlEnv(t)
	ctl := env.start(t, "c1")
	ex := loadExample(t, "fraud")
	if _, err := ctlClient(t, ctl.Addr).Apply(ctx, connect.NewRequest(&weirv1.ApplyRequest{Source: ex.Source, Author: "test"})); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(t.TempDir(), "fw1.log")
	w := startWorkerProc(t, bin, env, "fw1", t.TempDir(), logPath)
	t.Logf("fraud worker ready on %s (log %s)", w.Addr, logPath)
	as := env.waitAssigned(t, ctx, ex.App, 1)
	t.Logf("%d tasks assigned to fw1", len(as.Tasks))

	pay := func(id, account string, amount float64, currency string) topics.Record {
		v := map[string]any{"id": id, "account": account, "amount": amount, "at": "2026-01-01T10:00:00Z"}
		if currency != "" {
			v["currency"] = currency
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return topics.Record{Topic: ex.Prefix + "payments", Key: []byte(account), Value: b}
	}
	p := newProducer(t)
	send(t, ctx, p, topics.Record{Topic: ex.Prefix + "account_limits", Key: []byte("acc-lim"), Value: []byte(`{"max_amount": 400}`)})
	// The global table is eventually consistent: wait until the worker's copy has the limit.
	waitGlobalLimits(t, ctx, w, ex.App, map[string]float64{"acc-lim": 400})
	send(t, ctx, p,
		pay("p1", "acc-1", 150, ""),    // no limit: 150/100, review
		pay("p2", "acc-1", 250, ""),    // no limit: 250/100, block
		pay("p3", "acc-2", 199, "EUR"), // no limit: 199/100, review
		pay("p4", "acc-2", 50, ""),     // below min_amount: not suspicious
		pay("p5", "acc-2", 900, "USD"), // not in EUR: not suspicious
		pay("p6", "acc-lim", 1000, ""), // above its limit: 1000/400, block
		pay("p8", "acc-lim", 350, ""),  // below its limit: not suspicious
		pay("", "acc-bad", 300, ""),    // no id: the handler fails, retried, dead-lettered
		pay("p7", "acc-3", 100, ""),    // at min_amount, no limit: 100/100, review
	)

	want := map[string]fraudReport{
		"p1": {ID: "p1", Account: "acc-1", Amount: 150, Limit: 100, Score: 1.5, Decision: "review"},
		"p2": {ID: "p2", Account: "acc-1", Amount: 250, Limit: 100, Score: 2.5, Decision: "block"},
		"p3": {ID: "p3", Account: "acc-2", Amount: 199, Limit: 100, Score: 1.99, Decision: "review"},
		"p7": {ID: "p7", Account: "acc-3", Amount: 100, Limit: 100, Score: 1, Decision: "review"},
		"p6": {ID: "p6", Account: "acc-lim", Amount: 1000, Limit: 400, Score: 2.5, Decision: "block"},
	}
	got := map[string]fraudReport{}
	// Read fraud_reports until every expected report is in, then a little longer
	// to catch reports of payments that should not have been scored (or scored twice).
	rctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	var settle <-chan time.Time
	readFraudReports(t, rctx, ex.Prefix+"fraud_reports", 12, func(r topics.Record, rep fraudReport) bool {
		if rep.ID == "" && rep.Decision == "" {
			return false // not a handler report (the report timer's, once timers run)
		}
		if _, dup := got[rep.ID]; dup {
			t.Errorf("payment %q reported twice", rep.ID)
		}
		if k := recordKey(r.Key); k != rep.Account {
			t.Errorf("report of %s keyed %q, want the account %q", rep.ID, k, rep.Account)
		}
		got[rep.ID] = rep
		if settle == nil && len(got) >= len(want) {
			settle = time.After(3 * time.Second)
		}
		return false
	}, func() bool {
		if settle == nil {
			return false
		}
		select {
		case <-settle:
			return true
		default:
			return false
		}
	})
	for id, w := range want {
		g, ok := got[id]
		if !ok {
			t.Errorf("no report for payment %s (want %+v)", id, w)
			continue
		}
		if g != w {
			t.Errorf("report for %s = %+v, want %+v", id, g, w)
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			t.Errorf("unexpected report for payment %q: %+v", id, got[id])
		}
	}

	// The failing payment reaches fraud_dead_letters after the retries, with the error.
	readUntil(t, ctx, ex.Prefix+"fraud_dead_letters", 12, func(r topics.Record) bool {
		if recordKey(r.Key) != "acc-bad" {
			return false
		}
		var v map[string]any
		if err := json.Unmarshal(r.Value, &v); err != nil {
			t.Errorf("dead letter is not the payment: %q", r.Value)
		} else if v["account"] != "acc-bad" || v["id"] != "" || v["amount"] != 300.0 {
			t.Errorf("dead letter = %s, want the payment of acc-bad", r.Value)
		}
		hs := map[string]string{}
		for _, h := range r.Headers {
			hs[h.Key] = string(h.Value)
		}
		if !strings.Contains(hs[agents.HeaderError], "invalid payment") {
			t.Errorf("dead letter %s = %q, want the handler's error", agents.HeaderError, hs[agents.HeaderError])
		}
		if hs[agents.HeaderAgent] != "score" {
			t.Errorf("dead letter %s = %q, want score", agents.HeaderAgent, hs[agents.HeaderAgent])
		}
		if hs[agents.HeaderSourceTopic] != ex.Prefix+"suspicious_payments" {
			t.Errorf("dead letter %s = %q, want %s", agents.HeaderSourceTopic, hs[agents.HeaderSourceTopic], ex.Prefix+"suspicious_payments")
		}
		return true
	})
	if !w.Alive() {
		t.Errorf("the fraud worker exited; log %s", logPath)
	}
}

// readFraudReports consumes every partition of topic from the start, handing each record
// and its decoded report to fn until fn or done returns true (done is polled between
// batches, so reading can stop when no more records come).
func readFraudReports(t *testing.T, ctx context.Context, topic string, partitions int, fn func(topics.Record, fraudReport) bool, done func() bool) {
	t.Helper()
	c, err := topics.NewConsumer(topics.ConsumerConfig{ClientConfig: harness.Client(t)})
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	finished := make(chan error, 1)
	go func() { finished <- c.Run(cctx) }()
	defer func() { cancel(); <-finished }()
	for p := range partitions {
		c.Assign(topics.TopicPartition{Topic: topic, Partition: int32(p)}, topics.FirstOffset)
	}
	for !done() {
		pctx, pcancel := context.WithTimeout(ctx, 500*time.Millisecond)
		b, err := c.Poll(pctx)
		pcancel()
		if err != nil {
			if ctx.Err() != nil {
				t.Fatalf("reading %s: %v", topic, ctx.Err())
			}
			continue // nothing within the poll timeout
		}
		for _, r := range b.Records {
			var rep fraudReport
			if err := json.Unmarshal(r.Value, &rep); err != nil {
				t.Fatalf("report %q on %s is not JSON: %v", r.Value, topic, err)
			}
			if fn(r, rep) {
				return
			}
		}
	}
}
