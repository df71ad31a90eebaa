package topics

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
)

// ProducerConfig configures a Producer. Acknowledgements are always acks=all.
type ProducerConfig struct {
	ClientConfig
	// Compression is none, gzip, snappy, lz4 (default) or zstd.
	Compression string
	// Linger is how long a partition's batch may wait for more records (5 ms when zero).
	Linger time.Duration
	// BatchSize and BatchBytes cap one batch (1 000 records and 1 MiB when zero). kafka-go's
	// Writer allocates room for BatchSize records with every batch it opens, however few
	// records the linger lets in: a large BatchSize costs memory and CPU on every batch.
	BatchSize  int
	BatchBytes int64
	// ProduceTimeout bounds one produce request (5 s when zero).
	ProduceTimeout time.Duration
	// MaxAttempts is how often a batch is tried before its records fail (3 when zero).
	MaxAttempts int
	// MaxBuffered caps records sent but not yet acknowledged; SendAsync blocks beyond it
	// (100 000 when zero).
	MaxBuffered int
}

func (c *ProducerConfig) withDefaults() {
	if c.Compression == "" {
		c.Compression = "lz4"
	}
	if c.Linger <= 0 {
		c.Linger = 5 * time.Millisecond
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 1000
	}
	if c.BatchBytes <= 0 {
		c.BatchBytes = 1 << 20
	}
	if c.ProduceTimeout <= 0 {
		c.ProduceTimeout = 5 * time.Second
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 3
	}
	if c.MaxBuffered <= 0 {
		c.MaxBuffered = 100000
	}
}

func parseCompression(name string) (kafka.Compression, error) {
	switch name {
	case "none":
		return 0, nil
	case "gzip":
		return kafka.Gzip, nil
	case "snappy":
		return kafka.Snappy, nil
	case "lz4":
		return kafka.Lz4, nil
	case "zstd":
		return kafka.Zstd, nil
	}
	return 0, fmt.Errorf("compression %q is not one of none, gzip, snappy, lz4, zstd", name)
}

// Producer writes records to Kafka with acks=all. Per partition, records are written in the
// order they were sent. All methods are safe for concurrent use.
type Producer struct {
	cfg         ProducerConfig
	compression kafka.Compression
	writer      *kafka.Writer
	client      *kafka.Client
	meta        *metadata
	slots       chan struct{} // one token per buffered record

	mu       sync.Mutex
	inflight int
	idle     chan struct{} // closed while inflight == 0
	firstErr error         // first failure since the last Flush
	failed   int
	closed   bool
}

// pending travels with a record through the writer to its completion.
type pending struct {
	rec  Record
	done func(Record, error)
}

// NewProducer returns a producer; it connects lazily.
func NewProducer(cfg ProducerConfig) (*Producer, error) {
	cfg.withDefaults()
	errs := []error{cfg.ClientConfig.Validate()}
	comp, err := parseCompression(cfg.Compression)
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("creating producer: %w", err)
	}
	p := &Producer{cfg: cfg, compression: comp, slots: make(chan struct{}, cfg.MaxBuffered), idle: make(chan struct{})}
	close(p.idle)
	transport := cfg.transport()
	p.writer = &kafka.Writer{
		Addr:         cfg.addr(),
		Balancer:     &placement{},
		MaxAttempts:  cfg.MaxAttempts,
		BatchSize:    cfg.BatchSize,
		BatchBytes:   cfg.BatchBytes,
		BatchTimeout: cfg.Linger,
		WriteTimeout: cfg.ProduceTimeout,
		ReadTimeout:  cfg.ProduceTimeout,
		RequiredAcks: kafka.RequireAll,
		Async:        true,
		Completion:   p.complete,
		Compression:  comp,
		Transport:    transport,
	}
	p.client = &kafka.Client{Addr: cfg.addr(), Transport: transport, Timeout: cfg.ProduceTimeout}
	p.meta = &metadata{transport: transport}
	return p, nil
}

// placement chooses partitions: pinned records keep theirs, keyed records follow the Java
// client's murmur2 placement, records without a key go round robin.
type placement struct{ next atomic.Uint32 }

func (b *placement) Balance(msg kafka.Message, partitions ...int) int {
	if pd, ok := msg.WriterData.(*pending); ok && pd.rec.PinPartition {
		return int(pd.rec.Partition)
	}
	if msg.Key == nil {
		return partitions[int(b.next.Add(1))%len(partitions)]
	}
	return partitions[KeyPartition(msg.Key, len(partitions))]
}

