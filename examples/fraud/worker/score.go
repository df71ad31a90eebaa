package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/weirhq/weir/libs/agents"
)

// defaultLimit is the limit a payment is scored against when its account has none in
// account_limits; it matches the app's default min_amount, below which the first agent
// never flags a payment.
const defaultLimit = 100.0

// blockScore is the score (amount / limit) from which a payment is blocked rather than
// sent for review.
const blockScore = 2.0

// payment is the part of the app's Payment model the handler reads.
type payment struct {
	ID       string  `json:"id"`
	Account  string  `json:"account"`
	Amount   float64 `json:"amount"`
	Currency string  `json:"currency"`
}

// report is what scorePayment sends to fraud_reports.
type report struct {
	ID       string  `json:"id"`
	Account  string  `json:"account"`
	Amount   float64 `json:"amount"`
	Limit    float64 `json:"limit"`
	Score    float64 `json:"score"`
	Decision string  `json:"decision"`
}

// errInvalidPayment is wrapped by scorePayment's error for a payment it cannot score.
var errInvalidPayment = errors.New("invalid payment")

// scorePayment is examples/fraud's score_payment handler: the app's score agent runs it on
// each payment the flag_large_payments agent found suspicious. It looks the account's limit
// up in the global table account_limits (defaultLimit when the account has none), scores
// the payment as amount / limit and sends a report keyed by the account to fraud_reports,
// with the decision "block" when the score reaches blockScore and "review" otherwise.
//
// A payment it cannot score (undecodable, without an id or account, or with a non-positive
// amount) is an error: the agent's on_error policy retries it three times and then sends
// it to fraud_dead_letters.
func scorePayment(c *agents.Context) error {
	var p payment
	if err := json.Unmarshal(c.Value(), &p); err != nil {
		return fmt.Errorf("%w: decoding: %v", errInvalidPayment, err)
	}
	switch {
	case p.ID == "":
		return fmt.Errorf("%w: no id", errInvalidPayment)
	case p.Account == "":
		return fmt.Errorf("%w %s: no account", errInvalidPayment, p.ID)
	case !(p.Amount > 0) || math.IsInf(p.Amount, 0):
		return fmt.Errorf("%w %s: amount %v is not positive", errInvalidPayment, p.ID, p.Amount)
	}
	limit, err := accountLimit(c, p.Account)
	if err != nil {
		return err
	}
	r := report{ID: p.ID, Account: p.Account, Amount: p.Amount, Limit: limit, Score: p.Amount / limit, Decision: "review"}
	if r.Score >= blockScore {
		r.Decision = "block"
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	c.Logger.Info("payment scored", "payment", p.ID, "account", p.Account, "score", r.Score, "decision", r.Decision)
	return c.Send("fraud_reports", c.Key(), b)
}

// accountLimit returns the account's max_amount from account_limits, or defaultLimit when
// the table has no positive limit for it.
func accountLimit(c *agents.Context, account string) (float64, error) {
	b, ok, err := c.Get("account_limits", []byte(account))
	if err != nil {
		return 0, fmt.Errorf("looking up the limit of %s: %w", account, err)
	}
	if !ok {
		return defaultLimit, nil
	}
	var l struct {
		MaxAmount float64 `json:"max_amount"`
	}
	if err := json.Unmarshal(b, &l); err != nil {
		return 0, fmt.Errorf("decoding the limit of %s: %w", account, err)
	}
	if !(l.MaxAmount > 0) {
		return defaultLimit, nil
	}
	return l.MaxAmount, nil
}
