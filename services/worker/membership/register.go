package membership

import (
	"context"
	"encoding/json"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/services/worker/lease"
)

// register grants a lease and creates the worker's membership key under it. The key must not
// exist: a previous incarnation's key (a restart within its TTL) is waited out, so the
// controller always sees the old lease end before a new one appears. It returns nil, nil when
// ctx ends first.
func (m *Member) register(ctx context.Context) (*lease.Keeper, error) {
	key := m.cfg.Layout.Worker(m.cfg.ID)
	value, err := json.Marshal(m.cfg.record())
	if err != nil {
		return nil, m.errorf("encoding membership record: %w", err)
	}
	waited := false
	for ctx.Err() == nil {
		k, err := m.tryRegister(ctx, key, string(value))
		switch {
		case err != nil:
			m.log.Warn("registering failed; retrying", "err", err)
		case k == nil:
			if !waited {
				m.log.Info("waiting for the previous registration of this worker id to expire", "key", key)
				waited = true
			}
		default:
			m.setCurrent(k)
			m.log.Info("registered", "lease", int64(k.ID()), "deadline", k.Deadline().UnixNano(), "at", time.Now().UnixNano())
			return k, nil
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
	return nil, nil
}

// tryRegister makes one attempt; it returns nil, nil when the key exists.
func (m *Member) tryRegister(ctx context.Context, key, value string) (*lease.Keeper, error) {
	cctx, cancel := m.etcdCtx(ctx)
	defer cancel()
	k, err := lease.Grant(cctx, m.cli, m.cfg.LeaseTTL, m.cfg.LeaseMargin)
	if err != nil {
		return nil, err
	}
	resp, err := m.cli.Txn(cctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, value, clientv3.WithLease(k.ID()))).Commit()
	if err == nil && resp.Succeeded {
		return k, nil
	}
	rctx, rcancel := m.etcdCtx(context.WithoutCancel(ctx))
	defer rcancel()
	_ = k.Revoke(rctx) // best effort: an unused lease expires by itself
	if err != nil {
		return nil, m.errorf("creating membership key %s: %w", key, err)
	}
	return nil, nil
}

// updateRecord rewrites the membership key (draining, stopped) under the worker's own lease,
// only while the key is still held by it.
func (m *Member) updateRecord(ctx context.Context, k *lease.Keeper, rec cluster.WorkerRecord) error {
	key := m.cfg.Layout.Worker(m.cfg.ID)
	value, err := json.Marshal(rec)
	if err != nil {
		return m.errorf("encoding membership record: %w", err)
	}
	cctx, cancel := m.etcdCtx(ctx)
	defer cancel()
	resp, err := m.cli.Txn(cctx).
		If(clientv3.Compare(clientv3.LeaseValue(key), "=", k.ID())).
		Then(clientv3.OpPut(key, string(value), clientv3.WithLease(k.ID()))).Commit()
	if err != nil {
		return m.errorf("updating membership key %s: %w", key, err)
	}
	if !resp.Succeeded {
		return m.errorf("updating membership key %s: no longer held by lease %x", key, int64(k.ID()))
	}
	return nil
}