// SendAsync queues a record and returns; done (may be nil) is called once with the outcome,
// from a producer goroutine, and must not block. Errors of records without a callback are
// returned by the next Flush. SendAsync blocks while MaxBuffered records are unacknowledged,
// and fails at once after Close.
func (p *Producer) SendAsync(ctx context.Context, rec Record, done func(Record, error)) error {
	if rec.Topic == "" {
		return errors.New("sending record: no topic")
	}
	if rec.PinPartition && rec.Partition < 0 {
		return fmt.Errorf("sending record to %s: pinned partition %d is negative", rec.Topic, rec.Partition)
	}
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("sending record to %s: %w", rec.Topic, ctx.Err())
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.slots
		return fmt.Errorf("sending record to %s: producer is closed", rec.Topic)
	}
	if p.inflight == 0 {
		p.idle = make(chan struct{})
	}
	p.inflight++
	p.mu.Unlock()

	if rec.Time.IsZero() {
		rec.Time = time.Now()
	}
	pd := &pending{rec: rec, done: done}
	msg := kafka.Message{Topic: rec.Topic, Key: rec.Key, Value: rec.Value, Headers: rec.Headers, Time: rec.Time, WriterData: pd}
	if err := p.write(ctx, msg); err != nil {
		// Rejected before batching (unknown topic, message too large, closed writer).
		p.finish(pd, fmt.Errorf("sending record to %s: %w", rec.Topic, err))
	}
	return nil
}

// SendBatchAsync queues recs in order, as SendAsync queues each, and hands them to the
// writer in one call, which costs less per record than a SendAsync each. done (may be nil)
// is called once for every record with its outcome. A record that cannot be queued (no
// topic, ctx done while waiting for buffer room, the producer closed) gets done with the
// error at once, and the first such error is returned. The writer rejects a call as a
// whole (a record larger than BatchBytes, for one): then every record fails.
func (p *Producer) SendBatchAsync(ctx context.Context, recs []Record, done func(Record, error)) error {
	var first error
	fail := func(rec Record, err error) {
		if done != nil {
			done(rec, err)
		}
		if first == nil {
			first = err
		}
	}
	pds := make([]pending, len(recs))
	msgs := make([]kafka.Message, 0, len(recs))
	var now time.Time
	for i, rec := range recs {
		if rec.Topic == "" {
			fail(rec, errors.New("sending record: no topic"))
			continue
		}
		if rec.PinPartition && rec.Partition < 0 {
			fail(rec, fmt.Errorf("sending record to %s: pinned partition %d is negative", rec.Topic, rec.Partition))
			continue
		}
		select {
		case p.slots <- struct{}{}:
		case <-ctx.Done():
			fail(rec, fmt.Errorf("sending record to %s: %w", rec.Topic, ctx.Err()))
			continue
		}
		if rec.Time.IsZero() {
			if now.IsZero() {
				now = time.Now()
			}
			rec.Time = now
		}
		pds[i] = pending{rec: rec, done: done}
		msgs = append(msgs, kafka.Message{Topic: rec.Topic, Key: rec.Key, Value: rec.Value, Headers: rec.Headers, Time: rec.Time, WriterData: &pds[i]})
	}
	if len(msgs) == 0 {
		return first
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		for _, m := range msgs {
			<-p.slots
			fail(m.WriterData.(*pending).rec, fmt.Errorf("sending record to %s: producer is closed", m.Topic))
		}
		return first
	}
	if p.inflight == 0 {
		p.idle = make(chan struct{})
	}
	p.inflight += len(msgs)
	p.mu.Unlock()
	if err := p.write(ctx, msgs...); err != nil {
		// Rejected before batching (unknown topic, a record too large, closed writer): none
		// of the records was queued.
		for _, m := range msgs {
			err := fmt.Errorf("sending record to %s: %w", m.Topic, err)
			if first == nil {
				first = err
			}
			p.finish(m.WriterData.(*pending), err)
		}
	}
	return first
}

// write hands msgs to the writer. The writer looks topics up in the transport's cached
// metadata and rejects the whole call, queuing nothing, when one is missing there: then the
// cache is refreshed (another process may have just created the topic) and the call made once
// more.
func (p *Producer) write(ctx context.Context, msgs ...kafka.Message) error {
	return p.meta.retry(ctx, func() error { return p.writer.WriteMessages(ctx, msgs...) })
}

