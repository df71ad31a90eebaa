// Package membership is a worker's side of the cluster: it registers the worker in etcd under
// one lease, keeps that lease alive with its own KeepAliveOnce loop, follows the worker's
// assignment index, runs the assigned replicas through a tasks.Manager, writes released records
// for two-phase handoffs, publishes the worker's status and drains on a graceful stop.
//
// Lease discipline: replicas act only while the lease is provably alive (tasks.Replica.Alive).
// When the lease's deadline passes — etcd unreachable for too long, or the process was paused —
// the worker first stops every replica (and waits for them), then registers again under a new
// lease; tasks it held under the old lease are not acted on until the controller re-issues
// them with a new epoch.
package membership

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/weirhq/weir/services/worker/lease"
	"github.com/weirhq/weir/services/worker/tasks"
)

// Member is one worker's membership. Alive, Deadline and Lease are safe for concurrent use.
type Member struct {
	cli  *clientv3.Client
	cfg  Config
	body tasks.Body
	log  *slog.Logger

	mu     sync.Mutex
	keeper *lease.Keeper // current incarnation; nil before the first registration
	ready  chan struct{}
}

// New returns a worker's membership; Run starts it.
func New(cli *clientv3.Client, cfg Config, body tasks.Body) (*Member, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if body == nil {
		return nil, errors.New("worker membership: no task body")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Member{cli: cli, cfg: cfg, body: body, log: log.With("worker", cfg.ID), ready: make(chan struct{})}, nil
}

// Run registers and serves the worker until ctx ends, then drains: it marks the worker
// draining, keeps running its replicas while the controller hands its tasks off, and after
// the last one (or DrainTimeout) releases what is left, deregisters and returns nil. A lost
// lease stops every replica first, then the worker registers again.
func Run(ctx context.Context, cli *clientv3.Client, cfg Config, body tasks.Body) error {
	m, err := New(cli, cfg, body)
	if err != nil {
		return err
	}
	return m.Run(ctx)
}

// Run runs the member; see the package-level Run.
func (m *Member) Run(ctx context.Context) error {
	for {
		k, err := m.register(ctx)
		if err != nil {
			return err
		}
		if k == nil { // stopped before registering
			return nil
		}
		err = m.serve(ctx, k)
		switch {
		case !errors.Is(err, lease.ErrLost):
			return err
		case ctx.Err() != nil:
			return m.errorf("draining: %w", err)
		}
	}
}

// Ready is closed once the worker first registered.
func (m *Member) Ready() <-chan struct{} { return m.ready }

// Alive reports whether the current lease is provably alive.
func (m *Member) Alive() bool {
	k := m.current()
	return k != nil && k.Alive()
}

// Deadline is the moment until which the current lease is provably alive (zero before the
// first registration).
func (m *Member) Deadline() time.Time {
	if k := m.current(); k != nil {
		return k.Deadline()
	}
	return time.Time{}
}

// Lease is the id of the current lease (0 before the first registration).
func (m *Member) Lease() int64 {
	if k := m.current(); k != nil {
		return int64(k.ID())
	}
	return 0
}

func (m *Member) current() *lease.Keeper {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.keeper
}

func (m *Member) setCurrent(k *lease.Keeper) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.keeper == nil {
		close(m.ready)
	}
	m.keeper = k
}

// etcdCtx bounds one etcd request.
func (m *Member) etcdCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, m.cfg.EtcdTimeout)
}

func (m *Member) errorf(format string, args ...any) error {
	return fmt.Errorf("worker %q: "+format, append([]any{m.cfg.ID}, args...)...)
}
