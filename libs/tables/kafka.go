package tables

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/weirhq/weir/libs/topics"
)

// Appender appends records to one partition as a single record batch and returns the
// offset of the first; *topics.Producer implements it. It must be safe for concurrent use.
type Appender interface {
	AppendBatch(ctx context.Context, topic string, partition int32, recs []topics.Record) (int64, error)
}

// Kafka is the Kafka side of the tables of one worker, shared by its tasks and standbys.
type Kafka struct {
	// Producer appends commit batches (a *topics.Producer).
	Producer Appender
	// Admin lists changelog end offsets.
	Admin *topics.Admin
	// Consumer configures the consumers that restores and standbys create; restores raise its
	// fetch sizes (see restoreConsumerConfig).
	Consumer topics.ConsumerConfig
}

func (k Kafka) validate(needProducer bool) error {
	var errs []error
	if needProducer && k.Producer == nil {
		errs = append(errs, errors.New("no producer"))
	}
	if k.Admin == nil {
		errs = append(errs, errors.New("no admin client"))
	}
	if err := k.Consumer.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// offsets returns the start and end (next offset to be written) of a changelog partition.
func (k Kafka) offsets(ctx context.Context, tp topics.TopicPartition) (topics.OffsetRange, error) {
	all, err := k.Admin.ListOffsets(ctx, tp.Topic)
	if err != nil {
		return topics.OffsetRange{}, fmt.Errorf("listing offsets of %s: %w", tp, err)
	}
	r, ok := all[tp]
	if !ok {
		return topics.OffsetRange{}, fmt.Errorf("listing offsets of %s: the topic has no such partition", tp)
	}
	return r, nil
}

// changelogReader reads a task's changelog partition for its restore: Kafka in production, an
// in-memory log in unit tests.
type changelogReader interface {
	// offsets returns the start and end (next offset to be written) of the partition.
	offsets(ctx context.Context, tp topics.TopicPartition) (topics.OffsetRange, error)
	// restoreRange calls fn for every record from offset `from` up to `to` (exclusive), in
	// order; offsets compaction removed are absent.
	restoreRange(ctx context.Context, tp topics.TopicPartition, from, to int64, fn func(*topics.Record) error) error
}

// restoreRange reads a range with a consumer tuned for restores.
func (k Kafka) restoreRange(ctx context.Context, tp topics.TopicPartition, from, to int64, fn func(*topics.Record) error) error {
	return readRange(ctx, restoreConsumerConfig(k.Consumer), tp, from, to, fn)
}

// restoreConsumerConfig tunes a consumer for reading a changelog from far behind. Measured
// with bench-restore (1M 24-byte records): 1 MiB per partition and fetch with 8 fetched
// batches buffered restores fastest and keeps the peak RSS lowest; 4-16 MiB fetches were
// slower (fetch, decode and apply overlap less) and used 2-6× the memory.
func restoreConsumerConfig(c topics.ConsumerConfig) topics.ConsumerConfig {
	c.PartitionMaxBytes = max(c.PartitionMaxBytes, 1<<20)
	c.MaxBytes = max(c.MaxBytes, 8<<20)
	if c.Buffer <= 0 || c.Buffer > 8 {
		c.Buffer = 8
	}
	c.OnOutOfRange = "earliest"
	return c
}

// errStop ends follow without an error.
var errStop = errors.New("stop following")

// stallTimeout bounds how long a bounded read may make no progress before it fails.
const stallTimeout = time.Minute

// follow consumes one partition from offset `from` with its own consumer, calling onBatch for
// every polled batch and onTick about once a second while nothing arrives (with the
// consumer's view of the partition). It returns when a callback returns an error (nil for
// errStop) or ctx ends. The consumer goroutine is owned by follow and stopped before it returns.
func follow(ctx context.Context, cfg topics.ConsumerConfig, tp topics.TopicPartition, from int64,
	onBatch func(topics.Batch) error, onTick func(topics.Assignment) error) error {
	c, err := topics.NewConsumer(cfg)
	if err != nil {
		return err
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(rctx) }()
	defer func() {
		cancel()
		<-done
	}()
	c.Assign(tp, from)
	for {
		pctx, pcancel := context.WithTimeout(ctx, time.Second)
		b, err := c.Poll(pctx)
		pcancel()
		switch {
		case err == nil:
			err = onBatch(b)
		case ctx.Err() != nil:
			return ctx.Err()
		default:
			var a topics.Assignment
			for _, x := range c.Assignments() {
				if x.TopicPartition == tp {
					a = x
				}
			}
			err = onTick(a)
		}
		if errors.Is(err, errStop) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// readRange calls fn for every record of tp in [from, to), in order.
func readRange(ctx context.Context, cfg topics.ConsumerConfig, tp topics.TopicPartition, from, to int64,
	fn func(*topics.Record) error) error {
	if from >= to {
		return nil
	}
	pos := from
	lastProgress := time.Now()
	onBatch := func(b topics.Batch) error {
		for i := range b.Records {
			r := &b.Records[i]
			if r.Offset >= to {
				return errStop
			}
			if err := fn(r); err != nil {
				return err
			}
			pos = r.Offset + 1
		}
		lastProgress = time.Now()
		if pos >= to {
			return errStop
		}
		return nil
	}
	onTick := func(a topics.Assignment) error {
		if a.Position >= to {
			return errStop // the rest was compacted away or holds control records only
		}
		if time.Since(lastProgress) > stallTimeout {
			return fmt.Errorf("reading %s: no progress at offset %d (of %d) for %s: %v", tp, pos, to, stallTimeout, a.Err)
		}
		return nil
	}
	if err := follow(ctx, cfg, tp, from, onBatch, onTick); err != nil {
		return fmt.Errorf("reading %s from %d to %d: %w", tp, from, to, err)
	}
	return nil
}
