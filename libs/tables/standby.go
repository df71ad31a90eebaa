package tables

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/weirhq/weir/libs/topics"
)

// StandbyConfig identifies the changelog partition a standby follows.
type StandbyConfig struct {
	Topic     string
	Partition int32
	// DeleteRetention is the changelog's delete.retention.ms (24 h when zero); see TaskConfig.
	DeleteRetention time.Duration
	Logger          *slog.Logger
}

// Standby keeps a warm copy of a task's tables by applying its changelog continuously, by
// the same rules as a restore (whole batches, lower epochs skipped), so that a handoff or a
// failover only has to read the tail. Lag and Metrics are safe to call from any goroutine.
//
// Promotion (pending, for the assignment issue): stop Run, then start a Task on the same
// Store and partition with the new epoch; Task.Start reads from the standby's applied offset
// (or RepairFrom, when the standby skipped a zombie batch) to the end, fences and repairs.
type Standby struct {
	store *Store
	kafka Kafka
	cfg   StandbyConfig
	tp    topics.TopicPartition
	log   *slog.Logger
	stats counters

	running atomic.Bool
	applied atomic.Int64 // next offset to apply
	hw      atomic.Int64 // changelog end as last fetched; -1 while unknown
}

// OpenStandby checks the configuration and returns a standby; call Run to follow.
func OpenStandby(store *Store, k Kafka, cfg StandbyConfig) (*Standby, error) {
	var errs []error
	if store == nil {
		errs = append(errs, errors.New("no store"))
	}
	errs = append(errs, validTopic(cfg.Topic), validPartition(cfg.Partition), k.validate(false))
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("creating standby for %s/%d: %w", cfg.Topic, cfg.Partition, err)
	}
	if cfg.DeleteRetention <= 0 {
		cfg.DeleteRetention = defaultDeleteRetention
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	tp := topics.TopicPartition{Topic: cfg.Topic, Partition: cfg.Partition}
	s := &Standby{store: store, kafka: k, cfg: cfg, tp: tp,
		log: cfg.Logger.With("component", "tables", "changelog", tp.String(), "role", "standby")}
	s.hw.Store(-1)
	s.stats.lag.Store(-1)
	return s, nil
}

// Run applies the changelog until ctx ends (then it returns nil) or a problem stops it.
// Run may be called once.
func (s *Standby) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return fmt.Errorf("standby %s: Run called twice", s.tp)
	}
	st, err := s.startState(ctx)
	if err != nil {
		return fmt.Errorf("standby %s: %w", s.tp, err)
	}
	rp := newReplayer(s.store, s.tp, st, false, s.log)
	s.applied.Store(st.Next)
	s.log.Info("standby following the changelog", "from", st.Next)
	var reported int64
	sync := func() error {
		if err := rp.flush(); err != nil {
			return err
		}
		s.applied.Store(max(s.applied.Load(), rp.state.Next))
		s.stats.restored.Add(rp.appliedRecords - reported)
		reported = rp.appliedRecords
		s.stats.skipped.Store(rp.skippedBatches)
		s.updateLag()
		return nil
	}
	onBatch := func(b topics.Batch) error {
		for i := range b.Records {
			if err := rp.add(&b.Records[i]); err != nil {
				return err
			}
		}
		s.hw.Store(b.HighWatermark)
		return sync()
	}
	onTick := func(a topics.Assignment) error {
		if a.HighWatermark >= 0 {
			s.hw.Store(a.HighWatermark)
		}
		if a.Position >= 0 && a.HighWatermark >= 0 && a.Position >= a.HighWatermark {
			// Caught up: a batch still open has no marker and never will (not a Weir commit).
			rp.finishTrailing()
			if rp.asm.cur == nil {
				s.applied.Store(max(s.applied.Load(), a.Position)) // the rest was compacted away
			}
		}
		return sync()
	}
	err = follow(ctx, s.kafka.Consumer, s.tp, st.Next, onBatch, onTick)
	if ctx.Err() != nil {
		return nil
	}
	if err != nil {
		return fmt.Errorf("standby %s: %w", s.tp, err)
	}
	return nil
}

// startState reads the local state, rebuilding it when it is too old or does not match the log.
func (s *Standby) startState(ctx context.Context) (PartitionState, error) {
	st, ok, err := s.store.State(s.tp.Topic, s.tp.Partition)
	if err != nil {
		return PartitionState{}, err
	}
	offs, err := s.kafka.offsets(ctx, s.tp)
	if err != nil {
		return PartitionState{}, err
	}
	stale := ok && time.Since(st.Updated) > s.cfg.DeleteRetention
	mismatch := ok && (st.Next > offs.End || st.Next < offs.Start)
	if stale || mismatch {
		s.log.Warn("rebuilding local state from the changelog", "too_old", stale, "mismatch", mismatch,
			"local_next", st.Next, "log_start", offs.Start, "log_end", offs.End)
		if err := s.store.DropPartition(s.tp.Topic, s.tp.Partition); err != nil {
			return PartitionState{}, err
		}
		ok = false
	}
	if !ok {
		st = emptyState()
		st.Next = offs.Start
	}
	return st, nil
}

func (s *Standby) updateLag() {
	hw := s.hw.Load()
	if hw < 0 {
		return
	}
	s.stats.lag.Store(max(0, hw-s.applied.Load()))
}

// Lag is the changelog end offset minus the applied offset, as of the last fetch; -1 until
// the first fetch answered.
func (s *Standby) Lag() int64 {
	s.updateLag()
	return s.stats.lag.Load()
}

// Applied is the next changelog offset to apply: everything before it is in the Store.
func (s *Standby) Applied() int64 { return s.applied.Load() }

// Metrics returns the standby's counters (RestoredRecords, SkippedBatches, StandbyLag).
func (s *Standby) Metrics() Metrics {
	s.updateLag()
	return s.stats.snapshot()
}
