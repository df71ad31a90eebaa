package topics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	fetchapi "github.com/segmentio/kafka-go/protocol/fetch"
)

// ConsumerConfig configures a Consumer.
type ConsumerConfig struct {
	ClientConfig
	// MaxWait is how long the broker may hold a fetch while no data arrives (250 ms when zero).
	// A partition assigned while a fetch is held joins the next one, so this bounds how long a
	// new assignment waits; partitions already fetched are never paused by it.
	MaxWait time.Duration
	// MaxBytes caps one fetch response (8 MiB), PartitionMaxBytes one partition in it (1 MiB).
	MaxBytes, PartitionMaxBytes int
	// Buffer is how many fetched per-partition batches wait for Poll before fetching pauses
	// (64 when zero): memory stays bounded by Buffer × PartitionMaxBytes.
	Buffer int
	// OnOutOfRange says where to restart when a fetch offset is outside the log: "earliest"
	// (default, as Faust and Kafka Streams), "latest", or "error" (pause the partition and
	// report it in Assignments).
	OnOutOfRange string
	Logger       *slog.Logger
}

func (c *ConsumerConfig) withDefaults() {
	if c.MaxWait <= 0 {
		c.MaxWait = 250 * time.Millisecond
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = 8 << 20
	}
	if c.PartitionMaxBytes <= 0 {
		c.PartitionMaxBytes = 1 << 20
	}
	if c.Buffer <= 0 {
		c.Buffer = 64
	}
	if c.OnOutOfRange == "" {
		c.OnOutOfRange = "earliest"
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Batch is records fetched from one partition in one fetch, in offset order: at most 4 096
// (a larger fetch is delivered as several batches, one after the other).
type Batch struct {
	TopicPartition
	Records []Record
	// HighWatermark is the partition's end offset when fetched: Lag = HighWatermark − next.
	HighWatermark int64

	gen  uint64
	from int64 // the fetch offset the batch was read from
	next int64 // the position after it
}

// Assignment is one assigned partition and where the consumer stands in it.
type Assignment struct {
	TopicPartition
	Position      int64 // next offset Poll will deliver; negative until a sentinel is resolved
	HighWatermark int64 // -1 until the first fetch answered
	Err           error // the last problem fetching it, if any (nil once it fetches again)
}

// Lag is how many records remain before the high watermark (0 when unknown).
func (a Assignment) Lag() int64 {
	if a.HighWatermark < 0 || a.Position < 0 {
		return 0
	}
	return max(0, a.HighWatermark-a.Position)
}

type assignment struct {
	gen       uint64
	fetch     int64 // next offset to fetch (may run ahead of delivered)
	delivered int64 // next offset Poll delivers
	hw        int64
	leader    int // broker id, -1 when unknown
	err       error
	paused    bool      // OnOutOfRange=error hit
	retryAt   time.Time // backoff after a partition error
}

// Consumer reads an explicit, changeable set of partitions, each from its own start offset,
// without Kafka's group protocol: one fetcher goroutine per broker sends one fetch request
// covering all the partitions that broker leads. Assign and Unassign take effect at once and
// never pause the other partitions. All methods are safe for concurrent use; Poll is meant for
// one reader.
type Consumer struct {
	cfg       ConsumerConfig
	transport *kafka.Transport
	client    *kafka.Client
	log       *slog.Logger
	out       chan Batch

	mu       sync.Mutex
	parts    map[TopicPartition]*assignment
	gen      uint64
	wakeMgr  chan struct{}
	fetchers map[int]*fetcher
}

type fetcher struct {
	broker int
	cancel context.CancelFunc
	wake   chan struct{}
	done   chan struct{}
}

// NewConsumer returns a consumer with no assignments; call Run to start fetching.
func NewConsumer(cfg ConsumerConfig) (*Consumer, error) {
	cfg.withDefaults()
	errs := []error{cfg.ClientConfig.Validate()}
	switch cfg.OnOutOfRange {
	case "earliest", "latest", "error":
	default:
		errs = append(errs, fmt.Errorf("consumer: OnOutOfRange %q is not one of earliest, latest, error", cfg.OnOutOfRange))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("creating consumer: %w", err)
	}
	t := cfg.transport()
	t.MetadataTTL = 2 * time.Second
	return &Consumer{
		cfg:       cfg,
		transport: t,
		client:    &kafka.Client{Addr: cfg.addr(), Transport: t, Timeout: 10 * time.Second},
		log:       cfg.Logger.With("component", "consumer"),
		out:       make(chan Batch, cfg.Buffer),
		parts:     map[TopicPartition]*assignment{},
		wakeMgr:   make(chan struct{}, 1),
		fetchers:  map[int]*fetcher{},
	}, nil
}

// Assign starts (or restarts) reading a partition at offset, which may be FirstOffset or
// LastOffset. Records of the partition fetched before the call are never delivered after it.
func (c *Consumer) Assign(tp TopicPartition, offset int64) {
	c.mu.Lock()
	c.gen++
	prev := c.parts[tp]
	leader := -1
	if prev != nil {
		leader = prev.leader
	}
	c.parts[tp] = &assignment{gen: c.gen, fetch: offset, delivered: offset, hw: -1, leader: leader}
	f := c.fetchers[leader]
	c.mu.Unlock()
	if f != nil {
		signal(f.wake)
	}
	signal(c.wakeMgr)
}

// Unassign stops reading a partition: after it returns, Poll delivers none of its records.
func (c *Consumer) Unassign(tp TopicPartition) {
	c.mu.Lock()
	delete(c.parts, tp)
	c.mu.Unlock()
	signal(c.wakeMgr)
}

// Assignments lists the assigned partitions, sorted, with their positions and lag.
func (c *Consumer) Assignments() []Assignment {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Assignment, 0, len(c.parts))
	for _, tp := range slices.SortedFunc(maps.Keys(c.parts), compareTP) {
		a := c.parts[tp]
		out = append(out, Assignment{TopicPartition: tp, Position: a.delivered, HighWatermark: a.hw, Err: a.err})
	}
	return out
}

// Poll returns the next batch of records of any assigned partition, blocking until there is
// one or ctx ends. Per partition, batches come in offset order without gaps or repeats.
func (c *Consumer) Poll(ctx context.Context) (Batch, error) {
	for {
		select {
		case <-ctx.Done():
			return Batch{}, ctx.Err()
		case b := <-c.out:
			if c.accept(&b) {
				return b, nil
			}
		}
	}
}

// accept checks a fetched batch against the partition's current assignment and delivery
// position; a stale batch (unassigned, reassigned, or out of sequence after a leader move)
// is dropped and the partition refetched from where delivery stands.
func (c *Consumer) accept(b *Batch) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.parts[b.TopicPartition]
	if a == nil || a.gen != b.gen {
		return false
	}
	if b.from != a.delivered {
		a.fetch = a.delivered
		return false
	}
	a.delivered = b.next
	return len(b.Records) > 0
}

