package tables

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/weirhq/weir/libs/topics"
)

// GlobalConfig names a global table: its changelog topic (every partition) and the table
// name its records carry.
type GlobalConfig struct {
	ChangelogTopic string
	Table          string
	// DeleteRetention is the changelog's delete.retention.ms (24 h when zero): a local copy
	// of a partition last written longer ago is rebuilt, as for standbys.
	DeleteRetention time.Duration
	// Relist is how often Run lists the topic's partitions to pick up new ones (10 s when zero).
	Relist time.Duration
	Logger *slog.Logger
}

// Global keeps a worker's copy of a global table current: one consumer follows every
// partition of its changelog and applies whole batches by the same rules as a Standby
// (epochs, late duplicates, trailing batches). Any task reads it through Get and Scan; Lag,
// Applied, Metrics and WaitCaughtUp are safe from any goroutine.
//
// The copy lives in the Store under its own namespace (globalNamespace), apart from the
// partitions of the task that writes the table, so a worker may run both.
type Global struct {
	store *Store
	kafka Kafka
	cfg   GlobalConfig
	ns    string
	base  []byte // changelogKey(table, nil)
	log   *slog.Logger
	stats counters

	running atomic.Bool
	mu      sync.Mutex
	parts   map[int32]*globalPart
	changed chan struct{} // closed and replaced whenever a partition progresses
	done    chan struct{} // closed when Run returns
	runErr  error
}

// globalPart is the follow state of one changelog partition (guarded by Global.mu, except rp,
// which only Run touches).
type globalPart struct {
	rp       *replayer
	applied  int64 // next offset to apply: everything before it is in the Store
	hw       int64 // end offset as last fetched; -1 while unknown
	reported int64 // rp.appliedRecords already counted
}

// globalNamespace is the topic name under which a global table's copy is stored: '~' is
// not a topic character, so it never collides with a changelog partition of a task.
func globalNamespace(topic string) string { return "~global." + topic }

// OpenGlobal checks the configuration and returns the global table, readable at once from
// its local copy (if any); call Run to follow the changelog.
func OpenGlobal(store *Store, k Kafka, cfg GlobalConfig) (*Global, error) {
	var errs []error
	if store == nil {
		errs = append(errs, errors.New("no store"))
	}
	errs = append(errs, validTopic(cfg.ChangelogTopic), ValidTableName(cfg.Table), k.validate(false))
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("opening global table %q: %w", cfg.Table, err)
	}
	if cfg.DeleteRetention <= 0 {
		cfg.DeleteRetention = defaultDeleteRetention
	}
	if cfg.Relist <= 0 {
		cfg.Relist = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	g := &Global{store: store, kafka: k, cfg: cfg, ns: globalNamespace(cfg.ChangelogTopic),
		base: changelogKey(cfg.Table, nil), parts: map[int32]*globalPart{},
		changed: make(chan struct{}), done: make(chan struct{}),
		log: cfg.Logger.With("component", "tables", "global", cfg.Table, "changelog", cfg.ChangelogTopic)}
	g.stats.lag.Store(-1)
	local, err := g.localPartitions()
	if err != nil {
		return nil, fmt.Errorf("opening global table %q: %w", cfg.Table, err)
	}
	for _, p := range local {
		g.parts[p] = &globalPart{applied: -1, hw: -1}
	}
	return g, nil
}

// localPartitions lists the partitions the Store holds a copy of.
func (g *Global) localPartitions() ([]int32, error) {
	base := spaceKey(metaSpace, g.ns, 0, 0)
	base = base[:len(base)-4] // m/<namespace>/
	var out []int32
	err := g.store.scan(base, nil, func(k, _ []byte) bool {
		if len(k) == 4 {
			out = append(out, int32(binary.BigEndian.Uint32(k)))
		}
		return true
	})
	return out, err
}

