package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/weirhq/weir/libs/agents"
	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/libs/tables"
	"github.com/weirhq/weir/libs/topics"
	"github.com/weirhq/weir/services/worker/tasks"
)

// Config configures a Runtime.
type Config struct {
	WorkerID string
	Store    *tables.Store
	Kafka    topics.ClientConfig
	Etcd     *clientv3.Client
	Layout   cluster.Layout
	// Handlers are the Go handlers compiled into this worker binary.
	Handlers agents.Handlers
	// A commit happens every CommitInterval (100 ms), or after CommitRecords records
	// (10 000), or when CommitBytes of table changes are pending (1 MiB), whichever is first.
	CommitInterval time.Duration
	CommitRecords  int
	CommitBytes    int
	// IdleMarker is how often an idle active still appends a small marker (1 s).
	IdleMarker time.Duration
	// OnAppVersion, if set, is called with each app version the worker starts running (the
	// table service learns the app's tables from it).
	OnAppVersion func(cluster.AppVersion)
	Logger       *slog.Logger
	// Metrics, if set, registers the runtime's Prometheus collectors (the worker's /metrics).
	Metrics prometheus.Registerer
	// StallTimeout is how long an active may have lag and process nothing before the stall
	// watchdog reports it and restarts it from its last commit (60 s); StallCheck is how
	// often the watchdog looks (StallTimeout/10, at most 1 s).
	StallTimeout time.Duration
	StallCheck   time.Duration
	// PurgeInterval is how often an active deletes the records of its repartition topics it
	// has consumed and committed (5 s).
	PurgeInterval time.Duration
	// OnGlobalTable, if set, is called with each global table copy the worker starts keeping
	// (the table service serves queries from it).
	OnGlobalTable func(*GlobalTable)
}

