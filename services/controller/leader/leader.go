// Package leader elects the controller leader with etcd's concurrency.Election and gives the
// leader a cluster.Guard that fences its writes: a deposed leader's transactions fail.
package leader

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/weirhq/weir/libs/cluster"
)

// Term is one leadership term. Done and Guard are safe for concurrent use; Resign is called
// once, by the term's owner.
type Term struct {
	session  *concurrency.Session
	election *concurrency.Election
	guard    cluster.Guard
	done     chan struct{}
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// Campaign blocks until this controller (id) is the leader, then returns its term. The
// election runs on a session lease of ttl (concurrency's keep-alive), under l.Election().
func Campaign(ctx context.Context, cli *clientv3.Client, l cluster.Layout, id string, ttl time.Duration) (*Term, error) {
	s, err := concurrency.NewSession(cli, concurrency.WithTTL(int(ttl.Round(time.Second)/time.Second)), concurrency.WithContext(context.WithoutCancel(ctx)))
	if err != nil {
		return nil, fmt.Errorf("opening election session: %w", err)
	}
	e := concurrency.NewElection(s, l.Election())
	if err := e.Campaign(ctx, id); err != nil {
		closeSession(s)
		return nil, fmt.Errorf("campaigning for controller leadership: %w", err)
	}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	t := &Term{session: s, election: e, guard: cluster.Guard{Key: e.Key(), Rev: e.Rev()}, done: make(chan struct{}), cancel: cancel}
	t.wg.Go(func() { t.observe(wctx, cli) })
	return t, nil
}

// Guard fences writes on this term: CreateRevision(Key) = Rev.
func (t *Term) Guard() cluster.Guard { return t.guard }

// Done is closed when the term ends: the session lease expired, the leader key was deleted
// (or recreated), or Resign was called.
func (t *Term) Done() <-chan struct{} { return t.done }

// observe closes done when leadership is lost.
func (t *Term) observe(ctx context.Context, cli *clientv3.Client) {
	defer close(t.done)
	watch := cli.Watch(clientv3.WithRequireLeader(ctx), t.guard.Key, clientv3.WithRev(t.guard.Rev))
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.session.Done():
			return
		case resp, ok := <-watch:
			if !ok || resp.Err() != nil {
				// The watch broke (e.g. no etcd leader): check the key directly before going on.
				if !t.holds(ctx, cli) {
					return
				}
				watch = cli.Watch(clientv3.WithRequireLeader(ctx), t.guard.Key, clientv3.WithRev(resp.Header.Revision+1))
				continue
			}
			for _, ev := range resp.Events {
				if ev.Type == clientv3.EventTypeDelete || ev.Kv.CreateRevision != t.guard.Rev {
					return
				}
			}
		}
	}
}

// holds reports whether the leader key still has the term's create revision; on an error it
// waits a moment and reports true only if the session is still alive.
func (t *Term) holds(ctx context.Context, cli *clientv3.Client) bool {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := cli.Get(cctx, t.guard.Key)
	if err != nil {
		select {
		case <-ctx.Done():
			return false
		case <-t.session.Done():
			return false
		case <-time.After(500 * time.Millisecond):
			return true
		}
	}
	return len(resp.Kvs) == 1 && resp.Kvs[0].CreateRevision == t.guard.Rev
}

// Resign gives up leadership (if still held) and closes the session.
func (t *Term) Resign(ctx context.Context) error {
	err := t.election.Resign(ctx)
	if errors.Is(err, concurrency.ErrElectionNotLeader) {
		err = nil
	}
	t.cancel()
	t.wg.Wait()
	closeSession(t.session)
	if err != nil {
		return fmt.Errorf("resigning controller leadership: %w", err)
	}
	return nil
}

func closeSession(s *concurrency.Session) {
	_ = s.Close() // revokes the session lease; it expires by itself if etcd is unreachable
}
