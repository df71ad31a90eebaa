// Package txn is a minimal Kafka transactional producer and read_committed reader built on
// kafka-go's protocol layer (kafka-go itself has no transactional producer).
//
// It exists as the result of a trial (docs/state.md, "Choice"): Weir's commit protocol does
// not use it. It drives InitProducerId, AddPartitionsToTxn, Produce with a hand-encoded
// transactional record batch, and EndTxn; kafka-go's transport finds the transaction
// coordinator for the requests that carry a transactional id. It supports one transaction at
// a time, uncompressed batches, and no TxnOffsetCommit.
package txn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"

	"github.com/weirhq/weir/libs/topics"
)

// Config configures a Producer.
type Config struct {
	topics.ClientConfig
	// TransactionalID identifies the producer across restarts; a new Producer with the same id
	// fences every older one. Required.
	TransactionalID string
	// TransactionTimeout is how long the coordinator lets a transaction stay open before it
	// aborts it (60 s when zero).
	TransactionTimeout time.Duration
	// RequestTimeout bounds one request (10 s when zero).
	RequestTimeout time.Duration
}

// Producer is one session of a transactional id: a producer id and epoch from the
// coordinator. It is not safe for concurrent use.
type Producer struct {
	cfg       Config
	transport *kafka.Transport
	client    *kafka.Client
	addr      net.Addr

	producerID int64
	epoch      int16

	seq   map[partKey]int32 // next sequence per partition (per producer id and epoch)
	added map[partKey]bool  // partitions added to the open transaction
}

type partKey struct {
	topic     string
	partition int
}

// ProducerID and Epoch are the session the coordinator granted.
func (p *Producer) ProducerID() int64 { return p.producerID }
func (p *Producer) Epoch() int16      { return p.epoch }

// retryable is what the coordinator answers while it loads or moves, or while the previous
// transaction of the id is still being completed.
func retryable(err error) bool {
	return errors.Is(err, kafka.GroupLoadInProgress) || // COORDINATOR_LOAD_IN_PROGRESS (14)
		errors.Is(err, kafka.GroupCoordinatorNotAvailable) || // COORDINATOR_NOT_AVAILABLE (15)
		errors.Is(err, kafka.NotCoordinatorForGroup) || // NOT_COORDINATOR (16)
		errors.Is(err, kafka.ConcurrentTransactions)
}

