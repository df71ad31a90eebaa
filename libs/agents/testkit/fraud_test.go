package testkit_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/weirhq/weir/libs/agents"
	"github.com/weirhq/weir/libs/agents/testkit"
	"github.com/weirhq/weir/libs/config/app"
)

// scorePayment is a sample score_payment handler for examples/fraud: it scores a
// suspicious payment against its account's limit and reports it; it fails on payments of
// the account "broken".
func scorePayment(c *agents.Context) error {
	var p struct {
		ID      string  `json:"id"`
		Account string  `json:"account"`
		Amount  float64 `json:"amount"`
	}
	if err := json.Unmarshal(c.Value(), &p); err != nil {
		return fmt.Errorf("decoding the payment: %w", err)
	}
	if p.Account == "broken" {
		return fmt.Errorf("no score for account %q", p.Account)
	}
	limit := 100.0
	if b, ok, err := c.Get("account_limits", []byte(p.Account)); err != nil {
		return err
	} else if ok {
		var l struct {
			MaxAmount float64 `json:"max_amount"`
		}
		if err := json.Unmarshal(b, &l); err != nil {
			return err
		}
		limit = l.MaxAmount
	}
	report, err := json.Marshal(map[string]any{"id": p.ID, "account": p.Account, "score": p.Amount / limit})
	if err != nil {
		return err
	}
	c.Logger.Info("scored", "payment", p.ID)
	return c.Send("fraud_reports", c.Key(), report)
}

func TestFraudHandler(t *testing.T) {
	a, diags := app.ParseFiles([]string{"../../../examples/fraud/app.hcl"}, app.Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	h := agents.Handlers{}
	if err := h.Register("score_payment", scorePayment); err != nil {
		t.Fatal(err)
	}
	inputs := []testkit.Input{
		{Topic: "account_limits", Key: "acc-1", Value: map[string]any{"max_amount": 500}},
		{Topic: "suspicious_payments", Key: "acc-1", Value: map[string]any{"id": "p1", "account": "acc-1", "amount": 1000}},
		{Topic: "suspicious_payments", Key: "acc-2", Value: map[string]any{"id": "p2", "account": "acc-2", "amount": 150}},
		{Topic: "suspicious_payments", Key: "broken", Value: map[string]any{"id": "p3", "account": "broken", "amount": 1}},
	}
	d, err := testkit.New(a, testkit.WithHandlers(h), testkit.WithPartitions(1))
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range inputs {
		if err := d.Send(t.Context(), in); err != nil {
			t.Fatal(err)
		}
	}
	got, err := d.Outputs()
	if err != nil {
		t.Fatal(err)
	}
	want := []testkit.Output{
		{Topic: "fraud_dead_letters", Key: "broken", Value: `{"account":"broken","amount":1,"currency":"EUR","id":"p3"}`},
		{Topic: "fraud_reports", Key: "acc-1", Value: map[string]any{"id": "p1", "account": "acc-1", "score": 2.0}},
		{Topic: "fraud_reports", Key: "acc-2", Value: map[string]any{"id": "p2", "account": "acc-2", "score": 1.5}},
	}
	testkit.Expect(t, want, got)
	if w := fmt.Sprint(d.Retries()); w != "[200ms 400ms 800ms]" {
		t.Errorf("retry waits = %s; want the policy's 200ms doubling, three times", w)
	}
	// The same through Run.
	testkit.Expect(t, want, testkit.Run(t, a, inputs, testkit.WithHandlers(h), testkit.WithPartitions(1)))
}

// TestPaymentsNeedWindows documents that examples/fraud's track_spend agent, which
// aggregates into a windowed table, cannot run yet: payments stop the task.
func TestPaymentsNeedWindows(t *testing.T) {
	a, diags := app.ParseFiles([]string{"../../../examples/fraud/app.hcl"}, app.Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	h := agents.Handlers{}
	_ = h.Register("score_payment", scorePayment)
	d, err := testkit.New(a, testkit.WithHandlers(h))
	if err != nil {
		t.Fatal(err)
	}
	err = d.Send(t.Context(), testkit.Input{Topic: "payments", Key: "acc-1", Value: map[string]any{"id": "p", "account": "acc-1", "amount": 10}})
	if err == nil {
		t.Fatal("a payment went through track_spend's windowed aggregate")
	}
}
