package tables

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/weirhq/weir/libs/topics"
)

// DecodeFunc turns one record of a global table's source topic into the table's entry:
// the key and the value to store, or del to delete the key. An error skips the record.
type DecodeFunc func(rec *topics.Record) (key, value []byte, del bool, err error)

// GlobalConfig names a global table and the topic that feeds it.
type GlobalConfig struct {
	// SourceTopic is the topic the table mirrors: every partition, new ones picked up.
	SourceTopic string
	// Table is the table's name.
	Table string
	// Scope tells apart copies of one table name fed from one topic (the app's name); it
	// may be empty, else [a-zA-Z0-9._-].
	Scope string
	// Decode decodes each source record; a record it fails on is logged, counted
	// (Metrics.DecodeErrors) and skipped.
	Decode DecodeFunc
	// DeleteRetention is the source topic's delete.retention.ms (when zero, Run reads it
	// from the topic's configs, else 24 h): a local copy of a partition not brought up to
	// date for longer may miss tombstones that compaction removed since, and is rebuilt.
	DeleteRetention time.Duration
	// Relist is how often Run lists the topic's partitions to pick up new ones (10 s when zero).
	Relist time.Duration
	Logger *slog.Logger
}

// Global keeps a worker's copy of a global table current by following every partition of
// its source topic, as Kafka Streams' GlobalKTable does: each fetched batch of a partition
// is decoded and written to Pebble together with the partition's next offset in one batch,
// so a restart resumes where the copy stopped and an empty store rebuilds from the topic.
// Any task reads it through Get and Scan; Lag, Applied, Metrics and WaitCaughtUp are safe
// from any goroutine.
//
// The copy lives in the Store under its own namespace (globalNamespace), apart from the
// partitions of every task.
type Global struct {
	store *Store
	kafka Kafka
	cfg   GlobalConfig
	ns    string
	base  []byte // changelogKey(table, nil)
	log   *slog.Logger
	stats counters

	running       atomic.Bool
	readRetention bool      // Run reads DeleteRetention from the topic's configs
	lastSync      time.Time // when Run last synced Pebble's WAL (Run's goroutine only)
	unsynced      bool      // applied writes not synced yet (Run's goroutine only)
	decodeErrors  atomic.Int64
	mu            sync.Mutex
	parts         map[int32]*globalPart
	changed       chan struct{} // closed and replaced whenever a partition progresses
	done          chan struct{} // closed when Run returns
	runErr        error
}

// globalPart is the follow state of one source partition (guarded by Global.mu).
type globalPart struct {
	following bool      // assigned to Run's consumer
	applied   int64     // next offset to apply: everything before it is in the Store
	hw        int64     // end offset as last fetched; -1 while unknown
	saved     time.Time // when the partition's state was last written
}

// globalSyncEvery bounds how long applied source records stay in Pebble's WAL buffer
// unsynced: a process killed within it re-reads them after a restart (harmless: re-applying
// records in order gives the same copy).
const globalSyncEvery = time.Second

// globalRefresh is how often the state of a caught-up partition without new records is
// rewritten, so that its age measures how long ago the copy was current, not how long ago
// the partition was last written.
const globalRefresh = time.Hour

// globalNamespace is the topic name under which a global table's copy is stored: '~' is
// not a topic character, so it never collides with a changelog partition of a task, and it
// separates the scope, the table and the topic unambiguously.
func globalNamespace(scope, table, topic string) string {
	return "~global~" + scope + "~" + table + "~" + topic
}

