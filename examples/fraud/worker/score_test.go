package main

import (
	"fmt"
	"testing"

	"github.com/weirhq/weir/libs/agents"
	"github.com/weirhq/weir/libs/agents/testkit"
	"github.com/weirhq/weir/libs/config/app"
)

// TestScorePayment runs examples/fraud with scorePayment in memory: payments flagged by the
// first agent are scored against their account's limit (or the default one) and reported
// with a decision; invalid ones are retried, then dead-lettered.
func TestScorePayment(t *testing.T) {
	a, diags := app.ParseFiles([]string{"../app.hcl"}, app.Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	h := agents.Handlers{}
	if err := h.Register("score_payment", scorePayment); err != nil {
		t.Fatal(err)
	}
	pay := func(id, account string, amount float64) testkit.Input {
		return testkit.Input{Topic: "payments", Key: account,
			Value: map[string]any{"id": id, "account": account, "amount": amount, "at": "2026-01-01T10:00:00Z"}}
	}
	inputs := []testkit.Input{
		{Topic: "account_limits", Key: "acc-1", Value: map[string]any{"max_amount": 500}},
		pay("p1", "acc-1", 1000), // twice acc-1's limit: block
		pay("p2", "acc-1", 700),  // above acc-1's limit: review
		pay("p3", "acc-1", 200),  // below acc-1's limit: not suspicious
		pay("p4", "acc-2", 150),  // no limit: against the default 100, review
		pay("p5", "acc-2", 250),  // no limit: block
		pay("p6", "acc-2", 50),   // below min_amount: not suspicious
		pay("", "acc-3", 300),    // no id: retried, then dead-lettered
	}
	d, err := testkit.New(a, testkit.WithHandlers(h), testkit.WithPartitions(1))
	if err != nil {
		t.Fatal(err)
	}
	for i, in := range inputs {
		if err := d.Send(t.Context(), in); err != nil {
			t.Fatalf("input %d: %v", i+1, err)
		}
	}
	out, err := d.Outputs()
	if err != nil {
		t.Fatal(err)
	}
	var got []testkit.Output
	for _, o := range out {
		if o.Topic == "fraud_reports" || o.Topic == "fraud_dead_letters" {
			got = append(got, o)
		}
	}
	report := func(id, account string, amount, limit, score float64, decision string) testkit.Output {
		return testkit.Output{Topic: "fraud_reports", Key: account, Timestamp: "2026-01-01T10:00:00Z",
			Value: map[string]any{"id": id, "account": account, "amount": amount, "limit": limit, "score": score, "decision": decision}}
	}
	want := []testkit.Output{
		{Topic: "fraud_dead_letters", Key: "acc-3", Timestamp: "2026-01-01T10:00:00Z",
			Value: `{"account":"acc-3","amount":300,"at":"2026-01-01T10:00:00Z","currency":"EUR","id":""}`},
		report("p1", "acc-1", 1000, 500, 2, "block"),
		report("p2", "acc-1", 700, 500, 1.4, "review"),
		report("p4", "acc-2", 150, 100, 1.5, "review"),
		report("p5", "acc-2", 250, 100, 2.5, "block"),
	}
	testkit.Expect(t, want, got)
	if w := fmt.Sprint(d.Retries()); w != "[200ms 400ms 800ms]" {
		t.Errorf("retry waits = %s; want three retries of the invalid payment", w)
	}
}

// TestScorePaymentErrors checks the payments scorePayment refuses.
func TestScorePaymentErrors(t *testing.T) {
	for _, v := range []string{`{`, `{"account":"a","amount":1}`, `{"id":"p","amount":1}`, `{"id":"p","account":"a","amount":0}`, `{"id":"p","account":"a","amount":-5}`} {
		c := agents.NewContext(t.Context(), nil, "score", "fraud/score/0", agents.Record{Value: []byte(v)}, nil, 0)
		if err := scorePayment(c); err == nil {
			t.Errorf("%s: no error", v)
		}
	}
}