func (c *Config) withDefaults() {
	if c.CommitInterval <= 0 {
		c.CommitInterval = 100 * time.Millisecond
	}
	if c.CommitRecords <= 0 {
		c.CommitRecords = 10000
	}
	if c.CommitBytes <= 0 {
		c.CommitBytes = 1 << 20
	}
	if c.IdleMarker <= 0 {
		c.IdleMarker = time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.StallTimeout <= 0 {
		c.StallTimeout = time.Minute
	}
	if c.PurgeInterval <= 0 {
		c.PurgeInterval = 5 * time.Second
	}
	if c.StallCheck <= 0 {
		c.StallCheck = min(c.StallTimeout/10, time.Second)
	}
}

// Runtime is the worker's tasks.Body. Its methods are safe for concurrent use by the
// membership's task manager (one goroutine per replica).
type Runtime struct {
	cfg      Config
	log      *slog.Logger
	producer *topics.Producer
	admin    *topics.Admin
	kafka    tables.Kafka
	apps     *appCache
	obs      *metrics
	wtimers  *workerTimers
	ctx      context.Context // ends with Close: owns the every_worker timers and the global followers
	stop     context.CancelFunc
	globals  globals

	mu     sync.Mutex
	stalls map[cluster.TaskKey]string  // why a task last stalled, until it makes progress
	state  stateSources                // tables metrics of the replicas, for /metrics
	parked map[cluster.TaskKey]*active // stopped actives awaiting Release
	status map[cluster.TaskKey]TaskStatus
}

var _ tasks.Body = (*Runtime)(nil)

// New returns a runtime; Close releases its Kafka clients.
func New(cfg Config) (*Runtime, error) {
	cfg.withDefaults()
	var errs []error
	if cfg.WorkerID == "" {
		errs = append(errs, errors.New("worker id is empty"))
	}
	if cfg.Store == nil {
		errs = append(errs, errors.New("no table store"))
	}
	if cfg.Etcd == nil {
		errs = append(errs, errors.New("no etcd client"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("creating the worker runtime: %w", err)
	}
	p, err := topics.NewProducer(topics.ProducerConfig{ClientConfig: cfg.Kafka})
	if err != nil {
		return nil, fmt.Errorf("creating the worker runtime: %w", err)
	}
	a, err := topics.NewAdmin(cfg.Kafka)
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("creating the worker runtime: %w", err)
	}
	ctx, stop := context.WithCancel(context.Background())
	rt := &Runtime{
		globals:  globals{byKey: map[string]*GlobalTable{}},
		cfg:      cfg,
		log:      cfg.Logger.With("component", "runtime"),
		producer: p,
		admin:    a,
		kafka:    tables.Kafka{Producer: p, Admin: a, Consumer: topics.ConsumerConfig{ClientConfig: cfg.Kafka, Logger: cfg.Logger}},
		apps:     newAppCache(cfg.Etcd, cfg.Layout, cfg.Handlers, cfg.OnAppVersion),
		parked:   map[cluster.TaskKey]*active{},
		status:   map[cluster.TaskKey]TaskStatus{},
		obs:      newMetrics(cfg.Metrics),
		ctx:      ctx,
		stop:     stop,
		stalls:   map[cluster.TaskKey]string{},
		state:    stateSources{live: map[cluster.TaskKey]stateSource{}, retired: map[stateKey]tables.Metrics{}},
	}
	if cfg.Metrics != nil {
		cfg.Metrics.MustRegister(stateCollector{rt})
	}
	rt.wtimers = &workerTimers{rt: rt, apps: map[string]*appTimers{}}
	return rt, nil
}

// Close stops the global table followers, closes parked tasks and flushes and closes the
// runtime's producer.
func (rt *Runtime) Close() error {
	rt.stop()
	rt.wtimers.wg.Wait()
	rt.globals.wait()
	rt.mu.Lock()
	parked := rt.parked
	rt.parked = map[cluster.TaskKey]*active{}
	rt.mu.Unlock()
	for _, a := range parked {
		a.task.Close()
	}
	return rt.producer.Close()
}

// Run runs one replica until ctx ends or it fails.
func (rt *Runtime) Run(ctx context.Context, r tasks.Replica) error {
	defer rt.clearStatus(r.Task)
	defer rt.forgetState(r.Task)
	switch r.Role {
	case cluster.RoleActive:
		return rt.runActive(ctx, r)
	case cluster.RoleStandby, cluster.RoleWarmup:
		return rt.runStandby(ctx, r)
	}
	return fmt.Errorf("running task %s: unknown role %q", r.Task, r.Role)
}

// Release makes the final commit of an active whose Run stopped for a handoff (or a drain)
// and returns where the next active starts: the input positions and the changelog end.
func (rt *Runtime) Release(ctx context.Context, r tasks.Replica) (cluster.Checkpoint, error) {
	rt.mu.Lock()
	a, ok := rt.parked[r.Task]
	delete(rt.parked, r.Task)
	rt.mu.Unlock()
	if !ok {
		return rt.releaseCold(ctx, r)
	}
	defer a.task.Close()
	a.r = r
	a.released = true // the final commit reports nothing: the replica is on its way out
	if err := a.commit(ctx, true); err != nil {
		return cluster.Checkpoint{}, fmt.Errorf("final commit of task %s: %w", r.Task, err)
	}
	cp := a.checkpoint()
	a.log.Info("task released after its final commit", "changelog_end", cp.ChangelogEnd, "processed", a.processed)
	return cp, nil
}

// releaseCold releases an active that is not parked here: its run failed (or had not opened
// the task yet) when the handoff stopped it, say while it waited to restart. Its last commit
// is in the changelog, so it opens the task at its epoch as a restart would (restore, fence)
// and releases at what that commit recorded: the input positions of the last commit and the
// changelog's end. Without this the handoff would wait for the controller's timeout.
func (rt *Runtime) releaseCold(ctx context.Context, r tasks.Replica) (cluster.Checkpoint, error) {
	if !r.Alive() {
		return cluster.Checkpoint{}, fmt.Errorf("releasing task %s: %w", r.Task, errLeaseLost)
	}
	plan, _, err := rt.apps.plan(ctx, r.Task.App)
	if err != nil {
		return cluster.Checkpoint{}, fmt.Errorf("releasing task %s: %w", r.Task, err)
	}
	g, err := group(plan, r.Task.Group)
	if err != nil {
		return cluster.Checkpoint{}, fmt.Errorf("releasing task %s: %w", r.Task, err)
	}
	log := rt.log.With("task", r.Task.String(), "epoch", r.Epoch)
	task, err := rt.openTask(ctx, r, plan, g, log)
	if err != nil {
		return cluster.Checkpoint{}, fmt.Errorf("releasing task %s: opening it: %w", r.Task, err)
	}
	defer task.Close()
	if !r.Alive() { // the restore may have taken a while
		return cluster.Checkpoint{}, fmt.Errorf("releasing task %s: %w", r.Task, errLeaseLost)
	}
	cp := cluster.Checkpoint{Positions: map[string]int64{}, ChangelogEnd: task.EndOffset()}
	for tp, off := range task.Positions() {
		cp.Positions[tp.String()] = off
	}
	log.Info("task released from its last commit (it was not running)", "changelog_end", cp.ChangelogEnd)
	return cp, nil
}

// park keeps a stopped active's state until Release or a later run of the task.
func (rt *Runtime) park(t cluster.TaskKey, a *active) {
	rt.mu.Lock()
	prev := rt.parked[t]
	rt.parked[t] = a
	rt.mu.Unlock()
	if prev != nil {
		prev.task.Close()
	}
}

// closeParked drops a parked active that will not be released.
func (rt *Runtime) closeParked(t cluster.TaskKey) {
	rt.mu.Lock()
	a := rt.parked[t]
	delete(rt.parked, t)
	rt.mu.Unlock()
	if a != nil {
		a.task.Close()
	}
}

// TaskStatus is what the runtime knows of one replica, for stats and queries.
type TaskStatus struct {
	Task      cluster.TaskKey
	Role      cluster.Role
	State     cluster.ReplicaState
	Epoch     int64
	Lag       int64
	Processed int64
	Version   int64 // app version the task runs
	Changelog string
	Stalled   string // why the task last stalled, until it makes progress again
}

// Status lists the replicas this worker runs.
func (rt *Runtime) Status() []TaskStatus {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	out := make([]TaskStatus, 0, len(rt.status))
	for _, s := range rt.status {
		out = append(out, s)
	}
	return out
}

func (rt *Runtime) setStatus(s TaskStatus) {
	rt.mu.Lock()
	if s.Stalled == "" {
		s.Stalled = rt.stalls[s.Task] // reported until the task progresses again
	}
	rt.status[s.Task] = s
	rt.mu.Unlock()
}

// stalledReason returns why the task last stalled, forgetting it once the task progressed.
func (rt *Runtime) stalledReason(t cluster.TaskKey, progressed bool) string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if progressed {
		delete(rt.stalls, t)
	}
	return rt.stalls[t]
}

func (rt *Runtime) clearStatus(t cluster.TaskKey) {
	rt.mu.Lock()
	delete(rt.status, t)
	rt.mu.Unlock()
}

// Owns reports whether this worker holds the task's replica in a state that can answer
// reads: an active once restored and running, a standby or warm-up once following.
func (rt *Runtime) Owns(app, group string, partition int) (cluster.Role, int64, int64, bool) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	s, ok := rt.status[cluster.TaskKey{App: app, Group: group, Partition: partition}]
	if !ok || (s.State != cluster.Running && s.State != cluster.Following) {
		return "", 0, 0, false
	}
	return s.Role, s.Epoch, max(s.Lag, 0), true
}
