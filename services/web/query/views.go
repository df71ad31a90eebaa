package query

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	weirv1 "github.com/weirhq/weir/gen/weir/v1"
	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/services/web/apps"
	"github.com/weirhq/weir/services/web/health"
)

// ListApps lists the apps with their current version.
func (s *Service) ListApps(ctx context.Context, _ *connect.Request[weirv1.ListAppsRequest]) (*connect.Response[weirv1.ListAppsResponse], error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	heads, err := cluster.ListApps(ctx, s.cfg.KV, s.cfg.Layout)
	if err != nil {
		return nil, etcdError(err)
	}
	out := &weirv1.ListAppsResponse{}
	for _, name := range cluster.SortedKeys(heads) {
		st, err := cluster.ReadApp(ctx, s.cfg.KV, s.cfg.Layout, name)
		if err != nil {
			return nil, etcdError(err)
		}
		if st.Head == nil {
			continue // deleted meanwhile
		}
		out.Apps = append(out.Apps, summary(name, st))
	}
	return connect.NewResponse(out), nil
}

func summary(name string, st cluster.AppState) *weirv1.QueryApp {
	a := &weirv1.QueryApp{Name: name, Version: st.Head.Version, UpdatedAt: timestamppb.New(st.Head.UpdatedAt)}
	if st.Topology != nil {
		a.Tasks = int32(len(st.Topology.Tasks()))
	}
	if st.Current != nil {
		var d struct {
			Description string `json:"description"`
		}
		if json.Unmarshal(st.Current.Normalized, &d) == nil {
			a.Description = d.Description
		}
	}
	return a
}

// DescribeApp returns an app's current definition, its history and its topology.
func (s *Service) DescribeApp(ctx context.Context, req *connect.Request[weirv1.DescribeAppRequest]) (*connect.Response[weirv1.DescribeAppResponse], error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	name := req.Msg.GetApp()
	if name == "" {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("app is required"))
	}
	st, err := cluster.ReadApp(ctx, s.cfg.KV, s.cfg.Layout, name)
	if err != nil {
		return nil, etcdError(err)
	}
	if st.Head == nil || st.Current == nil {
		return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("app %q: %w", name, apps.ErrNoApp))
	}
	versions, err := cluster.ReadAppVersions(ctx, s.cfg.KV, s.cfg.Layout, name)
	if err != nil {
		return nil, etcdError(err)
	}
	cur := st.Current
	out := &weirv1.DescribeAppResponse{App: summary(name, st), NormalizedJson: string(cur.Normalized), Source: map[string]string{}}
	for _, f := range cur.Files {
		out.Source[f.Name] = f.Content
	}
	for _, v := range versions {
		out.History = append(out.History, &weirv1.QueryAppVersion{Version: v.Version, CreatedAt: timestamppb.New(v.CreatedAt),
			Author: v.Author, Origin: v.Origin, Digest: v.Digest, ResetState: v.ResetState})
	}
	topo, err := apps.DecodeTopology(cur.Normalized)
	if err != nil {
		return nil, connect.NewError(connect.CodeInternal, err)
	}
	for _, n := range topo.Nodes {
		out.Nodes = append(out.Nodes, &weirv1.TopologyNode{Id: n.ID, Kind: n.Kind, Name: n.Name, Detail: n.Detail})
	}
	for _, e := range topo.Edges {
		out.Edges = append(out.Edges, &weirv1.TopologyEdge{From: e.From, To: e.To, Label: e.Label})
	}
	cat, err := cur.Catalog()
	if err != nil {
		return nil, connect.NewError(connect.CodeInternal, err)
	}
	for _, name := range cluster.SortedKeys(cat.Tables) {
		r := cat.Tables[name]
		t := &weirv1.QueryTable{Name: r.Table, KeyType: r.KeyType, ValueType: r.ValueType, Global: r.Global,
			Group: r.Group, Partitions: int32(r.Partitions)}
		if r.Window != nil {
			t.Window = r.Window.String()
		}
		out.Tables = append(out.Tables, t)
	}
	var groups struct {
		TaskGroups []struct {
			Name       string   `json:"name"`
			Partitions int      `json:"partitions"`
			Agents     []string `json:"agents"`
			Tables     []string `json:"tables"`
			Changelog  string   `json:"changelog"`
		} `json:"task_groups"`
	}
	if err := json.Unmarshal(cur.Normalized, &groups); err != nil {
		return nil, connect.NewError(connect.CodeInternal, fmt.Errorf("decoding the task groups of app %q: %w", name, err))
	}
	for _, g := range groups.TaskGroups {
		out.Groups = append(out.Groups, &weirv1.QueryTaskGroup{Name: g.Name, Partitions: int32(g.Partitions),
			Agents: g.Agents, Tables: g.Tables, Changelog: g.Changelog})
	}
	return connect.NewResponse(out), nil
}

