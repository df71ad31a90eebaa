// Package assigner is the controller's assignment loop. The elected leader follows workers,
// their status and the apps' topologies, assignments and released records in etcd, computes
// the assignment with package assign, steps each task's two-phase handoff and publishes the
// changes through cluster.Publisher, fenced by its leadership.
//
// A lost worker's tasks move only after its lease ended plus Grace. Planned moves (join, drain,
// rebalance) go through the handoff: warm-up target → releasing → the old active's released
// record → the target active with a new epoch; see docs/assignment.md for the state machine.
package assigner

import (
	"context"
	"errors"
	"log/slog"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/weirhq/weir/services/controller/leader"
)

// Serve campaigns for leadership and, while leading, runs the assignment loop; when deposed it
// campaigns again. It returns nil when ctx ends (resigning if leading).
func Serve(ctx context.Context, cli *clientv3.Client, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("controller", cfg.ID)
	for ctx.Err() == nil {
		term, err := leader.Campaign(ctx, cli, cfg.Layout, cfg.ID, cfg.ElectionTTL)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("campaign failed; retrying", "err", err)
				sleep(ctx, time.Second)
			}
			continue
		}
		log.Info("leading", "key", term.Guard().Key, "rev", term.Guard().Rev)
		err = runTerm(ctx, cli, cfg, log, term)
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.EtcdTimeout)
		if rerr := term.Resign(rctx); rerr != nil {
			log.Warn("resigning", "err", rerr)
		}
		cancel()
		if errors.Is(err, errDeposed) {
			log.Warn("lost leadership; campaigning again")
		}
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
