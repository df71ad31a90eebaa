package tableservice

import (
	"context"
	"slices"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	weirv1 "github.com/weirhq/weir/gen/weir/v1"
	"github.com/weirhq/weir/gen/weir/v1/weirv1connect"
	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/libs/tables"
)

// Stats is what the runtime reports through GetStats.
type Stats struct {
	Tasks []TaskStats
	// Globals lists the worker's global table copies; when empty, the registered ones are
	// reported with their Lag.
	Globals []GlobalStats
}

// TaskStats is one replica the worker holds.
type TaskStats struct {
	Task  cluster.TaskKey
	Role  cluster.Role
	State cluster.ReplicaState
	Epoch int64
	// Lag: input records behind for an active, changelog records behind for a standby.
	Lag int64
	// RecordsPerSecond is the recent input throughput of an active.
	RecordsPerSecond float64
	// Restore is the recovery progress (tables.Task.Progress), nil when not restoring.
	Restore *tables.Progress
	// Stalled, when set, says why the replica makes no progress.
	Stalled string
}

// GlobalStats is one global table copy.
type GlobalStats struct {
	App, Table string
	Lag        int64
}

// statsHandler implements weir.v1.WorkerService.
type statsHandler struct{ s *Service }

var _ weirv1connect.WorkerServiceHandler = statsHandler{}

func (h statsHandler) GetStats(ctx context.Context, _ *connect.Request[weirv1.GetStatsRequest]) (*connect.Response[weirv1.GetStatsResponse], error) {
	var st Stats
	if h.s.cfg.Stats != nil {
		var err error
		if st, err = h.s.cfg.Stats(ctx); err != nil {
			return nil, connect.NewError(connect.CodeUnavailable, err)
		}
	}
	if len(st.Globals) == 0 {
		h.s.mu.RLock()
		for k, g := range h.s.globals {
			st.Globals = append(st.Globals, GlobalStats{App: k.app, Table: k.table, Lag: g.Lag()})
		}
		h.s.mu.RUnlock()
	}
	resp := &weirv1.GetStatsResponse{Worker: h.s.cfg.Worker, Version: h.s.cfg.Version, At: timestamppb.Now()}
	for _, t := range st.Tasks {
		resp.Tasks = append(resp.Tasks, TaskStatsProto(t))
	}
	slices.SortFunc(resp.Tasks, func(a, b *weirv1.TaskStats) int {
		return cluster.TaskKey{App: a.App, Group: a.Group, Partition: int(a.Partition)}.Compare(
			cluster.TaskKey{App: b.App, Group: b.Group, Partition: int(b.Partition)})
	})
	for _, g := range st.Globals {
		resp.Globals = append(resp.Globals, &weirv1.GlobalTableStats{App: g.App, Table: g.Table, Lag: g.Lag})
	}
	slices.SortFunc(resp.Globals, func(a, b *weirv1.GlobalTableStats) int {
		return strings.Compare(a.App+"\x00"+a.Table, b.App+"\x00"+b.Table)
	})
	return connect.NewResponse(resp), nil
}

// TaskStatsProto converts one replica's figures to the wire form.
func TaskStatsProto(t TaskStats) *weirv1.TaskStats {
	out := &weirv1.TaskStats{App: t.Task.App, Group: t.Task.Group, Partition: int32(t.Task.Partition),
		Role: string(t.Role), State: string(t.State), Epoch: t.Epoch, Lag: t.Lag,
		RecordsPerSecond: t.RecordsPerSecond, Stalled: t.Stalled}
	if p := t.Restore; p != nil {
		out.Restore = &weirv1.RestoreProgress{Phase: p.Phase, Position: p.Position, Target: p.Target,
			Restored: p.Restored, Remaining: p.Remaining, Rate: p.Rate, EtaSeconds: p.ETA.Round(time.Millisecond).Seconds()}
	}
	return out
}