// ListWorkers lists the registered workers with the tasks their status records report.
func (s *Service) ListWorkers(ctx context.Context, _ *connect.Request[weirv1.ListWorkersRequest]) (*connect.Response[weirv1.ListWorkersResponse], error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	ws, err := cluster.ReadWorkers(ctx, s.cfg.KV, s.cfg.Layout)
	if err != nil {
		return nil, etcdError(err)
	}
	sts, err := cluster.ReadStatuses(ctx, s.cfg.KV, s.cfg.Layout)
	if err != nil {
		return nil, etcdError(err)
	}
	out := &weirv1.ListWorkersResponse{}
	for _, id := range cluster.SortedKeys(ws) {
		w := ws[id]
		out.Workers = append(out.Workers, &weirv1.WorkerInfo{Id: id, Addr: w.Addr, Zone: w.Zone, Version: w.Version,
			Capacity: int32(w.Capacity), Draining: w.Draining, Stopped: w.Stopped, Tasks: health.StatusTasks(sts[id])})
	}
	return connect.NewResponse(out), nil
}

// GetAssignment lists the tasks of one app (every app when none is named).
func (s *Service) GetAssignment(ctx context.Context, req *connect.Request[weirv1.GetAssignmentRequest]) (*connect.Response[weirv1.GetAssignmentResponse], error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	var (
		as  cluster.Assignments
		err error
	)
	if app := req.Msg.GetApp(); app != "" {
		as, err = cluster.ReadAssignments(ctx, s.cfg.KV, s.cfg.Layout, app)
	} else {
		as, err = cluster.ReadAllAssignments(ctx, s.cfg.KV, s.cfg.Layout)
	}
	if err != nil {
		return nil, etcdError(err)
	}
	ws, err := cluster.ReadWorkers(ctx, s.cfg.KV, s.cfg.Layout)
	if err != nil {
		return nil, etcdError(err)
	}
	out := &weirv1.GetAssignmentResponse{}
	for t, a := range as.Tasks {
		out.Tasks = append(out.Tasks, &weirv1.TaskAssignment{App: t.App, Group: t.Group, Partition: int32(t.Partition),
			Active: a.Active, ActiveAddr: ws[a.Active].Addr, Epoch: a.Epoch, Standbys: a.Standbys, Warmups: a.Warmups, State: string(a.State)})
	}
	slices.SortFunc(out.Tasks, func(a, b *weirv1.TaskAssignment) int {
		return cluster.TaskKey{App: a.App, Group: a.Group, Partition: int(a.Partition)}.Compare(
			cluster.TaskKey{App: b.App, Group: b.Group, Partition: int(b.Partition)})
	})
	return connect.NewResponse(out), nil
}

// ClusterHealth aggregates the controllers and the workers' live figures.
func (s *Service) ClusterHealth(ctx context.Context, _ *connect.Request[weirv1.ClusterHealthRequest]) (*connect.Response[weirv1.ClusterHealthResponse], error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	h, err := s.cfg.Health.Health(ctx)
	if err != nil {
		return nil, etcdError(err)
	}
	return connect.NewResponse(h), nil
}
