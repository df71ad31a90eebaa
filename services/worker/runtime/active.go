package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"time"

	"github.com/weirhq/weir/libs/agents"
	"github.com/weirhq/weir/libs/agents/pipeline"
	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/libs/config/app"
	"github.com/weirhq/weir/libs/failpoint"
	"github.com/weirhq/weir/libs/tables"
	"github.com/weirhq/weir/libs/topics"
	"github.com/weirhq/weir/services/worker/tasks"
)

// errNewVersion ends an active run so that it starts again on the app's new version; the
// switch happens right after a commit, so no record is processed twice or skipped across it.
var errNewVersion = errors.New("the app has a new version")

// active is one running active replica.
type active struct {
	rt        *Runtime
	r         tasks.Replica
	log       *slog.Logger
	plan      *pipeline.Plan
	version   int64
	group     string
	changelog string
	task      *tables.Task
	exec      *pipeline.Task
	emit      *emitter
	consumer  *topics.Consumer
	positions map[topics.TopicPartition]int64
	obs       *taskObs
	timers    *taskTimers // the app's one_worker timers, when this task runs them
	prog      progress
	purge     *purger       // deletes consumed records of the group's repartition topics
	dedup     *agents.Dedup // drops replays of Weir-emitted inputs; marks committed in the marker

	pending     int       // records processed since the last commit
	processed   int64     // records processed by this run
	offsetsOld  bool      // positions moved since the last consumer-group offset commit
	lastCommit  time.Time // last commit or marker
	lastOffsets time.Time // last consumer-group offset commit
	lastVersion time.Time // last check for a new app version
	released    bool      // set by Release: no more status reports
}

func (rt *Runtime) runActive(ctx context.Context, r tasks.Replica) error {
	log := rt.log.With("task", r.Task.String(), "epoch", r.Epoch)
	plan, version, err := rt.apps.plan(ctx, r.Task.App)
	if err != nil {
		return err
	}
	g, err := group(plan, r.Task.Group)
	if err != nil {
		return err
	}
	part := int32(r.Task.Partition)
	rt.setStatus(TaskStatus{Task: r.Task, Role: r.Role, State: cluster.Recovering, Epoch: r.Epoch, Version: version, Changelog: g.Changelog})
	r.Report(cluster.Recovering, 0)
	if !r.Alive() {
		return errLeaseLost
	}
	rt.closeParked(r.Task) // an earlier run that stopped without being released
	task, err := rt.openTask(ctx, r, plan, g, log)
	if err != nil {
		return fmt.Errorf("opening task %s: %w", r.Task, err)
	}
	parked := false
	defer func() {
		if !parked {
			task.Close()
		}
	}()
	rt.watchState(r.Task, r.Role, task.Metrics)
	if r.Start != nil && task.EndOffset() < r.Start.ChangelogEnd {
		return fmt.Errorf("task %s: changelog ends at %d, before the released end %d", r.Task, task.EndOffset(), r.Start.ChangelogEnd)
	}

	cctx, stopConsumer := context.WithCancel(ctx)
	defer stopConsumer()
	consumer, err := topics.NewConsumer(topics.ConsumerConfig{ClientConfig: rt.cfg.Kafka, Logger: log})
	if err != nil {
		return err
	}
	consumed := make(chan error, 1)
	go func() { consumed <- consumer.Run(cctx) }()
	defer func() { stopConsumer(); <-consumed }()

	a := &active{rt: rt, r: r, log: log, plan: plan, version: version, group: g.Name, changelog: g.Changelog, task: task,
		emit: newEmitter(ctx, rt.producer), consumer: consumer, positions: task.Positions(),
		lastCommit: time.Now(), lastOffsets: time.Now(), lastVersion: time.Now(), obs: rt.obs.task(r.Task.App, taskLabel(r.Task))}
	defer a.obs.done()
	if a.dedup, err = newDedup(plan, task); err != nil {
		return fmt.Errorf("task %s: %w", r.Task, err)
	}
	a.purge = newPurger(rt.admin, g.RepartitionTopics, rt.cfg.PurgeInterval)
	defer a.purge.wait()
	if a.positions == nil {
		a.positions = map[topics.TopicPartition]int64{}
	}
	win, err := openWindows(task, plan, g.Name)
	if err != nil {
		return fmt.Errorf("task %s: %w", r.Task, err)
	}
	gt, err := rt.globalTables(ctx, plan)
	if err != nil {
		return fmt.Errorf("task %s: %w", r.Task, err)
	}
	a.exec, err = plan.NewTask(pipeline.TaskConfig{Group: g.Name, Partition: part, Tables: withGlobals{own: taskTables{task}, globals: gt},
		Emitter: countingEmitter{a.emit, a.obs.out}, Windows: win, Logger: log, OnError: a.obs.agentFailed})
	if err != nil {
		return err
	}
	if a.timers, err = newTaskTimers(a, time.Now()); err != nil {
		return fmt.Errorf("task %s: timers: %w", r.Task, err)
	}
	defer rt.wtimers.hold(plan, version)()
	for _, tp := range sources(plan, g, part) {
		start, ok := a.positions[tp]
		if !ok {
			start = topics.FirstOffset
		}
		consumer.Assign(tp, start)
	}
	log.Info("task active", "app_version", version, "changelog", g.Changelog, "positions", len(a.positions))
	rt.setStatus(TaskStatus{Task: r.Task, Role: r.Role, State: cluster.Running, Epoch: r.Epoch, Version: version, Changelog: g.Changelog})
	r.Report(cluster.Running, 0)

	err = a.watched(ctx)
	if ctx.Err() != nil {
		// Stopped from outside (a handoff, a drain, a shutdown): keep the task open so that
		// Release can make the final commit; a later run of the task closes it otherwise.
		stopConsumer()
		parked = true
		a.purge = nil // the final commit (Release) purges nothing: the successor will
		rt.park(r.Task, a)
		log.Info("task stopped; waiting for release", "processed", a.processed)
		return nil
	}
	if errors.Is(err, errNewVersion) {
		log.Info("switching to the app's new version at the committed positions", "from_version", version, "positions", fmtPositions(a.positions))
	} else if err != nil {
		a.obs.failed()
	}
	return err
}

