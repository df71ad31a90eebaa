package bench

import (
	"context"
	"fmt"
	"io"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/services/controller/assign"
)

// AssignConfig sizes the assignment benchmark.
type AssignConfig struct {
	Etcd        []string // endpoints
	Prefix      string   // unique etcd prefix; deleted afterwards
	Apps        int
	Partitions  int // per app
	Workers     int
	Standbys    int
	Concurrency int // etcd transactions in flight
}

// RunAssign times a full assignment from scratch, the recomputation after one worker joins,
// and publishing the full assignment to etcd through libs/cluster, then prints one line:
// partitions= workers= full_ms= join_ms= join_moves= etcd_write_ms=.
func RunAssign(ctx context.Context, cfg AssignConfig, out io.Writer) error {
	in := assignInput(cfg)
	start := time.Now()
	full, err := assign.Compute(in)
	if err != nil {
		return err
	}
	fullTime := time.Since(start)

	in.Previous = full.Assignment
	in.Workers = append(in.Workers, benchWorker(cfg.Workers))
	start = time.Now()
	joined, err := assign.Compute(in)
	if err != nil {
		return err
	}
	joinTime := time.Since(start)

	writeTime, err := publishAssignment(ctx, cfg, full.Assignment)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "partitions=%d workers=%d full_ms=%.1f join_ms=%.1f join_moves=%d etcd_write_ms=%.0f\n",
		len(in.Tasks), cfg.Workers, ms(fullTime), ms(joinTime), len(joined.Moves), ms(writeTime))
	return err
}

func assignInput(cfg AssignConfig) assign.Input {
	in := assign.Input{Standbys: cfg.Standbys}
	for a := range cfg.Apps {
		for p := range cfg.Partitions {
			in.Tasks = append(in.Tasks, assign.Task{ID: assign.TaskID{App: fmt.Sprintf("app%03d", a), Group: "main", Partition: p}})
		}
	}
	for i := range cfg.Workers {
		in.Workers = append(in.Workers, benchWorker(i))
	}
	return in
}

// benchWorker is worker i: capacities 1–4 and zones z0–z2 in turn.
func benchWorker(i int) assign.Worker {
	return assign.Worker{ID: fmt.Sprintf("w%04d", i), Capacity: 1 + i%4, Zone: fmt.Sprintf("z%d", i%3), Alive: true}
}

func publishAssignment(ctx context.Context, cfg AssignConfig, tasks []assign.TaskAssignment) (time.Duration, error) {
	cli, err := clientv3.New(clientv3.Config{Endpoints: cfg.Etcd, DialTimeout: 5 * time.Second, Context: ctx})
	if err != nil {
		return 0, fmt.Errorf("connecting to etcd: %w", err)
	}
	defer cli.Close()
	layout := cluster.Layout{Prefix: cfg.Prefix}
	defer func() {
		cleanup, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		cli.Delete(cleanup, layout.All(), clientv3.WithPrefix())
	}()

	next := make(map[cluster.TaskKey]cluster.Assignment, len(tasks))
	for _, a := range tasks {
		next[cluster.TaskKey{App: a.Task.App, Group: a.Task.Group, Partition: a.Task.Partition}] =
			cluster.Assignment{Active: a.Active, Standbys: a.Standbys, Warmups: a.Warmups, State: cluster.Stable}
	}
	p := &cluster.Publisher{KV: cli, Layout: layout, Concurrency: cfg.Concurrency}
	updates := cluster.Diff(nil, next)
	start := time.Now()
	if _, err := p.Publish(ctx, updates); err != nil {
		return 0, fmt.Errorf("writing the assignment to etcd: %w", err)
	}
	return time.Since(start), nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