// OpenGlobal checks the configuration and returns the global table, readable at once from
// its local copy (if any); call Run to follow the source topic.
func OpenGlobal(store *Store, k Kafka, cfg GlobalConfig) (*Global, error) {
	var errs []error
	if store == nil {
		errs = append(errs, errors.New("no store"))
	}
	if cfg.Decode == nil {
		errs = append(errs, errors.New("no decode function"))
	}
	if cfg.Scope != "" && !nameRE.MatchString(cfg.Scope) {
		errs = append(errs, fmt.Errorf("scope %q is not valid: use [a-zA-Z0-9._-]", cfg.Scope))
	}
	errs = append(errs, validTopic(cfg.SourceTopic), ValidTableName(cfg.Table), k.validate(false))
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("opening global table %q: %w", cfg.Table, err)
	}
	readRetention := cfg.DeleteRetention <= 0
	if readRetention {
		cfg.DeleteRetention = defaultDeleteRetention
	}
	if cfg.Relist <= 0 {
		cfg.Relist = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	g := &Global{readRetention: readRetention, store: store, kafka: k, cfg: cfg, ns: globalNamespace(cfg.Scope, cfg.Table, cfg.SourceTopic),
		base: changelogKey(cfg.Table, nil), parts: map[int32]*globalPart{},
		changed: make(chan struct{}), done: make(chan struct{}),
		log: cfg.Logger.With("component", "tables", "global", cfg.Table, "source", cfg.SourceTopic)}
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

// Table is the table's name.
func (g *Global) Table() string { return g.cfg.Table }

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

// Run follows every partition of the source topic until ctx ends (then it returns nil) or
// a problem stops it (Kafka or the Store; records that fail to decode are skipped). Run may
// be called once.
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
	if g.readRetention {
		g.readDeleteRetention(ctx)
	}
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

// readDeleteRetention sets DeleteRetention from the source topic's delete.retention.ms,
// keeping the broker default (24 h) when the topic does not set it or cannot be described.
func (g *Global) readDeleteRetention(ctx context.Context) {
	info, err := g.kafka.Admin.DescribeTopic(ctx, g.cfg.SourceTopic)
	if err != nil {
		g.log.Warn("reading the source topic's delete.retention.ms; assuming 24h", "err", err)
		return
	}
	if v, ok := info.Configs["delete.retention.ms"]; ok {
		if ms, err := strconv.ParseInt(v, 10, 64); err == nil && ms > 0 {
			g.cfg.DeleteRetention = time.Duration(ms) * time.Millisecond
		}
	}
}

// assignNew lists the source topic's partitions and starts following those not followed yet.
func (g *Global) assignNew(ctx context.Context, c *topics.Consumer) error {
	offs, err := g.kafka.Admin.ListOffsets(ctx, g.cfg.SourceTopic)
	if err != nil {
		return fmt.Errorf("listing partitions of %s: %w", g.cfg.SourceTopic, err)
	}
	for tp, r := range offs {
		g.mu.Lock()
		gp := g.parts[tp.Partition]
		g.mu.Unlock()
		if gp != nil && gp.following {
			continue
		}
		next, err := g.startOffset(tp.Partition, r)
		if err != nil {
			return err
		}
		g.mu.Lock()
		g.parts[tp.Partition] = &globalPart{following: true, applied: next, hw: r.End, saved: time.Now()}
		g.mu.Unlock()
		c.Assign(tp, next)
		g.log.Info("global table following a source partition", "partition", tp.Partition, "from", next, "end", r.End)
	}
	g.stats.lag.Store(g.Lag())
	g.notify()
	return nil
}

// startOffset reads a partition's local state and returns where to resume, rebuilding the
// partition (from the log start) when its copy is too old or does not match the log.
func (g *Global) startOffset(p int32, offs topics.OffsetRange) (int64, error) {
	v, found, err := g.store.get(metaKey(g.ns, p))
	if err != nil {
		return 0, err
	}
	if !found {
		return offs.Start, nil
	}
	st, err := decodeMeta(v)
	if err != nil {
		return 0, fmt.Errorf("reading the local state of %s/%d: %w", g.cfg.SourceTopic, p, err)
	}
	stale := time.Since(st.Updated) > g.cfg.DeleteRetention
	mismatch := st.Next > offs.End || st.Next < offs.Start
	if !stale && !mismatch {
		return st.Next, nil
	}
	g.log.Warn("rebuilding a global table partition from its source topic", "partition", p, "too_old", stale,
		"mismatch", mismatch, "local_next", st.Next, "log_start", offs.Start, "log_end", offs.End)
	if err := g.dropLocal(p); err != nil {
		return 0, err
	}
	return offs.Start, nil
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
		return fmt.Errorf("dropping the local copy of %s/%d: %w", g.cfg.SourceTopic, p, err)
	}
	return nil
}

// applyBatch decodes one fetched batch and writes its entries with the partition's next
// offset in one Pebble batch.
func (g *Global) applyBatch(b topics.Batch) error {
	g.mu.Lock()
	gp := g.parts[b.Partition]
	from := int64(-1)
	if gp != nil && gp.following {
		from = gp.applied
	}
	g.mu.Unlock()
	if from < 0 || len(b.Records) == 0 {
		return nil // not followed by us
	}
	pb := g.store.db.NewBatch()
	defer pb.Close()
	prefix := partitionPrefix(g.ns, b.Partition)
	next, applied := from, int64(0)
	var scratch []byte
	for i := range b.Records {
		rec := &b.Records[i]
		if rec.Offset < next {
			continue // delivered again
		}
		next = rec.Offset + 1
		key, value, del, err := g.decode(rec)
		if err != nil {
			n := g.decodeErrors.Add(1)
			if n <= 10 || n%1000 == 0 {
				g.log.Warn("skipping a source record that does not decode", "partition", rec.Partition,
					"offset", rec.Offset, "err", err, "skipped_so_far", n)
			}
			continue
		}
		scratch = append(append(append(append(scratch[:0], prefix...), g.cfg.Table...), 0), key...)
		if del {
			err = pb.Delete(scratch, nil)
		} else {
			err = pb.Set(scratch, value, nil)
		}
		if err != nil {
			return fmt.Errorf("applying %s/%d at offset %d: %w", g.cfg.SourceTopic, rec.Partition, rec.Offset, err)
		}
		applied++
	}
	if next == from {
		return nil
	}
	if err := g.save(pb, b.Partition, next, false); err != nil {
		return err
	}
	g.stats.restored.Add(applied)
	g.progress(gp, next, b.HighWatermark)
	return nil
}

