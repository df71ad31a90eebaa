package server

import (
	"context"

	"connectrpc.com/connect"

	weirv1 "github.com/weirhq/weir/gen/weir/v1"
	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/services/controller/plan"
)

// Delete removes the app's records from etcd and, when asked, its internal topics and its
// consumer group. Declared topics are never deleted.
func (s *Service) Delete(ctx context.Context, req *connect.Request[weirv1.DeleteRequest]) (*connect.Response[weirv1.DeleteResponse], error) {
	m := req.Msg
	if m.GetApp() == "" {
		return nil, invalid("app is required")
	}
	guard, err := s.leaderGuard()
	if err != nil {
		return nil, err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	st, cur, err := s.current(ctx, m.GetApp())
	if err != nil {
		return nil, err
	}
	w := cluster.AppWrite{App: m.GetApp(), HeadRev: st.HeadRev, Ops: s.cfg.Layout.DeleteAppOps(m.GetApp())}
	if _, err := cluster.CommitApp(ctx, s.cfg.Etcd, s.cfg.Layout, guard, w); err != nil {
		return nil, s.rpcError(err)
	}
	resp := &weirv1.DeleteResponse{VersionsDeleted: st.LastNumber}
	log := s.cfg.Log.With("app", m.GetApp())
	log.Info("deleted app", "versions", st.LastNumber)
	if m.GetDeleteTopics() {
		var names []string
		for _, t := range plan.Topics(cur.App) {
			if t.Internal() {
				names = append(names, t.Spec.Name)
			}
		}
		if err := s.kadmin().DeleteTopics(ctx, names...); err != nil {
			return nil, s.rpcError(err)
		}
		if err := s.kafka.deleteGroup(ctx, plan.ConsumerGroup(cur.App.Name)); err != nil {
			log.Warn("deleting the consumer group failed", "err", err)
		}
		resp.DeletedTopics = names
		log.Info("deleted internal topics", "topics", names)
	}
	return connect.NewResponse(resp), nil
}
