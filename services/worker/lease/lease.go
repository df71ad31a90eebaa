// Package lease holds a worker's etcd lease and knows, at every moment, whether the lease is
// provably alive.
//
// The deadline is the send time of the last acknowledged keep-alive (or of the grant) plus the
// TTL the server returned, minus a safety margin: the server received the request after it was
// sent, so the lease cannot expire before then. The KeepAlive channel of the etcd client carries
// no send times, so a Keeper runs its own KeepAliveOnce loop.
//
// Loss is final: once the deadline has passed (noticed by the loop, a timer or any Alive call,
// e.g. right after the process was resumed from SIGSTOP), the Keeper stays lost even if a later
// keep-alive would succeed. The worker then stops acting on every task and registers again under
// a new lease.
package lease

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// ErrLost is returned by Run when the lease's deadline passed or the server no longer knows it.
var ErrLost = errors.New("lease lost")

// Keeper holds one granted lease. Its methods are safe for concurrent use.
type Keeper struct {
	lessor clientv3.Lease
	id     clientv3.LeaseID
	ttl    time.Duration
	margin time.Duration
	now    func() time.Time

	mu       sync.Mutex
	deadline time.Time
	lost     bool
	lostCh   chan struct{}
}

// Grant grants a lease of ttl and returns its Keeper; margin is subtracted from every deadline
// (clock-rate differences, scheduling). margin must be below ttl/2.
func Grant(ctx context.Context, lessor clientv3.Lease, ttl, margin time.Duration) (*Keeper, error) {
	if ttl < 2*time.Second || margin < 0 || margin >= ttl/2 {
		return nil, fmt.Errorf("granting lease: TTL %v must be at least 2s and margin %v in [0, TTL/2)", ttl, margin)
	}
	sent := time.Now()
	resp, err := lessor.Grant(ctx, int64(ttl.Round(time.Second)/time.Second))
	if err != nil {
		return nil, fmt.Errorf("granting lease of %v: %w", ttl, err)
	}
	k := &Keeper{lessor: lessor, id: resp.ID, ttl: ttl, margin: margin, now: time.Now, lostCh: make(chan struct{})}
	k.deadline = sent.Add(time.Duration(resp.TTL)*time.Second - margin)
	return k, nil
}

// ID is the lease's id.
func (k *Keeper) ID() clientv3.LeaseID { return k.id }

// Deadline is the moment until which the lease is provably alive.
func (k *Keeper) Deadline() time.Time {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.deadline
}

// Alive reports whether the lease is provably alive now. Call it right before every externally
// visible action taken on the strength of the lease.
func (k *Keeper) Alive() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.checkLocked(k.now())
}

// Lost is closed once the lease is lost.
func (k *Keeper) Lost() <-chan struct{} { return k.lostCh }

// checkLocked marks the lease lost if now is past the deadline and reports whether it is alive.
func (k *Keeper) checkLocked(now time.Time) bool {
	if !k.lost && !now.Before(k.deadline) {
		k.markLocked()
	}
	return !k.lost
}

func (k *Keeper) markLocked() {
	if !k.lost {
		k.lost = true
		close(k.lostCh)
	}
}

// extend records an acknowledged keep-alive sent at sent with the server's ttl.
func (k *Keeper) extend(sent time.Time, ttlSeconds int64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	// The request was sent while the lease was provably alive, or the lease is lost already.
	if !k.checkLocked(sent) || !k.checkLocked(k.now()) {
		return
	}
	if d := sent.Add(time.Duration(ttlSeconds)*time.Second - k.margin); d.After(k.deadline) {
		k.deadline = d
	}
}

func (k *Keeper) fail() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.markLocked()
}

// Run keeps the lease alive with KeepAliveOnce every TTL/3 (retrying failures every TTL/10)
// until ctx ends (nil) or the lease is lost (ErrLost). While etcd is unreachable the lease stays
// alive until its deadline.
func (k *Keeper) Run(ctx context.Context) error {
	interval := k.ttl / 3
	retry := max(k.ttl/10, 100*time.Millisecond)
	next := time.NewTimer(interval)
	defer next.Stop()
	expire := time.NewTimer(time.Until(k.Deadline()))
	defer expire.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-k.lostCh:
			return ErrLost
		case <-expire.C:
			if !k.Alive() {
				return ErrLost
			}
			expire.Reset(time.Until(k.Deadline()))
			continue
		case <-next.C:
		}
		if !k.Alive() {
			return ErrLost
		}
		wait := interval
		if err := k.keepAlive(ctx); err != nil {
			if errors.Is(err, ErrLost) {
				return err
			}
			wait = retry
		}
		expire.Reset(time.Until(k.Deadline()))
		next.Reset(wait)
	}
}

// keepAlive sends one keep-alive, bounded by the current deadline.
func (k *Keeper) keepAlive(ctx context.Context) error {
	ctx, cancel := context.WithDeadline(ctx, k.Deadline())
	defer cancel()
	sent := k.now()
	resp, err := k.lessor.KeepAliveOnce(ctx, k.id)
	switch {
	case errors.Is(err, rpctypes.ErrLeaseNotFound):
		k.fail()
		return ErrLost
	case err != nil:
		return fmt.Errorf("keeping lease %x alive: %w", int64(k.id), err)
	case resp.TTL <= 0:
		k.fail()
		return ErrLost
	}
	k.extend(sent, resp.TTL)
	return nil
}

// Revoke revokes the lease (deleting every key put under it) and marks it lost.
func (k *Keeper) Revoke(ctx context.Context) error {
	k.fail()
	if _, err := k.lessor.Revoke(ctx, k.id); err != nil && !errors.Is(err, rpctypes.ErrLeaseNotFound) {
		return fmt.Errorf("revoking lease %x: %w", int64(k.id), err)
	}
	return nil
}
