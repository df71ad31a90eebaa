// Package router sends table reads to the worker that owns the key: a key's partition comes
// from the producer's hashing (cluster.TableRoute.Partition), the partition's owner from its
// assignment in etcd (a Directory). A read that races a handoff is refused by the old owner
// (FAILED_PRECONDITION with a NotOwner detail) or finds it gone (UNAVAILABLE); the router then
// reads the assignment again and retries at the owner it names until the read's deadline
// draws near (the query timeout), so a handoff whose new owner takes seconds to start its
// task still answers.
package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"

	weirv1 "github.com/weirhq/weir/gen/weir/v1"
	"github.com/weirhq/weir/gen/weir/v1/weirv1connect"
	"github.com/weirhq/weir/libs/cluster"
)

// TableClients returns the TableService client of a worker address (*Clients does).
type TableClients interface {
	Table(addr string) weirv1connect.TableServiceClient
}

// Config configures a Router.
type Config struct {
	Directory Directory
	Clients   TableClients
	// MaxAttempts, when positive, bounds the tries of one read; each reads the assignment
	// again and asks the owner it names. Zero: tries go on while the read's deadline allows.
	MaxAttempts int
	// Timeout bounds a read whose context has no deadline, retries included (10 s when
	// zero). A read stops retrying once its deadline is closer than the next wait plus
	// MaxBackoff, and ends with UNAVAILABLE and the last reason.
	Timeout time.Duration
	// Backoff is the first wait between tries (10 ms when zero); it doubles up to
	// MaxBackoff (250 ms when zero). A refusal that names a new owner is retried at once
	// (not twice in a row: two workers naming each other still back off).
	Backoff, MaxBackoff time.Duration
	Logger              *slog.Logger
}

// Router routes reads to owners. Safe for concurrent use.
type Router struct {
	cfg     Config
	log     *slog.Logger
	next    atomic.Uint64 // spreads global-table reads over the workers
	retries atomic.Int64
}

// New returns a router.
func New(cfg Config) (*Router, error) {
	if cfg.Directory == nil || cfg.Clients == nil {
		return nil, errors.New("creating the router: a directory and clients are required")
	}
	if cfg.MaxAttempts < 0 {
		return nil, fmt.Errorf("creating the router: MaxAttempts %d is negative", cfg.MaxAttempts)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 10 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 250 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Router{cfg: cfg, log: cfg.Logger.With("component", "router")}, nil
}

// Retries returns how many reads were retried since the router started.
func (rt *Router) Retries() int64 { return rt.retries.Load() }

// Call performs one read at a replica.
type Call func(ctx context.Context, c weirv1connect.TableServiceClient, at Replica) error

// Read performs call at the active owner of task t (then, with allowStale, at its standbys
// when the active cannot answer), retrying across handoffs. It returns the number of tries.
// Errors other than a refusal or an unreachable worker are returned as they are; running
// out of tries is UNAVAILABLE with the last reason.
func (rt *Router) Read(ctx context.Context, t cluster.TaskKey, allowStale bool, call Call) (int, error) {
	ctx, cancel := rt.bound(ctx)
	defer cancel()
	b := rt.backoff()
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			rt.retries.Add(1)
		}
		retryNow, err := rt.try(ctx, t, allowStale, call)
		if err == nil {
			return attempt, nil
		}
		if !retryable(err) {
			return attempt, err
		}
		if why := b.next(ctx, attempt, retryNow); why != "" {
			return attempt, connect.NewError(connect.CodeUnavailable,
				fmt.Errorf("no worker answered for task %s after %d tries (%s): %w", t, attempt, why, reason(err)))
		}
	}
}

// bound gives a read without a deadline the router's Timeout.
func (rt *Router) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, rt.cfg.Timeout)
}

// backoff paces the tries of one read.
type backoff struct {
	cfg        Config
	wait       time.Duration
	lastAtOnce bool
}

func (rt *Router) backoff() *backoff { return &backoff{cfg: rt.cfg, wait: rt.cfg.Backoff} }