// decode calls the decode function, turning a panic into an error: a bad record never
// stops the follower.
func (g *Global) decode(rec *topics.Record) (key, value []byte, del bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("decoding panicked: %v", r)
		}
	}()
	return g.cfg.Decode(rec)
}

// save writes the partition's next offset into pb and commits it, syncing the WAL when
// sync is set or the last sync is older than globalSyncEvery.
func (g *Global) save(pb *pebble.Batch, p int32, next int64, sync bool) error {
	st := emptyState()
	st.Next, st.Updated = next, time.Now()
	meta, err := encodeMeta(st)
	if err == nil {
		err = pb.Set(metaKey(g.ns, p), meta, nil)
	}
	opts := pebble.NoSync
	if sync || time.Since(g.lastSync) >= globalSyncEvery {
		opts = pebble.Sync
	}
	if err == nil {
		err = pb.Commit(opts)
	}
	if err != nil {
		return fmt.Errorf("applying %s/%d up to offset %d: %w", g.cfg.SourceTopic, p, next, err)
	}
	if opts == pebble.Sync {
		g.lastSync, g.unsynced = time.Now(), false
	} else {
		g.unsynced = true
	}
	return nil
}

// progress publishes a partition's new position (next ≥ 0) and end offset (hw ≥ 0).
func (g *Global) progress(gp *globalPart, next, hw int64) {
	g.mu.Lock()
	if next >= 0 {
		gp.applied = max(gp.applied, next)
		gp.saved = time.Now()
	}
	if hw >= 0 {
		gp.hw = hw
	}
	g.mu.Unlock()
	g.stats.lag.Store(g.Lag())
	g.notify()
}

// tick handles a quiet second: the consumer's position of a caught-up partition may be
// past the last record (offsets taken by compaction or transaction markers); it is saved so
// that lag reaches zero and a restart starts there. Unsynced writes are synced.
func (g *Global) tick(as []topics.Assignment) error {
	for _, a := range as {
		g.mu.Lock()
		gp := g.parts[a.Partition]
		var applied int64
		var saved time.Time
		if gp != nil {
			applied, saved = gp.applied, gp.saved
		}
		g.mu.Unlock()
		if gp == nil || !gp.following {
			continue
		}
		next := int64(-1)
		caughtUp := a.Position >= 0 && a.HighWatermark >= 0 && a.Position >= a.HighWatermark
		if caughtUp && (a.Position > applied || time.Since(saved) > globalRefresh || g.unsynced) {
			next = max(a.Position, applied)
			pb := g.store.db.NewBatch()
			err := g.save(pb, a.Partition, next, true)
			pb.Close()
			if err != nil {
				return err
			}
		}
		g.progress(gp, next, a.HighWatermark)
	}
	return nil
}

func (g *Global) notify() {
	g.mu.Lock()
	close(g.changed)
	g.changed = make(chan struct{})
	g.mu.Unlock()
}

// Lag is the sum over partitions of the source topic's end minus the applied offset, as of
// the last fetch; -1 until every followed partition's end is known.
func (g *Global) Lag() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.parts) == 0 {
		return -1
	}
	var lag int64
	for _, p := range g.parts {
		if !p.following || p.hw < 0 {
			return -1
		}
		lag += max(0, p.hw-p.applied)
	}
	return lag
}

// Applied returns, per partition, the next source offset to apply (-1 for a local copy
// not followed yet).
func (g *Global) Applied() map[int32]int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make(map[int32]int64, len(g.parts))
	for p, gp := range g.parts {
		out[p] = gp.applied
	}
	return out
}

// Metrics returns the counters: RestoredRecords (entries applied), DecodeErrors and
// StandbyLag (= Lag).
func (g *Global) Metrics() Metrics {
	m := g.stats.snapshot()
	m.StandbyLag = g.Lag()
	m.DecodeErrors = g.decodeErrors.Load()
	return m
}

// WaitCaughtUp waits until every partition of the source topic is applied up to its end
// offset as listed when the call began (so a write acknowledged before the call is
// readable after it). It needs Run to be running; it returns Run's error if Run stops.
func (g *Global) WaitCaughtUp(ctx context.Context) error {
	offs, err := g.kafka.Admin.ListOffsets(ctx, g.cfg.SourceTopic)
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
		if gp == nil || !gp.following || gp.applied < r.End {
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
