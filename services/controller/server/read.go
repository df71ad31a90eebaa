package server

import (
	"context"
	"maps"
	"slices"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	weirv1 "github.com/weirhq/weir/gen/weir/v1"
	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/services/controller/plan"
)

// Get returns a version of an app (the current one by default) and the app's status.
func (s *Service) Get(ctx context.Context, req *connect.Request[weirv1.GetRequest]) (*connect.Response[weirv1.GetResponse], error) {
	m := req.Msg
	if m.GetApp() == "" {
		return nil, invalid("app is required")
	}
	if m.GetVersion() < 0 {
		return nil, invalid("version must be positive (or 0 for the current one), got %d", m.GetVersion())
	}
	st, cur, err := s.current(ctx, m.GetApp())
	if err != nil {
		return nil, err
	}
	v := *st.Current
	if m.GetVersion() > 0 && m.GetVersion() != v.Version {
		if v, err = cluster.ReadAppVersion(ctx, s.cfg.Etcd, s.cfg.Layout, m.GetApp(), m.GetVersion()); err != nil {
			return nil, s.rpcError(err)
		}
	}
	status := &weirv1.AppStatus{
		CurrentVersion: st.Current.Version, EpochFloor: st.Floor.Floor, Paused: st.Paused != nil,
		ConsumerGroup: plan.ConsumerGroup(cur.App.Name),
	}
	if st.Paused != nil {
		status.PausedReason = st.Paused.Reason
	}
	for _, g := range cur.App.TaskGroups() {
		status.TaskGroups = append(status.TaskGroups, &weirv1.TaskGroup{Name: g.Name, Partitions: int32(g.Partitions), Agents: g.Agents, Changelog: g.Changelog})
	}
	for _, t := range plan.Topics(cur.App) {
		status.Topics = append(status.Topics, t.Spec.Name)
	}
	return connect.NewResponse(&weirv1.GetResponse{Version: versionProto(v, true), Status: status}), nil
}

// List lists the apps.
func (s *Service) List(ctx context.Context, _ *connect.Request[weirv1.ListRequest]) (*connect.Response[weirv1.ListResponse], error) {
	heads, err := cluster.ListApps(ctx, s.cfg.Etcd, s.cfg.Layout)
	if err != nil {
		return nil, s.rpcError(err)
	}
	resp := &weirv1.ListResponse{}
	for _, name := range slices.Sorted(maps.Keys(heads)) {
		h := heads[name]
		sum := &weirv1.AppSummary{App: name, Version: h.Version, UpdatedAt: timestamp(h.UpdatedAt)}
		if v, err := cluster.ReadAppVersion(ctx, s.cfg.Etcd, s.cfg.Layout, name, h.Version); err == nil {
			sum.Author = v.Author
		}
		if st, err := cluster.ReadApp(ctx, s.cfg.Etcd, s.cfg.Layout, name); err == nil {
			sum.Paused = st.Paused != nil
		}
		resp.Apps = append(resp.Apps, sum)
	}
	return connect.NewResponse(resp), nil
}

// History lists every stored version of an app, without sources.
func (s *Service) History(ctx context.Context, req *connect.Request[weirv1.HistoryRequest]) (*connect.Response[weirv1.HistoryResponse], error) {
	if req.Msg.GetApp() == "" {
		return nil, invalid("app is required")
	}
	vs, err := cluster.ReadAppVersions(ctx, s.cfg.Etcd, s.cfg.Layout, req.Msg.GetApp())
	if err != nil {
		return nil, s.rpcError(err)
	}
	if len(vs) == 0 {
		return nil, notFound("app %q does not exist", req.Msg.GetApp())
	}
	resp := &weirv1.HistoryResponse{}
	for _, v := range vs {
		resp.Versions = append(resp.Versions, versionProto(v, false))
	}
	return connect.NewResponse(resp), nil
}

func timestamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}
