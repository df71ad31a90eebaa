// Package bench holds Weir's benchmark programs, run by the Makefile's bench-* targets against
// the real broker. Each prints one line per figure as `name=value unit`.
package bench

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/weirhq/weir/libs/topics"
)

// IOConfig sizes the Kafka I/O benchmark.
type IOConfig struct {
	Client     topics.ClientConfig
	Topic      string // created (and deleted) by the benchmark; a unique name
	Partitions int
	Records    int
	ValueSize  int
	// Stall phase: steady load rate and how long partitions are added and removed.
	StallRate     int
	StallDuration time.Duration
}

// RunIO measures producer and consumer throughput and the consumer's stall under assignment
// changes, printing `name=value unit` lines to out.
func RunIO(ctx context.Context, cfg IOConfig, out io.Writer) error {
	admin, err := topics.NewAdmin(cfg.Client)
	if err != nil {
		return err
	}
	if _, err := admin.EnsureTopics(ctx, topics.TopicSpec{Name: cfg.Topic, Partitions: cfg.Partitions}); err != nil {
		return err
	}
	defer admin.DeleteTopics(context.Background(), cfg.Topic)

	if err := produceThroughput(ctx, cfg, out); err != nil {
		return err
	}
	if err := consumeThroughput(ctx, cfg, out); err != nil {
		return err
	}
	stallTopic := cfg.Topic + "-stall"
	if _, err := admin.EnsureTopics(ctx, topics.TopicSpec{Name: stallTopic, Partitions: 12}); err != nil {
		return err
	}
	defer admin.DeleteTopics(context.Background(), stallTopic)
	return assignmentStall(ctx, cfg, stallTopic, out)
}

// payload returns n values of size bytes of random capital letters, as Kafka's
// ProducerPerformance generates them.
func payload(n, size int) [][]byte {
	buf := make([]byte, n*size)
	rand.Read(buf)
	out := make([][]byte, n)
	for i := range buf {
		buf[i] = 'A' + buf[i]%26
	}
	for i := range out {
		out[i] = buf[i*size : (i+1)*size]
	}
	return out
}

func produceThroughput(ctx context.Context, cfg IOConfig, out io.Writer) error {
	p, err := topics.NewProducer(topics.ProducerConfig{ClientConfig: cfg.Client})
	if err != nil {
		return err
	}
	defer p.Close()
	values := payload(1000, cfg.ValueSize)
	keys := make([][]byte, 1000)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "key-%08d", i)
	}
	start := time.Now()
	for i := range cfg.Records {
		rec := topics.Record{Topic: cfg.Topic, Key: keys[i%len(keys)], Value: values[i%len(values)]}
		if err := p.SendAsync(ctx, rec, nil); err != nil {
			return err
		}
	}
	if err := p.Flush(ctx); err != nil {
		return err
	}
	el := time.Since(start).Seconds()
	fmt.Fprintf(out, "weir_produce_rps=%.0f records/s\n", float64(cfg.Records)/el)
	fmt.Fprintf(out, "weir_produce_mbps=%.1f MiB/s\n", float64(cfg.Records*cfg.ValueSize)/el/(1<<20))
	return nil
}

func consumeThroughput(ctx context.Context, cfg IOConfig, out io.Writer) error {
	c, err := topics.NewConsumer(topics.ConsumerConfig{ClientConfig: cfg.Client})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); c.Run(ctx) }()
	defer func() { cancel(); wg.Wait() }()
	start := time.Now()
	for p := range cfg.Partitions {
		c.Assign(topics.TopicPartition{Topic: cfg.Topic, Partition: int32(p)}, topics.FirstOffset)
	}
	n, bytes := 0, 0
	for n < cfg.Records {
		b, err := c.Poll(ctx)
		if err != nil {
			return fmt.Errorf("consuming after %d records: %w", n, err)
		}
		n += len(b.Records)
		for _, r := range b.Records {
			bytes += len(r.Value)
		}
	}
	el := time.Since(start).Seconds()
	fmt.Fprintf(out, "weir_consume_rps=%.0f records/s\n", float64(n)/el)
	fmt.Fprintf(out, "weir_consume_mbps=%.1f MiB/s\n", float64(bytes)/el/(1<<20))
	return nil
}

