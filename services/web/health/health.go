// Package health aggregates the cluster's health for the web service: the controllers (who
// leads, from the election in etcd), the workers (registered, reachable, their tasks with
// live lag and throughput pulled from each over Connect) and the tasks without an owner.
package health

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/types/known/timestamppb"

	weirv1 "github.com/weirhq/weir/gen/weir/v1"
	"github.com/weirhq/weir/gen/weir/v1/weirv1connect"
	"github.com/weirhq/weir/libs/cluster"
)

// StatsClients returns the WorkerService client of a worker address.
type StatsClients interface {
	Stats(addr string) weirv1connect.WorkerServiceClient
}

// Aggregator builds ClusterHealth answers. Safe for concurrent use.
type Aggregator struct {
	KV      clientv3.KV
	Layout  cluster.Layout
	Clients StatsClients
	// Timeout bounds each worker's GetStats (1 s when zero); a slower worker is reported
	// unreachable with its status record's figures.
	Timeout time.Duration
}

// Health reads the cluster and asks every worker for its live figures.
func (a *Aggregator) Health(ctx context.Context) (*weirv1.ClusterHealthResponse, error) {
	ctrls, err := cluster.ReadControllers(ctx, a.KV, a.Layout)
	if err != nil {
		return nil, err
	}
	leader, err := cluster.ReadLeader(ctx, a.KV, a.Layout)
	if err != nil {
		return nil, err
	}
	workers, err := cluster.ReadWorkers(ctx, a.KV, a.Layout)
	if err != nil {
		return nil, err
	}
	statuses, err := cluster.ReadStatuses(ctx, a.KV, a.Layout)
	if err != nil {
		return nil, err
	}
	unassigned, err := a.unassigned(ctx)
	if err != nil {
		return nil, err
	}
	resp := &weirv1.ClusterHealthResponse{Leader: leader, At: timestamppb.Now()}
	for _, c := range ctrls {
		resp.Controllers = append(resp.Controllers, &weirv1.ControllerHealth{Id: c.ID, Addr: c.Addr, Version: c.Version,
			Leader: c.ID == leader, StartedAt: timestamppb.New(c.StartedAt)})
	}
	slices.SortFunc(resp.Controllers, func(x, y *weirv1.ControllerHealth) int { return strings.Compare(x.Id, y.Id) })
	if leader == "" {
		resp.Problems = append(resp.Problems, "no controller leads: apps cannot be applied and tasks are not reassigned")
	}

	ids := cluster.SortedKeys(workers)
	resp.Workers = make([]*weirv1.WorkerHealth, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() { resp.Workers[i] = a.worker(ctx, workers[id], statuses[id]) })
	}
	wg.Wait()
	for _, w := range resp.Workers {
		if !w.Reachable {
			resp.Problems = append(resp.Problems, fmt.Sprintf("worker %s at %s does not answer: %s", w.Id, w.Addr, w.Error))
		}
		if w.Draining {
			resp.Problems = append(resp.Problems, fmt.Sprintf("worker %s is draining", w.Id))
		}
	}
	resp.UnassignedTasks = int32(len(unassigned))
	for i, t := range unassigned {
		if i == 5 {
			resp.Problems = append(resp.Problems, fmt.Sprintf("... and %d more tasks without an active owner", len(unassigned)-5))
			break
		}
		resp.Problems = append(resp.Problems, fmt.Sprintf("task %s has no active owner", t))
	}
	resp.Healthy = len(resp.Problems) == 0
	return resp, nil
}

// worker pulls one worker's live figures, falling back to its status record.
func (a *Aggregator) worker(ctx context.Context, rec cluster.WorkerRecord, st cluster.WorkerStatus) *weirv1.WorkerHealth {
	w := &weirv1.WorkerHealth{Id: rec.ID, Addr: rec.Addr, Version: rec.Version, Alive: true, Draining: rec.Draining}
	timeout := a.Timeout
	if timeout <= 0 {
		timeout = time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := a.Clients.Stats(rec.Addr).GetStats(ctx, connect.NewRequest(&weirv1.GetStatsRequest{}))
	if err != nil {
		w.Error = err.Error()
		w.Tasks = StatusTasks(st)
	} else {
		w.Reachable = true
		w.Tasks, w.Globals = resp.Msg.GetTasks(), resp.Msg.GetGlobals()
		if v := resp.Msg.GetVersion(); v != "" {
			w.Version = v
		}
	}
	for _, t := range w.Tasks {
		if t.Role == string(cluster.RoleActive) {
			w.ActiveTasks++
		} else {
			w.StandbyTasks++
		}
	}
	return w
}

// StatusTasks converts a worker's status record (etcd) to task figures.
func StatusTasks(st cluster.WorkerStatus) []*weirv1.TaskStats {
	var out []*weirv1.TaskStats
	for _, t := range st.Tasks {
		out = append(out, &weirv1.TaskStats{App: t.Task.App, Group: t.Task.Group, Partition: int32(t.Task.Partition),
			Role: string(t.Role), State: string(t.State), Epoch: t.Epoch, Lag: t.Lag})
	}
	return out
}

// unassigned lists the tasks of every app's topology that have no active owner.
func (a *Aggregator) unassigned(ctx context.Context) ([]cluster.TaskKey, error) {
	resp, err := a.KV.Get(ctx, a.Layout.AppsPrefix(), clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("reading apps: %w", err)
	}
	assigned := map[cluster.TaskKey]bool{}
	var topos []cluster.Topology
	for _, kv := range resp.Kvs {
		kind, _, t, err := a.Layout.ParseAppKey(string(kv.Key))
		if err != nil {
			continue
		}
		switch kind {
		case cluster.TopologyKey:
			if tp, err := cluster.DecodeTopology(kv.Value); err == nil {
				topos = append(topos, tp)
			}
		case cluster.AssignmentKey:
			if as, err := cluster.DecodeAssignment(kv.Value, kv.ModRevision); err == nil && as.Active != "" {
				assigned[t] = true
			}
		}
	}
	var out []cluster.TaskKey
	for _, tp := range topos {
		for _, t := range tp.Tasks() {
			if !assigned[t] {
				out = append(out, t)
			}
		}
	}
	return out, nil
}