// Run fetches until ctx ends. It returns nil on cancellation.
func (c *Consumer) Run(ctx context.Context) error {
	defer c.transport.CloseIdleConnections()
	defer c.stopFetchers()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		c.reconcile(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-c.wakeMgr:
		case <-tick.C:
		}
	}
}

// reconcile finds leaders for partitions that lack one and runs one fetcher per broker that
// leads an assigned partition.
func (c *Consumer) reconcile(ctx context.Context) {
	c.mu.Lock()
	var unknown []string
	for tp, a := range c.parts {
		if a.leader < 0 && !slices.Contains(unknown, tp.Topic) {
			unknown = append(unknown, tp.Topic)
		}
	}
	c.mu.Unlock()
	if len(unknown) > 0 {
		c.lookupLeaders(ctx, unknown)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	need := map[int]bool{}
	for _, a := range c.parts {
		if a.leader >= 0 {
			need[a.leader] = true
		}
	}
	for id, f := range c.fetchers {
		if !need[id] {
			f.cancel()
			delete(c.fetchers, id)
		}
	}
	for id := range need {
		if _, ok := c.fetchers[id]; !ok {
			fctx, cancel := context.WithCancel(ctx)
			f := &fetcher{broker: id, cancel: cancel, wake: make(chan struct{}, 1), done: make(chan struct{})}
			c.fetchers[id] = f
			go c.runFetcher(fctx, f)
		}
	}
}

func (c *Consumer) lookupLeaders(ctx context.Context, topics []string) {
	mctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	md, err := c.client.Metadata(mctx, &kafka.MetadataRequest{Topics: topics})
	if err != nil {
		c.log.Warn("reading metadata failed", "topics", topics, "err", err)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range md.Topics {
		if t.Error != nil {
			for tp, a := range c.parts {
				if tp.Topic == t.Name {
					a.err = fmt.Errorf("finding the leader of %s: %w", tp, t.Error)
				}
			}
			continue
		}
		leaders := map[int32]int{}
		for _, p := range t.Partitions {
			if p.Error == nil && p.Leader.Host != "" {
				leaders[int32(p.ID)] = p.Leader.ID
			}
		}
		for tp, a := range c.parts {
			if tp.Topic != t.Name || a.leader >= 0 {
				continue
			}
			if id, ok := leaders[tp.Partition]; ok {
				a.leader = id
			} else {
				a.err = fmt.Errorf("finding the leader of %s: partition has no leader (topic has %d partitions)", tp, len(t.Partitions))
			}
		}
	}
}

func (c *Consumer) stopFetchers() {
	c.mu.Lock()
	fs := slices.Collect(maps.Values(c.fetchers))
	c.fetchers = map[int]*fetcher{}
	c.mu.Unlock()
	for _, f := range fs {
		f.cancel()
		<-f.done
	}
}

// fetchItem is one partition of one fetch request.
type fetchItem struct {
	tp     TopicPartition
	gen    uint64
	offset int64
}

func (c *Consumer) runFetcher(ctx context.Context, f *fetcher) {
	defer close(f.done)
	failures := 0
	for ctx.Err() == nil {
		items, unresolved := c.plan(f.broker)
		if len(unresolved) > 0 {
			c.resolveOffsets(ctx, unresolved)
			continue
		}
		if len(items) == 0 {
			select {
			case <-ctx.Done():
			case <-f.wake:
			case <-time.After(100 * time.Millisecond): // re-check backoffs
			}
			continue
		}
		err := c.fetchOnce(ctx, items)
		switch {
		case ctx.Err() != nil:
		case err != nil:
			// Back off 200 ms doubling to 5 s; log the first failure and every tenth.
			if failures%10 == 0 {
				c.log.Warn("fetch failed; retrying", "broker", f.broker, "partitions", len(items), "failures", failures+1, "err", err)
			}
			failures++
			c.markLeadersUnknown(items, err)
			sleepCtx(ctx, min(5*time.Second, 200*time.Millisecond<<min(failures-1, 5)))
		case failures > 0:
			c.log.Info("fetching again", "broker", f.broker, "after_failures", failures)
			failures = 0
		}
	}
}

// plan lists what this broker's next fetch covers, and partitions whose start offset is
// still a sentinel to resolve first.
func (c *Consumer) plan(broker int) (items, unresolved []fetchItem) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	for tp, a := range c.parts {
		if a.leader != broker || a.paused || now.Before(a.retryAt) {
			continue
		}
		it := fetchItem{tp: tp, gen: a.gen, offset: a.fetch}
		if a.fetch < 0 {
			unresolved = append(unresolved, it)
		} else {
			items = append(items, it)
		}
	}
	return items, unresolved
}

// resolveOffsets turns FirstOffset/LastOffset into real offsets.
func (c *Consumer) resolveOffsets(ctx context.Context, items []fetchItem) {
	req := &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{}}
	for _, it := range items {
		req.Topics[it.tp.Topic] = append(req.Topics[it.tp.Topic], kafka.OffsetRequest{Partition: int(it.tp.Partition), Timestamp: it.offset})
	}
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := c.client.ListOffsets(lctx, req)
	if err != nil {
		if ctx.Err() == nil {
			c.log.Warn("resolving start offsets failed", "err", err)
			c.markLeadersUnknown(items, err)
			sleepCtx(ctx, 200*time.Millisecond)
		}
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, it := range items {
		a := c.parts[it.tp]
		if a == nil || a.gen != it.gen || a.fetch != it.offset {
			continue
		}
		for _, p := range res.Topics[it.tp.Topic] {
			if int32(p.Partition) != it.tp.Partition {
				continue
			}
			if p.Error != nil {
				a.err = fmt.Errorf("resolving start offset of %s: %w", it.tp, p.Error)
				a.retryAt = time.Now().Add(500 * time.Millisecond)
				continue
			}
			off := p.LastOffset
			if it.offset == FirstOffset {
				off = p.FirstOffset
			}
			a.fetch, a.delivered = off, off
		}
	}
}

func (c *Consumer) markLeadersUnknown(items []fetchItem, err error) {
	c.mu.Lock()
	for _, it := range items {
		if a := c.parts[it.tp]; a != nil && a.gen == it.gen {
			a.leader = -1
			a.err = err
		}
	}
	c.mu.Unlock()
	signal(c.wakeMgr)
}

// fetchOnce sends one fetch request for items and queues what it returns.
func (c *Consumer) fetchOnce(ctx context.Context, items []fetchItem) error {
	byTopic := map[string][]fetchapi.RequestPartition{}
	var order []string
	for _, it := range items {
		if _, ok := byTopic[it.tp.Topic]; !ok {
			order = append(order, it.tp.Topic)
		}
		byTopic[it.tp.Topic] = append(byTopic[it.tp.Topic], fetchapi.RequestPartition{
			Partition:          it.tp.Partition,
			CurrentLeaderEpoch: -1,
			FetchOffset:        it.offset,
			LogStartOffset:     -1,
			PartitionMaxBytes:  int32(c.cfg.PartitionMaxBytes),
		})
	}
	req := &fetchapi.Request{
		ReplicaID:    -1,
		MaxWaitTime:  int32(c.cfg.MaxWait.Milliseconds()),
		MinBytes:     1,
		MaxBytes:     int32(c.cfg.MaxBytes),
		SessionID:    0,
		SessionEpoch: -1,
	}
	for _, t := range order {
		req.Topics = append(req.Topics, fetchapi.RequestTopic{Topic: t, Partitions: byTopic[t]})
	}
	rctx, cancel := context.WithTimeout(ctx, c.cfg.MaxWait+15*time.Second)
	defer cancel()
	msg, err := c.transport.RoundTrip(rctx, c.cfg.addr(), req)
	if err != nil {
		return err
	}
	res, ok := msg.(*fetchapi.Response)
	if !ok {
		return fmt.Errorf("unexpected fetch response type %T", msg)
	}
	if res.ErrorCode != 0 {
		return fmt.Errorf("fetch: %w", kafka.Error(res.ErrorCode))
	}
	gens := make(map[TopicPartition]fetchItem, len(items))
	for _, it := range items {
		gens[it.tp] = it
	}
	for _, rt := range res.Topics {
		for i := range rt.Partitions {
			rp := &rt.Partitions[i]
			tp := TopicPartition{rt.Topic, rp.Partition}
			it, ok := gens[tp]
			if !ok {
				continue
			}
			for _, b := range c.handlePartition(it, rp) {
				select {
				case c.out <- b:
				case <-ctx.Done():
					return nil
				}
			}
		}
	}
	return nil
}

// handlePartition decodes one partition of a fetch response, advances its fetch position and
// returns the batches to deliver, in order (a large fetch is split: see decodeRecords).
func (c *Consumer) handlePartition(it fetchItem, rp *fetchapi.ResponsePartition) []Batch {
	if rp.ErrorCode != 0 {
		c.partitionError(it, kafka.Error(rp.ErrorCode))
		return nil
	}
	chunks, next, err := decodeRecords(it.tp, rp.RecordSet.Records, it.offset)
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.parts[it.tp]
	if a == nil || a.gen != it.gen || a.fetch != it.offset {
		return nil
	}
	a.hw = rp.HighWatermark
	if err != nil {
		a.err = fmt.Errorf("decoding records of %s at offset %d: %w", it.tp, it.offset, err)
		a.retryAt = time.Now().Add(500 * time.Millisecond)
		c.log.Warn("decoding fetched records failed", "partition", it.tp.String(), "offset", it.offset, "err", err)
		if len(chunks) == 0 {
			return nil
		}
	} else {
		a.err = nil
	}
	if next == it.offset {
		return nil
	}
	a.fetch = next
	out := make([]Batch, len(chunks))
	from := it.offset
	for i, ch := range chunks {
		out[i] = Batch{TopicPartition: it.tp, Records: ch.recs, HighWatermark: rp.HighWatermark, gen: it.gen, from: from, next: ch.next}
		from = ch.next
	}
	return out
}

func (c *Consumer) partitionError(it fetchItem, kerr kafka.Error) {
	c.mu.Lock()
	a := c.parts[it.tp]
	if a == nil || a.gen != it.gen {
		c.mu.Unlock()
		return
	}
	err := fmt.Errorf("fetching %s at offset %d: %w", it.tp, it.offset, kerr)
	a.err = err
	relookup := false
	switch kerr {
	case kafka.OffsetOutOfRange:
		switch c.cfg.OnOutOfRange {
		case "earliest":
			a.fetch, a.delivered = FirstOffset, FirstOffset
		case "latest":
			a.fetch, a.delivered = LastOffset, LastOffset
		default:
			a.paused = true
		}
		c.log.Warn("fetch offset out of range", "partition", it.tp.String(), "offset", it.offset, "policy", c.cfg.OnOutOfRange)
	case kafka.NotLeaderForPartition, kafka.LeaderNotAvailable, kafka.UnknownTopicOrPartition,
		kafka.FencedLeaderEpoch, kafka.UnknownLeaderEpoch, kafka.KafkaStorageError, kafka.ReplicaNotAvailable:
		a.leader = -1
		relookup = true
	default:
		a.retryAt = time.Now().Add(500 * time.Millisecond)
		c.log.Warn("fetch error", "partition", it.tp.String(), "err", err)
	}
	c.mu.Unlock()
	if relookup {
		signal(c.wakeMgr)
	}
}

// chunkRecords is the most records one delivered batch holds: a partition's part of a fetch
// response (1 MiB by default, many more records when compressed) is split into batches of
// at most this many, each allocated once at this size after the first (which grows), so
// decoding does not grow and copy one slice of every record a dozen times.
const chunkRecords = 4096

// recordChunk is a run of decoded records and the position after it.
type recordChunk struct {
	recs []Record
	next int64
}

// decodeRecords copies the records at or after from out of a fetched record set, skipping
// control batches, in chunks of at most chunkRecords, and returns the offset to fetch next.
// The last chunk's next is that offset; when only control records were read, it is the one
// chunk, empty. After an error, the chunks hold the records read before it.
func decodeRecords(tp TopicPartition, rr protocol.RecordReader, from int64) (chunks []recordChunk, next int64, err error) {
	next = from
	if rr == nil {
		return nil, next, nil
	}
	var readers []protocol.RecordReader
	if s, ok := rr.(*protocol.RecordStream); ok {
		readers = s.Records
	} else {
		readers = []protocol.RecordReader{rr}
	}
	var out []Record
	defer func() {
		if len(out) > 0 {
			chunks = append(chunks, recordChunk{recs: out, next: out[len(out)-1].Offset + 1})
		}
		if err == nil && next != from {
			if len(chunks) == 0 {
				chunks = append(chunks, recordChunk{})
			}
			chunks[len(chunks)-1].next = next
		}
	}()
	for _, r := range readers {
		base := int64(-1)
		control := false
		switch b := r.(type) {
		case *protocol.RecordBatch:
			base = b.BaseOffset
		case *protocol.ControlBatch:
			base, control = b.BaseOffset, true
		case *protocol.MessageSet:
			base = b.BaseOffset
		}
		for {
			pr, err := r.ReadRecord()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return chunks, next, err
			}
			if pr.Offset < from {
				closeBytes(pr)
				continue
			}
			if control {
				closeBytes(pr)
				next = max(next, pr.Offset+1)
				continue
			}
			rec := Record{Topic: tp.Topic, Partition: tp.Partition, Offset: pr.Offset, Time: pr.Time, BatchOffset: base}
			if rec.BatchOffset < 0 {
				rec.BatchOffset = pr.Offset
			}
			if rec.Key, err = protocol.ReadAll(pr.Key); err == nil {
				rec.Value, err = protocol.ReadAll(pr.Value)
			}
			closeBytes(pr)
			if err != nil {
				return chunks, next, err
			}
			if len(pr.Headers) > 0 {
				rec.Headers = make([]Header, len(pr.Headers))
				for i, h := range pr.Headers {
					rec.Headers[i] = Header{Key: h.Key, Value: slices.Clone(h.Value)}
				}
			}
			if len(out) == chunkRecords {
				chunks = append(chunks, recordChunk{recs: out, next: out[len(out)-1].Offset + 1})
				out = make([]Record, 0, chunkRecords)
			}
			out = append(out, rec)
			next = pr.Offset + 1
		}
	}
	return chunks, next, nil
}

func closeBytes(r *protocol.Record) {
	if r.Key != nil {
		r.Key.Close()
	}
	if r.Value != nil {
		r.Value.Close()
	}
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
