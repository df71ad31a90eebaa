package tables

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/weirhq/weir/libs/topics"
)

// TaskConfig identifies a task: one changelog topic-partition owned by one active writer.
type TaskConfig struct {
	Topic     string
	Partition int32
	// Epoch is the task's assignment epoch (the etcd revision that assigned it); it must be
	// above every epoch already in the changelog.
	Epoch int64
	// Incarnation identifies this process (a new id per worker start).
	Incarnation string
	// MaxBatchBytes is the changelog topic's max.message.bytes: no commit batch may exceed it
	// (1 MiB, Kafka's default, when zero).
	MaxBatchBytes int
	// DeleteRetention is the changelog's delete.retention.ms: local state last written longer
	// ago may miss tombstones that compaction has since dropped, so it is rebuilt from the log
	// (24 h, Kafka's default, when zero).
	DeleteRetention time.Duration
	Logger          *slog.Logger
}

const (
	defaultMaxBatchBytes   = 1 << 20
	defaultDeleteRetention = 24 * time.Hour
	maxIncarnation         = 128
	// restoreFlushBytes is the Pebble batch size at which a restore writes: below half a
	// memtable, so Pebble never has to sort it as a flushable batch.
	restoreFlushBytes = 4 << 20
)

func (c *TaskConfig) validate() error {
	var errs []error
	errs = append(errs, validTopic(c.Topic), validPartition(c.Partition))
	if c.Epoch <= 0 {
		errs = append(errs, fmt.Errorf("epoch must be positive, got %d", c.Epoch))
	}
	if c.Incarnation == "" || len(c.Incarnation) > maxIncarnation {
		errs = append(errs, fmt.Errorf("incarnation id must have 1 to %d bytes, got %d", maxIncarnation, len(c.Incarnation)))
	}
	if c.MaxBatchBytes < 0 {
		errs = append(errs, fmt.Errorf("max batch bytes may not be negative, got %d", c.MaxBatchBytes))
	}
	if c.MaxBatchBytes == 0 {
		c.MaxBatchBytes = defaultMaxBatchBytes
	}
	if c.DeleteRetention <= 0 {
		c.DeleteRetention = defaultDeleteRetention
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return errors.Join(errs...)
}

// Task is the state of one task: its tables, layered as uncommitted writes over the Store,
// and the commit protocol on its changelog partition. A Task is driven by one goroutine (the
// task's processing loop); Progress and Metrics may be called from any goroutine.
type Task struct {
	store  *Store
	kafka  Kafka
	reader changelogReader // t.kafka, but for unit tests of the restore
	cfg    TaskConfig
	tp     topics.TopicPartition
	prefix []byte
	log    *slog.Logger

	progress progressTracker
	stats    counters

	mu      sync.Mutex
	phase   string
	pending map[string][]byte // changelog key → new value (nil: delete)
	pendBuf int               // estimated encoded size of pending
	repairs map[string]struct{}
	end     int64 // where our next append must land
	seq     int64 // of our last append
	unknown *unknownAppend
	failed  error

	positions map[topics.TopicPartition]int64
	dedup     map[string]int64
}

// unknownAppend is an append whose outcome is unknown (a produce error or timeout).
type unknownAppend struct {
	expected int64 // where it would have landed
	seq      int64
}

// NewTask checks the configuration and returns a task to Start.
func NewTask(store *Store, k Kafka, cfg TaskConfig) (*Task, error) {
	if store == nil {
		return nil, errors.New("creating task: no store")
	}
	if err := errors.Join(cfg.validate(), k.validate(true)); err != nil {
		return nil, fmt.Errorf("creating task for %s/%d: %w", cfg.Topic, cfg.Partition, err)
	}
	tp := topics.TopicPartition{Topic: cfg.Topic, Partition: cfg.Partition}
	t := &Task{
		store: store, kafka: k, reader: k, cfg: cfg, tp: tp, prefix: partitionPrefix(cfg.Topic, cfg.Partition),
		log:   cfg.Logger.With("component", "tables", "changelog", tp.String(), "epoch", cfg.Epoch),
		phase: PhaseNew, pending: map[string][]byte{},
	}
	t.progress.setPhase(PhaseNew)
	return t, nil
}

// OpenTask creates a task and starts it (restore, epoch check, fence); see Task.Start.
func OpenTask(ctx context.Context, store *Store, k Kafka, cfg TaskConfig) (*Task, error) {
	t, err := NewTask(store, k, cfg)
	if err != nil {
		return nil, err
	}
	if err := t.Start(ctx); err != nil {
		return nil, err
	}
	return t, nil
}

// Start makes the task active: it restores the partition from the changelog (from the
// local applied offset when the store has one, else from the log start) up to the log end
// as of now, refuses with ErrStaleEpoch when the log holds this epoch or a newer one, then
// appends a fence marker carrying this epoch (and repairs for any skipped zombie batches).
// Progress reports the restore while Start runs.
func (t *Task) Start(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.phase != PhaseNew {
		return fmt.Errorf("starting task %s: already %s", t.tp, t.phase)
	}
	t.phase = PhaseRestoring
	t.progress.setPhase(PhaseRestoring)
	if err := t.start(ctx); err != nil {
		t.phase = PhaseFailed // retry with a fresh Task
		t.failed = err
		t.progress.setPhase(PhaseFailed)
		return fmt.Errorf("starting task %s at epoch %d: %w", t.tp, t.cfg.Epoch, err)
	}
	t.phase = PhaseActive
	t.progress.setPhase(PhaseActive)
	return nil
}

func (t *Task) start(ctx context.Context) error {
	st, err := t.localState()
	if err != nil {
		return err
	}
	offs, err := t.reader.offsets(ctx, t.tp)
	if err != nil {
		return err
	}
	from := st.Next
	if st.RepairFrom >= 0 {
		from = min(from, st.RepairFrom)
	}
	if from > offs.End || (st.Next > 0 && st.Next < offs.Start) {
		t.log.Warn("local state does not match the changelog (recreated or truncated?); rebuilding from the log",
			"local_next", st.Next, "log_start", offs.Start, "log_end", offs.End)
		if err := t.store.DropPartition(t.tp.Topic, t.tp.Partition); err != nil {
			return err
		}
		st = emptyState()
	}
	if st.Next == 0 && st.Epoch == 0 {
		from = offs.Start
	}
	rp, err := t.restore(ctx, st, from, offs.End)
	if err != nil {
		return err
	}
	st = rp.state
	if st.Epoch > t.cfg.Epoch || (st.Epoch == t.cfg.Epoch && st.Incarnation != t.cfg.Incarnation) {
		return fmt.Errorf("the changelog holds epoch %d (incarnation %q) and this task has epoch %d: %w",
			st.Epoch, st.Incarnation, t.cfg.Epoch, ErrStaleEpoch)
	}
	if st.Epoch == t.cfg.Epoch {
		t.seq = st.Seq // our own fence from an earlier Start attempt
	}
	t.end = offs.End
	t.positions, t.dedup = map[topics.TopicPartition]int64{}, map[string]int64{}
	if st.Marker != nil {
		maps.Copy(t.positions, st.Marker.Positions)
		maps.Copy(t.dedup, st.Marker.Dedup)
	}
	t.repairs = rp.repairs
	if len(t.repairs) > 0 {
		t.stats.repairs.Add(rp.skippedBatches)
		t.log.Warn("repairing skipped batches in the fence", "batches", rp.skippedBatches, "keys", len(t.repairs))
	}
	return t.appendLocked(ctx, KindFence, false, t.positions, t.dedup)
}

// localState reads the partition's local state, dropping it when it is too old to trust.
func (t *Task) localState() (PartitionState, error) {
	st, ok, err := t.store.State(t.tp.Topic, t.tp.Partition)
	if err != nil {
		return PartitionState{}, err
	}
	if ok && time.Since(st.Updated) > t.cfg.DeleteRetention {
		t.log.Warn("local state is older than the changelog's delete retention and may miss tombstones; rebuilding from the log",
			"updated", st.Updated, "delete_retention", t.cfg.DeleteRetention)
		if err := t.store.DropPartition(t.tp.Topic, t.tp.Partition); err != nil {
			return PartitionState{}, err
		}
		return emptyState(), nil
	}
	return st, nil
}

// restore applies the changelog from `from` to `to` and logs progress.
func (t *Task) restore(ctx context.Context, st PartitionState, from, to int64) (*replayer, error) {
	rp := newReplayer(t.store, t.tp, st, true, t.log)
	if from < st.Next {
		rp.appliedUntil = st.Next // re-reading from RepairFrom: collect, do not re-apply
	}
	t.progress.begin(from, to)
	t.log.Info("restoring changelog", "from", from, "to", to, "local_next", st.Next)
	lastLog := time.Now()
	err := t.reader.restoreRange(ctx, t.tp, from, to, func(r *topics.Record) error {
		if err := rp.add(r); err != nil {
			return err
		}
		if rp.batch != nil && rp.batch.Len() > restoreFlushBytes {
			if err := rp.flush(); err != nil {
				return err
			}
		}
		if r.Offset%1024 == 0 || r.Offset+1 == to {
			t.progress.update(r.Offset+1, rp.appliedRecords)
			if time.Since(lastLog) > 2*time.Second {
				lastLog = time.Now()
				p := t.progress.get()
				t.log.Info("restoring changelog", "position", p.Position, "target", p.Target, "restored", p.Restored,
					"rate", fmt.Sprintf("%.0f/s", p.Rate), "remaining", p.Remaining, "eta", p.ETA)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	rp.finishTrailing()
	if rp.state.Next < to {
		rp.state.Next = to // the rest was compacted away
		rp.dirty = true
	}
	if err := rp.flush(); err != nil {
		return nil, err
	}
	t.progress.update(to, rp.appliedRecords)
	t.stats.restored.Add(rp.appliedRecords)
	t.stats.skipped.Add(rp.skippedBatches)
	p := t.progress.get()
	t.log.Info("restored changelog", "from", from, "to", to, "restored", rp.appliedRecords, "skipped_batches", rp.skippedBatches,
		"took", p.Elapsed.Round(time.Millisecond), "rate", fmt.Sprintf("%.0f/s", p.Rate))
	return rp, nil
}

// Progress reports the restore (and the task's phase).
func (t *Task) Progress() Progress { return t.progress.get() }

// Metrics returns the task's counters.
func (t *Task) Metrics() Metrics {
	m := t.stats.snapshot()
	m.StandbyLag = 0
	return m
}

// Epoch returns the task's epoch.
func (t *Task) Epoch() int64 { return t.cfg.Epoch }

// Positions returns the committed input positions (from the last commit or the restored
// marker): where processing resumes.
func (t *Task) Positions() map[topics.TopicPartition]int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return maps.Clone(t.positions)
}

// Dedup returns the committed dedup marks.
func (t *Task) Dedup() map[string]int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return maps.Clone(t.dedup)
}

// EndOffset is the changelog offset after the task's last append (for a handoff's
// `released` record).
func (t *Task) EndOffset() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.end
}

// Close ends the task; pending (uncommitted) changes are discarded. The local state stays
// in the Store (drop it with Store.DropPartition once the task was handed off).
func (t *Task) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.phase = PhaseClosed
	t.pending = map[string][]byte{}
	t.pendBuf = 0
	t.progress.setPhase(PhaseClosed)
	return nil
}

// usable reports why the task cannot be used, if it cannot. Callers hold mu.
func (t *Task) usable() error {
	switch {
	case t.failed != nil:
		return fmt.Errorf("task %s: %w: %w", t.tp, ErrTaskFailed, t.failed)
	case t.phase == PhaseClosed:
		return fmt.Errorf("task %s: %w", t.tp, ErrClosed)
	case t.phase != PhaseActive:
		return fmt.Errorf("task %s is %s, not active: call Start first", t.tp, t.phase)
	}
	return nil
}

// fail stops the task for good with err.
func (t *Task) fail(err error) error {
	t.failed = err
	t.phase = PhaseFailed
	t.progress.setPhase(PhaseFailed)
	t.log.Error("task failed", "err", err)
	return fmt.Errorf("task %s: %w: %w", t.tp, ErrTaskFailed, err)
}