// complete is the writer's completion callback for one batch.
func (p *Producer) complete(msgs []kafka.Message, err error) {
	for i := range msgs {
		pd, ok := msgs[i].WriterData.(*pending)
		if !ok {
			continue
		}
		var rerr error
		if err != nil {
			rerr = fmt.Errorf("sending record to %s/%d: %w", pd.rec.Topic, msgs[i].Partition, err)
		}
		pd.rec.Partition = int32(msgs[i].Partition)
		pd.rec.Offset = msgs[i].Offset
		p.finish(pd, rerr)
	}
}

func (p *Producer) finish(pd *pending, err error) {
	if pd.done != nil {
		pd.done(pd.rec, err)
	}
	p.mu.Lock()
	if err != nil {
		p.failed++
		if pd.done == nil && p.firstErr == nil {
			p.firstErr = err
		}
	}
	p.inflight--
	if p.inflight == 0 {
		close(p.idle)
	}
	p.mu.Unlock()
	<-p.slots
}

// Send writes records and waits until the broker acknowledged all of them (acks=all). It
// returns the first failure; records to different partitions may have succeeded regardless.
func (p *Producer) Send(ctx context.Context, recs ...Record) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	done := func(_ Record, err error) {
		if err != nil {
			mu.Lock()
			if first == nil {
				first = err
			}
			mu.Unlock()
		}
		wg.Done()
	}
	for _, r := range recs {
		wg.Add(1)
		if err := p.SendAsync(ctx, r, done); err != nil {
			wg.Done()
			mu.Lock()
			if first == nil {
				first = err
			}
			mu.Unlock()
			break
		}
	}
	waited := make(chan struct{})
	go func() { wg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-ctx.Done():
		return fmt.Errorf("sending %d records: %w", len(recs), ctx.Err())
	}
	return first
}

// Flush waits until every record sent so far is acknowledged or failed. It returns the first
// failure among records sent without a callback since the previous Flush, with the count.
func (p *Producer) Flush(ctx context.Context) error {
	p.mu.Lock()
	idle := p.idle
	p.mu.Unlock()
	select {
	case <-idle:
	case <-ctx.Done():
		return fmt.Errorf("flushing producer: %w", ctx.Err())
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	err, n := p.firstErr, p.failed
	p.firstErr, p.failed = nil, 0
	if err != nil {
		return fmt.Errorf("flushing producer: %d records failed since the last flush, first: %w", n, err)
	}
	return nil
}

// AppendBatch writes recs to one partition as a single record batch with acks=all, so Kafka
// appends them all or none, at consecutive offsets; it returns the offset of the first. The
// records' own Topic and Partition fields are ignored. A batch larger than the topic's
// max.message.bytes fails as a whole.
func (p *Producer) AppendBatch(ctx context.Context, topic string, partition int32, recs []Record) (int64, error) {
	if len(recs) == 0 {
		return -1, fmt.Errorf("appending to %s/%d: empty batch", topic, partition)
	}
	now := time.Now()
	out := make([]protocol.Record, len(recs))
	size := 0
	for i, r := range recs {
		t := r.Time
		if t.IsZero() {
			t = now
		}
		out[i] = protocol.Record{Time: t, Key: bytesOrNil(r.Key), Value: bytesOrNil(r.Value), Headers: r.Headers}
		size += len(r.Key) + len(r.Value)
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.ProduceTimeout)
	defer cancel()
	// A topic missing from the transport's cached metadata (or unknown to the broker) means
	// nothing was written: another process may have just created it (metadata.retry).
	var res *kafka.ProduceResponse
	err := p.meta.retry(ctx, func() error {
		var err error
		res, err = p.client.Produce(ctx, &kafka.ProduceRequest{
			Topic:        topic,
			Partition:    int(partition),
			RequiredAcks: kafka.RequireAll,
			Compression:  p.compression,
			Records:      protocol.NewRecordReader(out...),
		})
		if err == nil && res.Error != nil {
			err = res.Error
		}
		return err
	})
	if err != nil {
		return -1, fmt.Errorf("appending %d records (%d bytes of keys and values) to %s/%d as one batch: %w", len(recs), size, topic, partition, err)
	}
	return res.BaseOffset, nil
}

func bytesOrNil(b []byte) protocol.Bytes {
	if b == nil {
		return nil
	}
	return protocol.NewBytes(b)
}

// Close flushes what is buffered and releases the producer's connections.
func (p *Producer) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	err := p.writer.Close()
	if t, ok := p.client.Transport.(*kafka.Transport); ok {
		t.CloseIdleConnections()
	}
	if err != nil {
		return fmt.Errorf("closing producer: %w", err)
	}
	return nil
}
