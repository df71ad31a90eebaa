package assigner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/services/controller/leader"
)

// errDeposed ends a term whose leadership is gone.
var errDeposed = errors.New("deposed")

// idle is the longest the loop waits without planning (a safety net; decisions with a
// deadline wake it on time).
const idle = 5 * time.Second

// Lead runs the assignment loop for a leadership term owned by the caller (a controller that
// campaigns itself), until ctx ends (nil) or the term is lost (an error). It neither campaigns
// nor resigns.
func Lead(ctx context.Context, cli *clientv3.Client, cfg Config, term *leader.Term) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if err := runTerm(ctx, cli, cfg, log.With("controller", cfg.ID), term); err != nil {
		return fmt.Errorf("assignment loop: leadership lost: %w", err)
	}
	return nil
}

// runTerm runs the assignment loop for one leadership term, until ctx ends (nil) or the term
// is lost (errDeposed). Every goroutine it starts ends before it returns.
func runTerm(ctx context.Context, cli *clientv3.Client, cfg Config, log *slog.Logger, term *leader.Term) error {
	tctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()

	batches := make(chan sourced)
	follow := func(src source, prefix string) {
		wg.Go(func() {
			err := cluster.Follow(tctx, cli, prefix, func(b cluster.Batch) error {
				select {
				case batches <- sourced{src: src, batch: b}:
					return nil
				case <-tctx.Done():
					return tctx.Err()
				}
			}, func(err error) { log.Warn("following etcd", "err", err) })
			if err != nil && tctx.Err() == nil {
				log.Error("following etcd stopped", "prefix", prefix, "err", err)
			}
		})
	}
	follow(workersSource, cfg.Layout.WorkersPrefix())
	follow(statusSource, cfg.Layout.StatusPrefix())
	follow(appsSource, cfg.Layout.AppsPrefix())

	guard := term.Guard()
	pub := &cluster.Publisher{KV: cli, Layout: cfg.Layout, Guard: &guard}
	v := newView(cfg.Layout, cfg.Grace, log)
	p := newPlanner(cfg, log)
	var waitRev int64 // the view must have seen our last write before planning again
	timer := time.NewTimer(idle)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-term.Done():
			return errDeposed
		case s := <-batches:
			v.apply(s, time.Now())
			drainPending(batches, v)
		case <-timer.C:
		}
		if !v.ready() || v.appsRev < waitRev {
			continue
		}
		now := time.Now()
		updates, wake := p.plan(v, now)
		next := now.Add(idle)
		if len(updates) > 0 {
			revs, err := publish(tctx, pub, cfg.EtcdTimeout, updates)
			for _, r := range revs {
				waitRev = max(waitRev, r)
			}
			switch {
			case errors.Is(err, cluster.ErrNotLeader):
				return errDeposed
			case err != nil:
				log.Error("publishing assignment; retrying", "err", err)
				next = now.Add(time.Second)
			default:
				log.Debug("published", "updates", len(updates), "revision", waitRev)
			}
		}
		if !wake.IsZero() && wake.Before(next) {
			next = wake
		}
		timer.Reset(time.Until(next))
	}
}

// drainPending applies every batch already waiting, so one plan covers them all.
func drainPending(batches <-chan sourced, v *view) {
	for {
		select {
		case s := <-batches:
			v.apply(s, time.Now())
		default:
			return
		}
	}
}

func publish(ctx context.Context, pub *cluster.Publisher, timeout time.Duration, updates []cluster.Update) ([]int64, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return pub.Publish(ctx, updates)
}
