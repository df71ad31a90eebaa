package membership

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/weirhq/weir/libs/cluster"
)

// Config is a worker's membership configuration.
type Config struct {
	ID       string // worker id, unique in the cluster
	Addr     string // Connect address others reach the worker at
	Capacity int    // relative capacity; tasks are balanced by it
	Zone     string // failure zone; standbys spread across zones
	Version  string // worker version, for the controller's compatibility check

	Layout cluster.Layout

	// LeaseTTL is the TTL of the worker's lease (10 s).
	LeaseTTL time.Duration
	// LeaseMargin is subtracted from every provable lease deadline (1 s).
	LeaseMargin time.Duration
	// StatusInterval is the least time between two status writes (1 s).
	StatusInterval time.Duration
	// DrainTimeout bounds a graceful stop: after it, the worker releases whatever tasks it still
	// holds, deregisters and exits (90 s).
	DrainTimeout time.Duration
	// EtcdTimeout bounds every single etcd request the worker makes (5 s).
	EtcdTimeout time.Duration

	Logger *slog.Logger
}

// Defaults returns the documented defaults; the caller sets the worker's identity.
func Defaults() Config {
	return Config{
		Capacity:       1,
		LeaseTTL:       10 * time.Second,
		LeaseMargin:    time.Second,
		StatusInterval: time.Second,
		DrainTimeout:   90 * time.Second,
		EtcdTimeout:    5 * time.Second,
	}
}

// Validate reports every problem with the configuration at once.
func (c Config) Validate() error {
	var errs []error
	if c.ID == "" {
		errs = append(errs, errors.New("worker id is empty"))
	}
	if c.Capacity <= 0 {
		errs = append(errs, fmt.Errorf("capacity %d must be positive", c.Capacity))
	}
	if c.LeaseTTL < 2*time.Second {
		errs = append(errs, fmt.Errorf("lease TTL %v is below 2s", c.LeaseTTL))
	}
	if c.LeaseMargin < 0 || c.LeaseMargin >= c.LeaseTTL/2 {
		errs = append(errs, fmt.Errorf("lease margin %v must be in [0, TTL/2)", c.LeaseMargin))
	}
	if c.StatusInterval <= 0 {
		errs = append(errs, fmt.Errorf("status interval %v must be positive", c.StatusInterval))
	}
	if c.DrainTimeout <= 0 {
		errs = append(errs, fmt.Errorf("drain timeout %v must be positive", c.DrainTimeout))
	}
	if c.EtcdTimeout <= 0 {
		errs = append(errs, fmt.Errorf("etcd timeout %v must be positive", c.EtcdTimeout))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("worker membership config: %w", err)
	}
	return nil
}

func (c Config) record() cluster.WorkerRecord {
	return cluster.WorkerRecord{ID: c.ID, Addr: c.Addr, Capacity: c.Capacity, Zone: c.Zone, Version: c.Version}
}
