package membership

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/weirhq/weir/libs/cluster"
)

// publishStatus writes the worker's status record under its lease whenever it changed, at most
// once per StatusInterval, until ctx ends.
func (s *session) publishStatus(ctx context.Context) {
	t := time.NewTicker(s.m.cfg.StatusInterval)
	defer t.Stop()
	key := s.m.cfg.Layout.Status(s.m.cfg.ID)
	var last []byte
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st := cluster.WorkerStatus{Worker: s.m.cfg.ID, Lease: s.lease, Tasks: s.mgr.Status()}
		st.Sort()
		value, err := json.Marshal(st)
		if err != nil {
			s.m.log.Error("encoding status", "err", err)
			continue
		}
		if bytes.Equal(value, last) || !s.k.Alive() {
			continue
		}
		cctx, cancel := s.m.etcdCtx(ctx)
		_, err = s.m.cli.Put(cctx, key, string(value), clientv3.WithLease(s.k.ID()))
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				s.m.log.Warn("writing status", "err", err)
			}
			continue
		}
		last = value
	}
}