// assignmentStall produces a steady keyed load over 12 partitions; the consumer keeps 6
// partitions assigned throughout while the other 6 are assigned and unassigned in turn every
// 100 ms. It reports the largest gap between consecutive deliveries of each untouched
// partition (the stall caused by assignment changes, plus the load's own spacing).
func assignmentStall(ctx context.Context, cfg IOConfig, topic string, out io.Writer) error {
	p, err := topics.NewProducer(topics.ProducerConfig{ClientConfig: cfg.Client})
	if err != nil {
		return err
	}
	defer p.Close()
	c, err := topics.NewConsumer(topics.ConsumerConfig{ClientConfig: cfg.Client})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	wg.Add(2)
	go func() { defer wg.Done(); c.Run(ctx) }()

	// Steady load: StallRate records/s spread over all partitions, in 5 ms ticks.
	values := payload(100, cfg.ValueSize)
	go func() {
		defer wg.Done()
		perTick := cfg.StallRate / 200
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		i := 0
		for ctx.Err() == nil {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			for range perTick {
				rec := topics.Record{Topic: topic, Partition: int32(i % 12), PinPartition: true, Value: values[i%len(values)]}
				p.SendAsync(ctx, rec, nil)
				i++
			}
		}
	}()

	tp := func(i int) topics.TopicPartition { return topics.TopicPartition{Topic: topic, Partition: int32(i)} }
	for i := range 6 {
		c.Assign(tp(i), topics.LastOffset)
	}
	// Warm up until every untouched partition delivered.
	last := map[int32]time.Time{}
	for len(last) < 6 {
		b, err := c.Poll(ctx)
		if err != nil {
			return err
		}
		last[b.Partition] = time.Now()
	}
	var gaps []time.Duration
	maxGap := map[int32]time.Duration{}
	changes := 0
	end := time.Now().Add(cfg.StallDuration)
	nextChange := time.Now()
	assigned := map[int]bool{}
	received := 0
	for time.Now().Before(end) {
		if now := time.Now(); !now.Before(nextChange) {
			k := 6 + changes%6
			if assigned[k] {
				c.Unassign(tp(k))
			} else {
				c.Assign(tp(k), topics.LastOffset)
			}
			assigned[k] = !assigned[k]
			changes++
			nextChange = now.Add(100 * time.Millisecond)
		}
		pctx, pcancel := context.WithTimeout(ctx, 100*time.Millisecond)
		b, err := c.Poll(pctx)
		pcancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			continue
		}
		if b.Partition >= 6 {
			continue
		}
		now := time.Now()
		gap := now.Sub(last[b.Partition])
		last[b.Partition] = now
		gaps = append(gaps, gap)
		maxGap[b.Partition] = max(maxGap[b.Partition], gap)
		received += len(b.Records)
	}
	// A partition that went silent until the end counts too.
	for part, t := range last {
		maxGap[part] = max(maxGap[part], time.Since(t))
	}
	worst := time.Duration(0)
	for _, g := range maxGap {
		worst = max(worst, g)
	}
	slices.Sort(gaps)
	p99 := time.Duration(0)
	if len(gaps) > 0 {
		p99 = gaps[len(gaps)*99/100]
	}
	fmt.Fprintf(out, "assign_changes=%d changes\n", changes)
	fmt.Fprintf(out, "untouched_records=%d records\n", received)
	fmt.Fprintf(out, "untouched_gap_p99_ms=%.1f ms\n", float64(p99.Microseconds())/1000)
	fmt.Fprintf(out, "untouched_gap_max_ms=%.1f ms\n", float64(worst.Microseconds())/1000)
	return nil
}