// loop processes records and commits on the cadence until ctx ends or the task fails.
func (a *active) loop(ctx context.Context) error {
	cfg := a.rt.cfg
	for {
		pctx, cancel := context.WithTimeout(ctx, cfg.CommitInterval)
		b, err := a.consumer.Poll(pctx)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err == nil {
			a.prog.busy.Store(true)
			done := 0
			for _, rec := range b.Records {
				if !a.r.Alive() {
					return errLeaseLost
				}
				in := agents.Record{Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset,
					Key: rec.Key, Value: rec.Value, Headers: rec.Headers, Timestamp: rec.Time}
				start := time.Now()
				dup, err := a.dedup.Seen(&in)
				if err != nil {
					return fmt.Errorf("task %s: %w", a.r.Task, err)
				}
				if !dup { // a replay of a record already consumed only moves the position
					if err := a.exec.Process(ctx, in); err != nil {
						return fmt.Errorf("task %s: %w", a.r.Task, err)
					}
				}
				a.obs.latency.Observe(time.Since(start).Seconds())
				done++
				a.prog.records.Add(1)
				a.positions[b.TopicPartition] = rec.Offset + 1
				a.pending++
				a.processed++
				if a.pending >= cfg.CommitRecords || a.task.PendingBytes() >= cfg.CommitBytes {
					if err := a.commit(ctx, false); err != nil {
						return err
					}
				}
			}
			a.obs.processed(a.plan, a.group, b.Topic, done)
		}
		a.prog.busy.Store(false)
		if err := a.exec.Tick(time.Now()); err != nil {
			return fmt.Errorf("task %s: closing idle windows: %w", a.r.Task, err)
		}
		if a.timers != nil {
			if err := a.timers.fire(ctx, time.Now()); err != nil {
				return fmt.Errorf("task %s: %w", a.r.Task, err)
			}
		}
		if err := a.emit.push(); err != nil { // the outputs of this batch, the tick and the timers
			return fmt.Errorf("task %s: %w", a.r.Task, err)
		}
		if time.Since(a.lastCommit) >= cfg.CommitInterval {
			if err := a.commit(ctx, false); err != nil {
				return err
			}
		}
		if time.Since(a.lastVersion) >= time.Second {
			a.lastVersion = time.Now()
			if v, err := a.rt.apps.current(ctx, a.r.Task.App); err == nil && v != a.version {
				if err := a.commit(ctx, true); err != nil {
					return err
				}
				return errNewVersion
			}
		}
	}
}

