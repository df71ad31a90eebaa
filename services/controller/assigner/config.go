package assigner

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/weirhq/weir/libs/cluster"
)

// Config is the controller's assignment configuration.
type Config struct {
	ID     string // controller id, the election value
	Layout cluster.Layout

	// Grace is how long after a worker's lease ended its tasks stay put (7 s): longer than the
	// produce timeout, so a write the lost worker had in flight has failed or landed.
	Grace time.Duration
	// ProduceTimeout is the workers' produce timeout (5 s); Grace must exceed it.
	ProduceTimeout time.Duration
	// HandoffTimeout aborts a handoff whose old active has not released (60 s).
	HandoffTimeout time.Duration
	// AcceptableLag is the changelog lag (records) under which a warm-up target is caught up
	// enough for the old active to release (10 000).
	AcceptableLag int64
	// ElectionTTL is the TTL of the controller's election session (10 s).
	ElectionTTL time.Duration
	// EtcdTimeout bounds single etcd requests (5 s).
	EtcdTimeout time.Duration
	// Compatible reports whether a worker version may take tasks; incompatible workers are
	// flagged and treated as draining (their tasks are handed off). Nil accepts every version.
	Compatible func(version string) bool

	Logger *slog.Logger
}

// Defaults returns the documented defaults; the caller sets ID.
func Defaults() Config {
	return Config{
		Grace:          7 * time.Second,
		ProduceTimeout: 5 * time.Second,
		HandoffTimeout: 60 * time.Second,
		AcceptableLag:  10_000,
		ElectionTTL:    10 * time.Second,
		EtcdTimeout:    5 * time.Second,
	}
}

// Validate reports every problem with the configuration at once.
func (c Config) Validate() error {
	var errs []error
	if c.ID == "" {
		errs = append(errs, errors.New("controller id is empty"))
	}
	if c.ProduceTimeout <= 0 {
		errs = append(errs, fmt.Errorf("produce timeout %v must be positive", c.ProduceTimeout))
	}
	if c.Grace <= c.ProduceTimeout {
		errs = append(errs, fmt.Errorf("grace %v must exceed the produce timeout %v", c.Grace, c.ProduceTimeout))
	}
	if c.HandoffTimeout <= 0 {
		errs = append(errs, fmt.Errorf("handoff timeout %v must be positive", c.HandoffTimeout))
	}
	if c.AcceptableLag < 0 {
		errs = append(errs, fmt.Errorf("acceptable lag %d is negative", c.AcceptableLag))
	}
	if c.ElectionTTL < 2*time.Second {
		errs = append(errs, fmt.Errorf("election TTL %v is below 2s", c.ElectionTTL))
	}
	if c.EtcdTimeout <= 0 {
		errs = append(errs, fmt.Errorf("etcd timeout %v must be positive", c.EtcdTimeout))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("controller assignment config: %w", err)
	}
	return nil
}
