package membership

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/services/worker/lease"
	"github.com/weirhq/weir/services/worker/tasks"
)

// session is one incarnation of the worker: one lease, its replicas and its goroutines. Its
// fields are owned by serve's goroutine.
type session struct {
	m       *Member
	k       *lease.Keeper
	lease   int64
	mgr     *tasks.Manager
	index   map[cluster.TaskKey]entry
	listed  bool
	release map[cluster.TaskKey]*pendingRelease
}

// pendingRelease is a release whose released record is to be written (or was).
type pendingRelease struct {
	res     tasks.Released
	written bool
}

// serve runs one incarnation until its lease is lost (lease.ErrLost, every replica already
// stopped) or, after ctx ends, until it drained (nil).
func (m *Member) serve(ctx context.Context, k *lease.Keeper) error {
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()

	released := make(chan tasks.Released)
	s := &session{m: m, k: k, lease: int64(k.ID()), index: map[cluster.TaskKey]entry{},
		release: map[cluster.TaskKey]*pendingRelease{}}
	s.mgr = tasks.New(sctx, m.body, k, released, m.log)
	defer s.mgr.Stop()

	keeperDone := make(chan error, 1)
	wg.Go(func() { keeperDone <- k.Run(sctx) })
	batches := make(chan cluster.Batch)
	wg.Go(func() {
		err := cluster.Follow(sctx, m.cli, m.cfg.Layout.WorkerIndexPrefix(m.cfg.ID), func(b cluster.Batch) error {
			select {
			case batches <- b:
				return nil
			case <-sctx.Done():
				return sctx.Err()
			}
		}, func(err error) { m.log.Warn("following the worker index", "err", err) })
		if err != nil && sctx.Err() == nil {
			m.log.Error("following the worker index stopped", "err", err)
		}
	})
	wg.Go(func() { s.publishStatus(sctx) })

	var drain <-chan time.Time
	stopping := ctx.Done()
	for {
		select {
		case <-k.Lost():
			return s.lost()
		case err := <-keeperDone:
			if errors.Is(err, lease.ErrLost) {
				return s.lost()
			}
			keeperDone = nil
		case b := <-batches:
			if !k.Alive() { // resumed past the deadline: stop before acting on anything
				return s.lost()
			}
			s.apply(b)
			s.mgr.Apply(desired(m.cfg.ID, s.lease, s.index))
			s.writeReleases(sctx)
		case r := <-released:
			if !k.Alive() {
				return s.lost()
			}
			s.released(sctx, r)
		case <-stopping:
			stopping = nil
			drain = s.startDrain(sctx)
		case <-drain:
			m.log.Warn("drain timeout; releasing the remaining tasks")
			return s.leave(sctx)
		}
		if drain != nil && s.listed && !holdsActive(m.cfg.ID, s.lease, s.index) {
			m.log.Info("drained: every task handed off")
			return s.leave(sctx)
		}
	}
}

// apply folds a batch of index changes into the session's index.
func (s *session) apply(b cluster.Batch) {
	if b.Reset {
		s.index = map[cluster.TaskKey]entry{}
		s.listed = true
	}
	for _, kv := range b.Changes {
		_, t, err := s.m.cfg.Layout.ParseWorkerIndex(kv.Key)
		if err != nil {
			s.m.log.Warn("skipping index key", "err", err)
			continue
		}
		if kv.Deleted {
			delete(s.index, t)
			continue
		}
		a, err := cluster.DecodeAssignment(kv.Value, kv.ModRevision)
		if err != nil {
			s.m.log.Warn("skipping index entry", "task", t.String(), "err", err)
			continue
		}
		s.index[t] = entry{rec: a, rev: kv.ModRevision}
	}
}

// lost stops every replica before anything else, then ends the incarnation.
func (s *session) lost() error {
	s.m.log.Warn("lease lost", "lease", s.lease, "deadline", s.k.Deadline().UnixNano(), "at", time.Now().UnixNano())
	n := len(s.mgr.Specs())
	s.mgr.Stop()
	s.m.log.Info("stopped tasks", "lease", s.lease, "tasks", n, "at", time.Now().UnixNano())
	ctx, cancel := s.m.etcdCtx(context.Background())
	defer cancel()
	if err := s.k.Revoke(ctx); err != nil {
		s.m.log.Debug("revoking the lost lease", "err", err)
	}
	return lease.ErrLost
}

// startDrain marks the worker draining, so the controller hands its tasks off, and returns the
// drain timeout.
func (s *session) startDrain(ctx context.Context) <-chan time.Time {
	rec := s.m.cfg.record()
	rec.Draining = true
	if err := s.m.updateRecord(ctx, s.k, rec); err != nil {
		s.m.log.Error("marking the worker draining", "err", err)
	} else {
		s.m.log.Info("draining", "lease", s.lease, "timeout", s.m.cfg.DrainTimeout.String())
	}
	return time.After(s.m.cfg.DrainTimeout)
}

// leave ends a graceful stop: stop every replica, make the final commit of actives still held,
// mark the worker stopped (the controller may reassign at once) and revoke the lease.
func (s *session) leave(ctx context.Context) error {
	specs := s.mgr.Specs()
	s.mgr.Stop()
	for _, spec := range specs {
		if spec.Role != cluster.RoleActive || spec.Release {
			continue
		}
		rctx, cancel := s.m.etcdCtx(ctx)
		_, err := s.m.body.Release(rctx, s.mgr.Replica(rctx, spec))
		cancel()
		if err != nil {
			s.m.log.Error("final commit on leaving", "task", spec.Task.String(), "epoch", spec.Epoch, "err", err)
		}
	}
	rec := s.m.cfg.record()
	rec.Draining, rec.Stopped = true, true
	if err := s.m.updateRecord(ctx, s.k, rec); err != nil {
		s.m.log.Warn("marking the worker stopped", "err", err)
	}
	if err := s.k.Revoke(ctx); err != nil {
		return s.m.errorf("deregistering: %w", err)
	}
	s.m.log.Info("deregistered", "lease", s.lease, "at", time.Now().UnixNano())
	return nil
}