// next waits before the next try and returns "", or says why there is none: the tries are
// used up, or the deadline is too close for a wait and one more call.
func (b *backoff) next(ctx context.Context, attempt int, atOnce bool) string {
	if b.cfg.MaxAttempts > 0 && attempt >= b.cfg.MaxAttempts {
		return "the most allowed"
	}
	d := b.wait
	if atOnce && !b.lastAtOnce {
		d = 0
	} else {
		b.wait = min(2*b.wait, b.cfg.MaxBackoff)
	}
	b.lastAtOnce = atOnce && d == 0
	if dl, ok := ctx.Deadline(); ctx.Err() != nil || (ok && time.Until(dl) < d+b.cfg.MaxBackoff) {
		return "the query's deadline is near"
	}
	if d > 0 && !sleep(ctx, d) {
		return "the query's deadline is near"
	}
	return ""
}

// try reads the task's replicas once and calls them in order. retryNow is set when a
// refusal named an owner other than the one asked, so the next try can go at once.
func (rt *Router) try(ctx context.Context, t cluster.TaskKey, allowStale bool, call Call) (retryNow bool, err error) {
	reps, err := rt.cfg.Directory.Replicas(ctx, t)
	if err != nil {
		return false, connect.NewError(connect.CodeUnavailable, fmt.Errorf("reading the assignment of %s: %w", t, err))
	}
	targets := make([]Replica, 0, 1+len(reps.Standbys))
	if reps.Active.Worker != "" {
		targets = append(targets, reps.Active)
	}
	if allowStale {
		targets = append(targets, reps.Standbys...)
	}
	if len(targets) == 0 {
		return false, connect.NewError(connect.CodeUnavailable, fmt.Errorf("task %s has no active owner (unassigned, or failing over)", t))
	}
	var last error
	for _, r := range targets {
		if r.Addr == "" {
			last = connect.NewError(connect.CodeUnavailable, fmt.Errorf("worker %s, which holds task %s, is not registered", r.Worker, t))
			continue
		}
		err := call(ctx, rt.cfg.Clients.Table(r.Addr), r)
		if err == nil {
			return false, nil
		}
		if !retryable(err) {
			return false, err
		}
		last = err
		if n := notOwner(err); n != nil && n.GetOwner() != "" && n.GetOwner() != r.Worker {
			retryNow = true
		}
		rt.log.Debug("read refused; retrying", "task", t.String(), "worker", r.Worker, "err", err)
	}
	return retryNow, last
}

// ReadAny performs call at any registered worker (a global table, which every worker
// holds), trying them in turn from a rotating start.
func (rt *Router) ReadAny(ctx context.Context, what string, call Call) (int, error) {
	ctx, cancel := rt.bound(ctx)
	defer cancel()
	var last error
	b := rt.backoff()
	for attempt := 1; ; attempt++ {
		ws, err := rt.cfg.Directory.Workers(ctx)
		switch {
		case err != nil:
			last = connect.NewError(connect.CodeUnavailable, fmt.Errorf("listing workers: %w", err))
		case len(ws) == 0:
			last = connect.NewError(connect.CodeUnavailable, errors.New("no worker is registered"))
		default:
			start := int(rt.next.Add(1) % uint64(len(ws)))
			for i := range ws {
				r := ws[(start+i)%len(ws)]
				err := call(ctx, rt.cfg.Clients.Table(r.Addr), r)
				if err == nil {
					return attempt, nil
				}
				if !retryable(err) {
					return attempt, err
				}
				last = err
			}
		}
		if why := b.next(ctx, attempt, false); why != "" {
			return attempt, connect.NewError(connect.CodeUnavailable,
				fmt.Errorf("no worker answered for %s after %d tries (%s): %w", what, attempt, why, reason(last)))
		}
	}
}

// retryable reports whether another worker (or the same one later) may answer: a refusal
// naming another owner, or a worker that is unreachable or not ready.
func retryable(err error) bool {
	switch connect.CodeOf(err) {
	case connect.CodeFailedPrecondition, connect.CodeUnavailable:
		return true
	case connect.CodeDeadlineExceeded, connect.CodeCanceled:
		return false
	}
	return false
}

// notOwner returns the NotOwner detail of a refusal.
func notOwner(err error) *weirv1.NotOwner {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return nil
	}
	for _, d := range ce.Details() {
		if v, err := d.Value(); err == nil {
			if n, ok := v.(*weirv1.NotOwner); ok {
				return n
			}
		}
	}
	return nil
}

// reason strips the Connect code from an error's text for a new message.
func reason(err error) error {
	var ce *connect.Error
	if errors.As(err, &ce) {
		return errors.New(ce.Message())
	}
	return err
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
