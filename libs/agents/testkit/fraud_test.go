package testkit_test

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

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

// TestFraudApp runs the whole of examples/fraud on its fixture: payments through the
// lookup against the global table, the hopping-window spend per account, the Go handler
// with its retries and dead letters, and the report timer.
func TestFraudApp(t *testing.T) {
	const dir = "../../../examples/fraud"
	a, diags := app.ParseFiles([]string{dir + "/app.hcl"}, app.Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	h := agents.Handlers{}
	if err := h.Register("score_payment", scorePayment); err != nil {
		t.Fatal(err)
	}
	inputs := readFixture(t, dir+"/testdata/payments.in.jsonl", testkit.ReadInputs)
	want := readFixture(t, dir+"/testdata/payments.out.jsonl", testkit.ReadOutputs)
	d, err := testkit.New(a, testkit.WithHandlers(h))
	if err != nil {
		t.Fatal(err)
	}
	for i, in := range inputs {
		if err := d.Send(t.Context(), in); err != nil {
			t.Fatalf("input %d: %v", i+1, err)
		}
	}
	got, err := d.Outputs()
	if err != nil {
		t.Fatal(err)
	}
	testkit.Expect(t, want, got)
	if w := fmt.Sprint(d.Retries()); w != "[200ms 400ms 800ms]" {
		t.Errorf("retry waits = %s; want the policy's 200ms doubling, three times", w)
	}

	// spend_per_day: one-day windows every hour; acc-1's two payments share the 24
	// windows that contain both.
	day := func(s string) time.Time {
		t, _ := time.Parse(time.RFC3339, s)
		return t
	}
	wins, err := d.WindowRange("spend_per_day", "acc-1", day("2025-12-31T00:00:00Z"), day("2026-01-02T00:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	if len(wins) != 24 {
		t.Fatalf("acc-1 has %d windows; want 24", len(wins))
	}
	for _, w := range wins {
		if w.Value != 1200.0 || w.End.Sub(w.Start) != 24*time.Hour {
			t.Errorf("window %s–%s = %v; want 1200 over a day", w.Start, w.End, w.Value)
		}
	}
	if first := wins[0].Start.Format(time.RFC3339); first != "2025-12-31T11:00:00Z" {
		t.Errorf("first window starts %s; want 2025-12-31T11:00:00Z", first)
	}
	if n := d.LateRecords(); n != 0 {
		t.Errorf("late records = %d", n)
	}
}

func readFixture[T any](t *testing.T, path string, read func(io.Reader) ([]T, error)) []T {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out, err := read(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return out
}
