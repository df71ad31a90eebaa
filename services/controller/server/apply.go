package server

import (
	"context"
	"fmt"

	"connectrpc.com/connect"
	clientv3 "go.etcd.io/etcd/client/v3"

	weirv1 "github.com/weirhq/weir/gen/weir/v1"
	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/services/controller/plan"
)

// Plan says what Apply would do; any controller answers it.
func (s *Service) Plan(ctx context.Context, req *connect.Request[weirv1.PlanRequest]) (*connect.Response[weirv1.PlanResponse], error) {
	p, _, err := parse(sourceFromProto(req.Msg.GetSource()))
	if err != nil {
		return nil, err
	}
	st, err := cluster.ReadApp(ctx, s.cfg.Etcd, s.cfg.Layout, p.App.Name)
	if err != nil {
		return nil, s.rpcError(err)
	}
	pl, err := s.plan(ctx, st, p, req.Msg.GetResetState())
	if err != nil {
		return nil, s.rpcError(err)
	}
	return connect.NewResponse(&weirv1.PlanResponse{Plan: pl}), nil
}

// Apply provisions the app's topics and stores it as a new version.
func (s *Service) Apply(ctx context.Context, req *connect.Request[weirv1.ApplyRequest]) (*connect.Response[weirv1.ApplyResponse], error) {
	m := req.Msg
	res, err := s.apply(ctx, sourceFromProto(m.GetSource()), m.GetResetState(), m.GetAuthor(), "apply")
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&weirv1.ApplyResponse{Plan: res.plan, Version: versionProto(res.version, true), Created: res.created}), nil
}

// Rollback applies a stored version again, as a new version.
func (s *Service) Rollback(ctx context.Context, req *connect.Request[weirv1.RollbackRequest]) (*connect.Response[weirv1.RollbackResponse], error) {
	m := req.Msg
	if m.GetApp() == "" {
		return nil, invalid("app is required")
	}
	if m.GetVersion() < 1 {
		return nil, invalid("version must be 1 or more, got %d", m.GetVersion())
	}
	old, err := cluster.ReadAppVersion(ctx, s.cfg.Etcd, s.cfg.Layout, m.GetApp(), m.GetVersion())
	if err != nil {
		return nil, s.rpcError(err)
	}
	res, err := s.apply(ctx, sourceOf(old), m.GetResetState(), m.GetAuthor(), fmt.Sprintf("rollback to %d", old.Version))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&weirv1.RollbackResponse{Plan: res.plan, Version: versionProto(res.version, true), Created: res.created}), nil
}

type applied struct {
	plan    *weirv1.Plan
	version cluster.AppVersion
	created bool
}

// plan computes the plan of applying p over the app's state st.
func (s *Service) plan(ctx context.Context, st cluster.AppState, p *parsed, resetState bool) (*weirv1.Plan, error) {
	existing, err := s.existingTopics(ctx, plan.Topics(p.App))
	if err != nil {
		return nil, err
	}
	in := plan.Input{Next: p.App, NextJSON: p.Normalized, Existing: existing, ResetState: resetState}
	if st.Current != nil {
		in.CurrentVersion, in.Current = st.Current.Version, st.Current.Normalized
	}
	return plan.Make(in)
}

// apply is Apply and Rollback: plan, refuse or provision, wipe state if the plan says so,
// then store the version, its topology and (after a wipe) the raised epoch floor in one
// guarded transaction.
func (s *Service) apply(ctx context.Context, src source, resetState bool, author, origin string) (applied, error) {
	guard, err := s.leaderGuard()
	if err != nil {
		return applied{}, err
	}
	p, _, err := parse(src)
	if err != nil {
		return applied{}, err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	name := p.App.Name
	st, err := cluster.ReadApp(ctx, s.cfg.Etcd, s.cfg.Layout, name)
	if err != nil {
		return applied{}, s.rpcError(err)
	}
	pl, err := s.plan(ctx, st, p, resetState)
	if err != nil {
		return applied{}, s.rpcError(err)
	}
	if !pl.Allowed {
		return applied{}, planRefused(pl)
	}
	if pl.NoChanges {
		return applied{plan: pl, version: *st.Current}, nil
	}
	log := s.cfg.Log.With("app", name)

	var floorOps []clientv3.Op
	if pl.ResetsState {
		w := &wipe{s: s, app: name, guard: guard, headRev: st.HeadRev, log: log}
		ops, _, _, err := w.run(ctx, st, plan.Topics(p.App), "apply with --reset-state", false, true, false, nil)
		if err != nil {
			return applied{}, s.rpcError(err)
		}
		floorOps = ops
	} else {
		if err := s.ensureTopics(ctx, plan.Topics(p.App)); err != nil {
			return applied{}, s.rpcError(err)
		}
	}
	if !pl.DefinitionChanged && !pl.ResetsState {
		log.Info("topics fixed; definition unchanged", "version", st.Current.Version)
		return applied{plan: pl, version: *st.Current}, nil
	}

	if author == "" {
		author = "unknown"
	}
	v := cluster.AppVersion{
		App: name, Version: st.LastNumber + 1, CreatedAt: s.cfg.Now().UTC(), Author: author, Origin: origin,
		Files: src.Files, Vars: src.Vars, VarFiles: src.VarFiles, Normalized: p.Normalized, Digest: p.Digest,
		ResetState: pl.ResetsState,
	}
	ops, err := s.cfg.Layout.PutVersionOps(v)
	if err != nil {
		return applied{}, s.rpcError(err)
	}
	topo, err := s.cfg.Layout.PutTopologyOp(topology(p))
	if err != nil {
		return applied{}, s.rpcError(err)
	}
	ops = append(append(ops, topo), floorOps...)
	if _, err := cluster.CommitApp(ctx, s.cfg.Etcd, s.cfg.Layout, guard, cluster.AppWrite{App: name, HeadRev: st.HeadRev, Ops: ops}); err != nil {
		return applied{}, s.rpcError(err)
	}
	log.Info("applied", "version", v.Version, "author", author, "origin", origin, "reset_state", pl.ResetsState)
	return applied{plan: pl, version: v, created: true}, nil
}

// planRefused is the error of an apply the plan does not allow; the plan is its detail.
func planRefused(pl *weirv1.Plan) error {
	err := refused("apply refused:\n%s", pl.Text)
	if d, derr := connect.NewErrorDetail(pl); derr == nil {
		err.AddDetail(d)
	}
	return err
}

// topology is what the assignment loop assigns for the app.
func topology(p *parsed) cluster.Topology {
	t := cluster.Topology{App: p.App.Name, Standbys: p.App.StandbyReplicas}
	for _, g := range p.App.TaskGroups() {
		t.Groups = append(t.Groups, cluster.Group{Name: g.Name, Partitions: g.Partitions})
	}
	return t
}