// NewProducer starts a session for cfg.TransactionalID: InitProducerId bumps the id's epoch,
// which fences any older session and aborts its open transaction. It retries while the
// coordinator is loading (the first use of a cluster creates __transaction_state).
func NewProducer(ctx context.Context, cfg Config) (*Producer, error) {
	var errs []error
	if err := cfg.ClientConfig.Validate(); err != nil {
		errs = append(errs, err)
	}
	if cfg.TransactionalID == "" {
		errs = append(errs, errors.New("txn: TransactionalID is empty"))
	}
	if cfg.TransactionTimeout < 0 || cfg.RequestTimeout < 0 {
		errs = append(errs, errors.New("txn: negative timeout"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.TransactionTimeout == 0 {
		cfg.TransactionTimeout = time.Minute
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = 10 * time.Second
	}
	tr := transport(cfg.ClientConfig)
	p := &Producer{
		cfg:       cfg,
		transport: tr,
		client:    &kafka.Client{Transport: tr, Timeout: cfg.RequestTimeout},
		addr:      kafka.TCP(cfg.Brokers...),
		seq:       map[partKey]int32{},
		added:     map[partKey]bool{},
	}
	err := retry(ctx, func() error {
		res, err := p.client.InitProducerID(ctx, &kafka.InitProducerIDRequest{
			Addr:                 p.addr,
			TransactionalID:      cfg.TransactionalID,
			TransactionTimeoutMs: int(cfg.TransactionTimeout.Milliseconds()),
			// -1/-1: a new session, not the KIP-360 epoch-bump recovery of an existing one.
			ProducerID:    -1,
			ProducerEpoch: -1,
		})
		if err != nil {
			return err
		}
		if res.Error != nil {
			return res.Error
		}
		p.producerID, p.epoch = int64(res.Producer.ProducerID), int16(res.Producer.ProducerEpoch)
		return nil
	})
	if err != nil {
		tr.CloseIdleConnections()
		return nil, fmt.Errorf("initializing producer id for transactional id %q: %w", cfg.TransactionalID, err)
	}
	return p, nil
}

// Close closes the producer's connections. An open transaction stays open until the
// coordinator's timeout or the next session of the transactional id aborts it.
func (p *Producer) Close() { p.transport.CloseIdleConnections() }

// produceRetryable is what a partition leader answers while a new topic's leadership settles
// (seen on the first produce to a topic created a moment before) or while it moves.
func produceRetryable(err error) bool {
	return errors.Is(err, kafka.NotLeaderForPartition) ||
		errors.Is(err, kafka.LeaderNotAvailable) ||
		errors.Is(err, kafka.UnknownTopicOrPartition) ||
		errors.Is(err, kafka.NotEnoughReplicas) ||
		errors.Is(err, kafka.RequestTimedOut)
}

// retry runs f until it succeeds, fails with an error retryable does not accept, or ctx ends.
func retry(ctx context.Context, f func() error) error { return retryWith(ctx, retryable, 0, f) }

// retryWith runs f until it succeeds, fails with an error ok does not accept, has run attempts
// times (no limit when 0), or ctx ends.
func retryWith(ctx context.Context, ok func(error) bool, attempts int, f func() error) error {
	delay := 5 * time.Millisecond // CONCURRENT_TRANSACTIONS after EndTxn clears in milliseconds
	for n := 1; ; n++ {
		err := f()
		if err == nil || !ok(err) || n == attempts {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %w)", ctx.Err(), err)
		case <-time.After(delay):
		}
		delay = min(2*delay, time.Second)
	}
}

// Produce appends recs as one transactional record batch to a partition, adding the partition
// to the open transaction first (a transaction starts with its first Produce). It returns the
// batch's base offset. A fenced producer gets an error matching kafka.ProducerFenced or
// kafka.InvalidProducerEpoch. After any error the partition's sequence is uncertain: abort the
// transaction, or start a new session.
func (p *Producer) Produce(ctx context.Context, topic string, partition int, recs []Record) (int64, error) {
	k := partKey{topic, partition}
	if !p.added[k] {
		if err := p.addPartition(ctx, k); err != nil {
			return -1, err
		}
	}
	batch, err := encodeBatch(batchHeader{
		producerID:    p.producerID,
		producerEpoch: p.epoch,
		baseSequence:  p.seq[k],
		transactional: true,
	}, recs, time.Now())
	if err != nil {
		return -1, fmt.Errorf("producing to %s/%d: %w", topic, partition, err)
	}
	// A retry resends the same batch with the same sequence, so the broker appends it at most
	// once (it answers a duplicate with the original offset).
	var base int64
	err = retryWith(ctx, produceRetryable, 10, func() error {
		res, err := p.client.RawProduce(ctx, &kafka.RawProduceRequest{
			Addr:            p.addr,
			Topic:           topic,
			Partition:       partition,
			RequiredAcks:    kafka.RequireAll,
			TransactionalID: p.cfg.TransactionalID,
			RawRecords:      protocol.RawRecordSet{Reader: bytes.NewReader(batch)},
		})
		if err != nil {
			return err
		}
		base = res.BaseOffset
		return res.Error
	})
	if err != nil {
		return -1, fmt.Errorf("producing to %s/%d: %w", topic, partition, err)
	}
	p.seq[k] += int32(len(recs))
	return base, nil
}

func (p *Producer) addPartition(ctx context.Context, k partKey) error {
	return retry(ctx, func() error {
		res, err := p.client.AddPartitionsToTxn(ctx, &kafka.AddPartitionsToTxnRequest{
			Addr:            p.addr,
			TransactionalID: p.cfg.TransactionalID,
			ProducerID:      int(p.producerID),
			ProducerEpoch:   int(p.epoch),
			Topics:          map[string][]kafka.AddPartitionToTxn{k.topic: {{Partition: k.partition}}},
		})
		if err != nil {
			return fmt.Errorf("adding %s/%d to the transaction: %w", k.topic, k.partition, err)
		}
		for _, rp := range res.Topics[k.topic] {
			if rp.Partition == k.partition {
				if rp.Error != nil {
					return fmt.Errorf("adding %s/%d to the transaction: %w", k.topic, k.partition, rp.Error)
				}
				p.added[k] = true
				return nil
			}
		}
		return fmt.Errorf("adding %s/%d to the transaction: no result for the partition", k.topic, k.partition)
	})
}

// Commit commits the open transaction: its records become visible to read_committed readers.
func (p *Producer) Commit(ctx context.Context) error { return p.end(ctx, true) }

// Abort aborts the open transaction: read_committed readers never see its records.
func (p *Producer) Abort(ctx context.Context) error { return p.end(ctx, false) }

func (p *Producer) end(ctx context.Context, commit bool) error {
	what := "aborting"
	if commit {
		what = "committing"
	}
	err := retry(ctx, func() error {
		res, err := p.client.EndTxn(ctx, &kafka.EndTxnRequest{
			Addr:            p.addr,
			TransactionalID: p.cfg.TransactionalID,
			ProducerID:      int(p.producerID),
			ProducerEpoch:   int(p.epoch),
			Committed:       commit,
		})
		if err != nil {
			return err
		}
		return res.Error
	})
	if err != nil {
		return fmt.Errorf("%s the transaction of %q: %w", what, p.cfg.TransactionalID, err)
	}
	clear(p.added)
	return nil
}

func transport(c topics.ClientConfig) *kafka.Transport {
	dt := c.DialTimeout
	if dt <= 0 {
		dt = 5 * time.Second
	}
	id := c.ClientID
	if id == "" {
		id = "weir"
	}
	return &kafka.Transport{DialTimeout: dt, ClientID: id, TLS: c.TLS, SASL: c.SASL, MetadataTTL: 30 * time.Second}
}
