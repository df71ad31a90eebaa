package txn

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	fetchapi "github.com/segmentio/kafka-go/protocol/fetch"

	"github.com/weirhq/weir/libs/topics"
)

// Reader fetches one partition at isolation level read_committed. kafka-go passes the
// isolation level to the broker (which then stops at the last stable offset) but never drops
// the records of aborted transactions itself: neither kafka.Reader nor kafka.Client.Fetch
// exposes the fetch response's aborted-transaction list. Reader does the filtering.
type Reader struct {
	transport *kafka.Transport
	addr      net.Addr
}

// NewReader builds a Reader.
func NewReader(cfg topics.ClientConfig) (*Reader, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Reader{transport: transport(cfg), addr: kafka.TCP(cfg.Brokers...)}, nil
}

// Close closes the reader's connections.
func (r *Reader) Close() { r.transport.CloseIdleConnections() }

// FetchedRecord is one committed (or non-transactional) record.
type FetchedRecord struct {
	Offset int64
	Key    []byte
	Value  []byte // nil for a tombstone
}

// Fetched is the result of one fetch.
type Fetched struct {
	Records []FetchedRecord
	// Next is the offset to fetch from next: past every batch returned, skipped or not.
	Next int64
	// LastStable is the partition's last stable offset: no transaction is open below it.
	LastStable    int64
	HighWatermark int64
	// AbortedSkipped counts the records dropped because their transaction aborted.
	AbortedSkipped int
}

// Fetch reads from offset up to the last stable offset (at most about 1 MiB), waiting up to
// maxWait for data.
func (r *Reader) Fetch(ctx context.Context, topic string, partition int, offset int64, maxWait time.Duration) (Fetched, error) {
	const maxBytes = 1 << 20
	msg, err := r.transport.RoundTrip(ctx, r.addr, &fetchapi.Request{
		ReplicaID:      -1,
		MaxWaitTime:    int32(maxWait.Milliseconds()),
		MinBytes:       1,
		MaxBytes:       maxBytes,
		IsolationLevel: int8(kafka.ReadCommitted),
		SessionID:      0,
		SessionEpoch:   -1, // no fetch session
		Topics: []fetchapi.RequestTopic{{
			Topic: topic,
			Partitions: []fetchapi.RequestPartition{{
				Partition:          int32(partition),
				CurrentLeaderEpoch: -1,
				FetchOffset:        offset,
				LogStartOffset:     -1,
				PartitionMaxBytes:  maxBytes,
			}},
		}},
	})
	if err != nil {
		return Fetched{}, fmt.Errorf("fetching %s/%d at %d: %w", topic, partition, offset, err)
	}
	res, ok := msg.(*fetchapi.Response)
	if !ok || len(res.Topics) != 1 || len(res.Topics[0].Partitions) != 1 {
		return Fetched{}, fmt.Errorf("fetching %s/%d at %d: unexpected response", topic, partition, offset)
	}
	if res.ErrorCode != 0 {
		return Fetched{}, fmt.Errorf("fetching %s/%d at %d: %w", topic, partition, offset, kafka.Error(res.ErrorCode))
	}
	p := &res.Topics[0].Partitions[0]
	if p.ErrorCode != 0 {
		return Fetched{}, fmt.Errorf("fetching %s/%d at %d: %w", topic, partition, offset, kafka.Error(p.ErrorCode))
	}
	out := Fetched{Next: offset, LastStable: p.LastStableOffset, HighWatermark: p.HighWatermark}
	if p.RecordSet.Records == nil {
		return out, nil
	}
	stream, ok := p.RecordSet.Records.(*protocol.RecordStream)
	if !ok {
		return Fetched{}, fmt.Errorf("fetching %s/%d at %d: record set is a %T, not a stream of v2 batches", topic, partition, offset, p.RecordSet.Records)
	}
	if err := filterCommitted(stream.Records, p.AbortedTransactions, offset, &out); err != nil {
		return Fetched{}, fmt.Errorf("fetching %s/%d at %d: %w", topic, partition, offset, err)
	}
	return out, nil
}

// filterCommitted applies the read_committed rule to the batches of one fetch: a
// transactional batch is dropped when its producer has an aborted transaction that started at
// or before it and whose abort marker has not been passed yet; control batches are never
// returned. The broker lists, per fetch, the aborted transactions overlapping the range.
func filterCommitted(batches []protocol.RecordReader, aborted []fetchapi.ResponseTransaction, from int64, out *Fetched) error {
	aborted = slices.Clone(aborted)
	slices.SortFunc(aborted, func(a, b fetchapi.ResponseTransaction) int { return cmp.Compare(a.FirstOffset, b.FirstOffset) })
	abortedPIDs := map[int64]bool{}
	for _, b := range batches {
		switch b := b.(type) {
		case *protocol.ControlBatch:
			for len(aborted) > 0 && aborted[0].FirstOffset <= b.BaseOffset {
				abortedPIDs[aborted[0].ProducerID] = true
				aborted = aborted[1:]
			}
			for {
				cr, err := b.ReadControlRecord()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					return fmt.Errorf("reading control record: %w", err)
				}
				out.Next = max(out.Next, cr.Offset+1)
				if cr.Type == 0 { // abort marker: that transaction is over
					delete(abortedPIDs, b.ProducerID)
				}
			}
		case *protocol.RecordBatch:
			for len(aborted) > 0 && aborted[0].FirstOffset <= b.BaseOffset {
				abortedPIDs[aborted[0].ProducerID] = true
				aborted = aborted[1:]
			}
			drop := b.Attributes.Transactional() && abortedPIDs[b.ProducerID]
			for {
				rec, err := b.ReadRecord()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					return fmt.Errorf("reading record: %w", err)
				}
				out.Next = max(out.Next, rec.Offset+1)
				if rec.Offset < from {
					closeRecord(rec)
					continue
				}
				if drop {
					out.AbortedSkipped++
					closeRecord(rec)
					continue
				}
				fr := FetchedRecord{Offset: rec.Offset}
				if fr.Key, err = readBytes(rec.Key); err == nil {
					fr.Value, err = readBytes(rec.Value)
				}
				closeRecord(rec)
				if err != nil {
					return fmt.Errorf("reading record at %d: %w", rec.Offset, err)
				}
				out.Records = append(out.Records, fr)
			}
		default:
			return fmt.Errorf("unexpected batch type %T", b)
		}
	}
	return nil
}

func readBytes(b protocol.Bytes) ([]byte, error) {
	if b == nil {
		return nil, nil
	}
	v, err := protocol.ReadAll(b)
	if err != nil {
		return nil, err
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

func closeRecord(r *protocol.Record) {
	if r.Key != nil {
		r.Key.Close()
	}
	if r.Value != nil {
		r.Value.Close()
	}
}