// Run follows every partition of the changelog until ctx ends (then it returns nil) or a
// problem stops it. Run may be called once.
func (g *Global) Run(ctx context.Context) (err error) {
	if !g.running.CompareAndSwap(false, true) {
		return fmt.Errorf("global table %q: Run called twice", g.cfg.Table)
	}
	defer func() {
		if ctx.Err() != nil {
			err = nil
		}
		if err != nil {
			err = fmt.Errorf("global table %q: %w", g.cfg.Table, err)
			g.log.Error("global table stopped", "err", err)
		}
		g.mu.Lock()
		g.runErr = err
		g.mu.Unlock()
		close(g.done)
	}()
	c, err := topics.NewConsumer(g.kafka.Consumer)
	if err != nil {
		return err
	}
	rctx, cancel := context.WithCancel(ctx)
	consumerDone := make(chan error, 1)
	go func() { consumerDone <- c.Run(rctx) }()
	defer func() {
		cancel()
		<-consumerDone
	}()
	if err := g.assignNew(ctx, c); err != nil {
		return err
	}
	lastList := time.Now()
	for {
		pctx, pcancel := context.WithTimeout(ctx, time.Second)
		b, perr := c.Poll(pctx)
		pcancel()
		switch {
		case perr == nil:
			err = g.applyBatch(b)
		case ctx.Err() != nil:
			return nil
		default:
			err = g.tick(c.Assignments())
		}
		if err == nil && time.Since(lastList) > g.cfg.Relist {
			lastList = time.Now()
			err = g.assignNew(ctx, c)
		}
		if err != nil {
			return err
		}
	}
}

// assignNew lists the changelog's partitions and starts following those not followed yet.
func (g *Global) assignNew(ctx context.Context, c *topics.Consumer) error {
	offs, err := g.kafka.Admin.ListOffsets(ctx, g.cfg.ChangelogTopic)
	if err != nil {
		return fmt.Errorf("listing partitions of %s: %w", g.cfg.ChangelogTopic, err)
	}
	for tp, r := range offs {
		g.mu.Lock()
		gp := g.parts[tp.Partition]
		g.mu.Unlock()
		if gp != nil && gp.rp != nil {
			continue
		}
		st, err := g.startState(tp.Partition, r)
		if err != nil {
			return err
		}
		nsTP := topics.TopicPartition{Topic: g.ns, Partition: tp.Partition}
		gp = &globalPart{rp: newReplayer(g.store, nsTP, st, false, g.log), applied: st.Next, hw: r.End}
		g.mu.Lock()
		g.parts[tp.Partition] = gp
		g.mu.Unlock()
		c.Assign(tp, st.Next)
		g.log.Info("global table following a changelog partition", "partition", tp.Partition, "from", st.Next, "end", r.End)
	}
	g.notify()
	return nil
}