// commit makes one commit: outputs flushed, then the changelog batch with the positions,
// then (at most once a second) the consumer group's offsets. Without changes it appends only
// an idle marker, once per IdleMarker.
func (a *active) commit(ctx context.Context, force bool) error {
	if !a.r.Alive() {
		return errLeaseLost
	}
	if err := a.emit.flush(ctx); err != nil {
		return fmt.Errorf("task %s: %w", a.r.Task, err)
	}
	failpoint.Hit(failpointAfterFlush)
	if a.pending > 0 {
		if pause, ok := isZombie(failpoint.Hit(failpointBeforeAppend)); ok {
			ctx = a.zombie(ctx, pause) // crash tests: a stale batch is about to land
		}
	}
	cfg := a.rt.cfg
	switch {
	case a.pending > 0 || a.task.PendingBytes() > 0 || force:
		start := time.Now()
		if err := a.task.Commit(ctx, maps.Clone(a.positions), a.dedup.Changed()); err != nil {
			return fmt.Errorf("committing task %s: %w", a.r.Task, err)
		}
		a.obs.commitTook(time.Since(start))
	case time.Since(a.lastCommit) >= cfg.IdleMarker:
		if err := a.task.Heartbeat(ctx); err != nil {
			return fmt.Errorf("idle marker of task %s: %w", a.r.Task, err)
		}
	default:
		// Nothing new since the last commit: the task is idle or caught up, so the group's
		// offsets are brought up to date now (lag tools then show no lag without waiting for
		// the once-a-second cadence), at most every idleOffsets.
		if a.offsetsOld && time.Since(a.lastOffsets) >= idleOffsets {
			a.commitOffsets(ctx)
		}
		a.purge.committed(ctx, a.log, a.positions) // every position is committed
		a.report()
		return nil
	}
	if a.pending > 0 {
		a.offsetsOld = true
	}
	a.pending = 0
	a.lastCommit = time.Now()
	if force || time.Since(a.lastOffsets) >= time.Second || (time.Since(a.lastOffsets) >= idleOffsets && a.lag() == 0) {
		a.commitOffsets(ctx)
	}
	a.purge.committed(ctx, a.log, a.positions)
	a.report()
	return nil
}

// idleOffsets is how often an idle or caught-up task may commit its group offsets (a busy
// one: once a second).
const idleOffsets = 200 * time.Millisecond

// commitOffsets commits the task's committed positions to its app's consumer group, for lag
// tools only: Weir resumes from the positions in the changelog.
func (a *active) commitOffsets(ctx context.Context) {
	a.lastOffsets = time.Now()
	a.offsetsOld = false
	if err := a.rt.admin.CommitOffsets(ctx, cluster.ConsumerGroup(a.r.Task.App), maps.Clone(a.positions)); err != nil {
		a.log.Warn("committing consumer-group offsets (for lag tools only)", "err", err)
	}
}

func (a *active) report() {
	if a.released {
		return
	}
	lag := a.lag()
	a.obs.setLag(lag)
	a.r.Report(cluster.Running, lag)
	a.rt.setStatus(TaskStatus{Task: a.r.Task, Role: a.r.Role, State: cluster.Running, Epoch: a.r.Epoch, Lag: lag,
		Processed: a.processed, Version: a.version, Changelog: a.changelog, Stalled: a.rt.stalledReason(a.r.Task, a.processed > 0)})
}

// lag is the records of the task's inputs not yet delivered to it (any goroutine).
func (a *active) lag() int64 {
	var lag int64
	for _, as := range a.consumer.Assignments() {
		lag += as.Lag()
	}
	return lag
}

func (a *active) checkpoint() cluster.Checkpoint {
	cp := cluster.Checkpoint{Positions: map[string]int64{}, ChangelogEnd: a.task.EndOffset()}
	for tp, off := range a.positions {
		cp.Positions[tp.String()] = off
	}
	return cp
}

// sources are the topic-partitions an active of group g reads for partition part: its
// source topics that some agent reads, and its repartition topics.
func sources(p *pipeline.Plan, g app.TaskGroup, part int32) []topics.TopicPartition {
	var out []topics.TopicPartition
	for _, label := range g.Topics {
		if name, ok := p.TopicByLabel(label); ok && p.Reads(name) {
			out = append(out, topics.TopicPartition{Topic: name, Partition: part})
		}
	}
	for _, name := range g.RepartitionTopics {
		out = append(out, topics.TopicPartition{Topic: name, Partition: part})
	}
	return out
}

// openTask opens an active's task at its epoch and lease: restore from the changelog, then
// fence.
func (rt *Runtime) openTask(ctx context.Context, r tasks.Replica, plan *pipeline.Plan, g app.TaskGroup, log *slog.Logger) (*tables.Task, error) {
	return tables.OpenTask(ctx, rt.cfg.Store, rt.kafka, tables.TaskConfig{
		Topic:         g.Changelog,
		Partition:     int32(r.Task.Partition),
		Epoch:         r.Epoch,
		Incarnation:   fmt.Sprintf("%s-%x", rt.cfg.WorkerID, r.Lease),
		MaxBatchBytes: changelogMaxBytes(plan, g.Changelog),
		Logger:        log,
	})
}

// changelogMaxBytes is the changelog topic's max.message.bytes as the app provisions it.
func changelogMaxBytes(p *pipeline.Plan, changelog string) int {
	for _, spec := range p.App().InternalTopics() {
		if spec.Name == changelog && spec.MaxMessageBytes > 0 {
			return spec.MaxMessageBytes
		}
	}
	return 0
}

func fmtPositions(m map[topics.TopicPartition]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for tp, off := range m {
		out[tp.String()] = off
	}
	return out
}