// startState reads a partition's local state, rebuilding it (from the log start) when it
// is too old or does not match the log.
func (g *Global) startState(p int32, offs topics.OffsetRange) (PartitionState, error) {
	st, ok := emptyState(), false
	v, found, err := g.store.get(metaKey(g.ns, p))
	if err != nil {
		return PartitionState{}, err
	}
	if found {
		if st, err = decodeMeta(v); err != nil {
			return PartitionState{}, fmt.Errorf("reading the local state of %s/%d: %w", g.cfg.ChangelogTopic, p, err)
		}
		ok = true
	}
	stale := ok && time.Since(st.Updated) > g.cfg.DeleteRetention
	mismatch := ok && (st.Next > offs.End || st.Next < offs.Start)
	if stale || mismatch {
		g.log.Warn("rebuilding a global table partition from the changelog", "partition", p, "too_old", stale,
			"mismatch", mismatch, "local_next", st.Next, "log_start", offs.Start, "log_end", offs.End)
		if err := g.dropLocal(p); err != nil {
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

// dropLocal deletes the local copy of one partition.
func (g *Global) dropLocal(p int32) error {
	prefix := partitionPrefix(g.ns, p)
	b := g.store.db.NewBatch()
	defer b.Close()
	err := errors.Join(b.DeleteRange(prefix, successor(prefix), nil), b.Delete(metaKey(g.ns, p), nil))
	if err == nil {
		err = b.Commit(pebble.NoSync)
	}
	if err != nil {
		return fmt.Errorf("dropping the local copy of %s/%d: %w", g.cfg.ChangelogTopic, p, err)
	}
	return nil
}

// applyBatch applies the whole changelog batches of one fetched batch.
func (g *Global) applyBatch(b topics.Batch) error {
	g.mu.Lock()
	gp := g.parts[b.Partition]
	g.mu.Unlock()
	if gp == nil || gp.rp == nil {
		return nil // not assigned by us
	}
	for i := range b.Records {
		if err := gp.rp.add(&b.Records[i]); err != nil {
			return err
		}
	}
	return g.sync(gp, b.HighWatermark, -1)
}

// tick handles a quiet second: a partition that is caught up has no open batch (a trailing
// batch without a marker is not a Weir commit), and its position is applied.
func (g *Global) tick(as []topics.Assignment) error {
	for _, a := range as {
		g.mu.Lock()
		gp := g.parts[a.Partition]
		g.mu.Unlock()
		if gp == nil || gp.rp == nil {
			continue
		}
		position := int64(-1)
		if a.Position >= 0 && a.HighWatermark >= 0 && a.Position >= a.HighWatermark {
			gp.rp.finishTrailing()
			if gp.rp.asm.cur == nil {
				position = a.Position // the rest was compacted away
			}
		}
		if err := g.sync(gp, a.HighWatermark, position); err != nil {
			return err
		}
	}
	return nil
}

// sync writes what the replayer staged and publishes progress.
func (g *Global) sync(gp *globalPart, hw, position int64) error {
	if err := gp.rp.flush(); err != nil {
		return err
	}
	g.stats.restored.Add(gp.rp.appliedRecords - gp.reported)
	gp.reported = gp.rp.appliedRecords
	g.mu.Lock()
	gp.applied = max(gp.applied, gp.rp.state.Next, position)
	if hw >= 0 {
		gp.hw = hw
	}
	var skipped int64
	for _, p := range g.parts {
		if p.rp != nil {
			skipped += p.rp.skippedBatches
		}
	}
	g.stats.skipped.Store(skipped)
	g.mu.Unlock()
	g.stats.lag.Store(g.Lag())
	g.notify()
	return nil
}

func (g *Global) notify() {
	g.mu.Lock()
	close(g.changed)
	g.changed = make(chan struct{})
	g.mu.Unlock()
}

// Lag is the sum over partitions of the changelog end minus the applied offset, as of the
// last fetch; -1 until every followed partition's end is known.
func (g *Global) Lag() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.parts) == 0 {
		return -1
	}
	var lag int64
	for _, p := range g.parts {
		if p.rp == nil || p.hw < 0 {
			return -1
		}
		lag += max(0, p.hw-p.applied)
	}
	return lag
}

// Applied returns, per partition, the next changelog offset to apply.
func (g *Global) Applied() map[int32]int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make(map[int32]int64, len(g.parts))
	for p, gp := range g.parts {
		out[p] = gp.applied
	}
	return out
}

// Metrics returns the counters (RestoredRecords, SkippedBatches, StandbyLag = Lag).
func (g *Global) Metrics() Metrics {
	m := g.stats.snapshot()
	m.StandbyLag = g.Lag()
	return m
}

// WaitCaughtUp waits until every partition of the changelog is applied up to its end
// offset as listed when the call began (so a write acknowledged before the call is
// readable after it). It needs Run to be running; it returns Run's error if Run stops.
func (g *Global) WaitCaughtUp(ctx context.Context) error {
	offs, err := g.kafka.Admin.ListOffsets(ctx, g.cfg.ChangelogTopic)
	if err != nil {
		return fmt.Errorf("waiting for global table %q: listing offsets: %w", g.cfg.Table, err)
	}
	for {
		g.mu.Lock()
		changed, behind := g.changed, g.behind(offs)
		g.mu.Unlock()
		if behind == nil {
			return nil
		}
		select {
		case <-changed:
		case <-g.done:
			g.mu.Lock()
			err := g.runErr
			g.mu.Unlock()
			if err == nil {
				err = errors.New("Run stopped")
			}
			return fmt.Errorf("waiting for global table %q: %w", g.cfg.Table, err)
		case <-ctx.Done():
			return fmt.Errorf("waiting for global table %q (behind in partitions %v): %w", g.cfg.Table, behind, ctx.Err())
		}
	}
}

// behind lists the partitions not yet applied to the given ends. Callers hold mu.
func (g *Global) behind(offs map[topics.TopicPartition]topics.OffsetRange) []int32 {
	var out []int32
	for tp, r := range offs {
		gp := g.parts[tp.Partition]
		if gp == nil || gp.rp == nil || gp.applied < r.End {
			out = append(out, tp.Partition)
		}
	}
	slices.Sort(out)
	return out
}

// partitions lists the partitions with a local copy, sorted.
func (g *Global) partitions() []int32 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Sorted(maps.Keys(g.parts))
}
