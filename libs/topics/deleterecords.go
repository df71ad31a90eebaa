package topics

import (
	"context"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
)

// kafka-go has no DeleteRecords client API; these are the protocol's DeleteRecords v0–v1
// messages (API key 21), sent through kafka-go's transport, which routes each request to
// the leader of its (single) partition.

func init() {
	protocol.Register(&deleteRecordsRequest{}, &deleteRecordsResponse{})
}

type deleteRecordsRequest struct {
	Topics    []deleteRecordsTopic `kafka:"min=v0,max=v1"`
	TimeoutMs int32                `kafka:"min=v0,max=v1"`
}

type deleteRecordsTopic struct {
	Name       string                   `kafka:"min=v0,max=v1"`
	Partitions []deleteRecordsPartition `kafka:"min=v0,max=v1"`
}

type deleteRecordsPartition struct {
	PartitionIndex int32 `kafka:"min=v0,max=v1"`
	Offset         int64 `kafka:"min=v0,max=v1"`
}

func (r *deleteRecordsRequest) ApiKey() protocol.ApiKey { return protocol.DeleteRecords }

// Broker is the leader of the request's partition (requests carry exactly one).
func (r *deleteRecordsRequest) Broker(c protocol.Cluster) (protocol.Broker, error) {
	if len(r.Topics) != 1 || len(r.Topics[0].Partitions) != 1 {
		return protocol.Broker{}, fmt.Errorf("a DeleteRecords request must name one partition")
	}
	name, p := r.Topics[0].Name, r.Topics[0].Partitions[0].PartitionIndex
	t, ok := c.Topics[name]
	if !ok {
		return protocol.Broker{}, fmt.Errorf("topic %q: %w", name, kafka.UnknownTopicOrPartition)
	}
	part, ok := t.Partitions[p]
	if !ok {
		return protocol.Broker{}, fmt.Errorf("partition %s/%d: %w", name, p, kafka.UnknownTopicOrPartition)
	}
	b, ok := c.Brokers[part.Leader]
	if !ok {
		return protocol.Broker{}, fmt.Errorf("partition %s/%d: %w", name, p, kafka.LeaderNotAvailable)
	}
	return b, nil
}

type deleteRecordsResponse struct {
	ThrottleTimeMs int32                        `kafka:"min=v0,max=v1"`
	Topics         []deleteRecordsResponseTopic `kafka:"min=v0,max=v1"`
}

type deleteRecordsResponseTopic struct {
	Name       string                           `kafka:"min=v0,max=v1"`
	Partitions []deleteRecordsResponsePartition `kafka:"min=v0,max=v1"`
}

type deleteRecordsResponsePartition struct {
	PartitionIndex int32 `kafka:"min=v0,max=v1"`
	LowWatermark   int64 `kafka:"min=v0,max=v1"`
	ErrorCode      int16 `kafka:"min=v0,max=v1"`
}

func (r *deleteRecordsResponse) ApiKey() protocol.ApiKey { return protocol.DeleteRecords }

var _ protocol.BrokerMessage = (*deleteRecordsRequest)(nil)

// DeleteRecords deletes the records of each partition before the given offset (Kafka's
// DeleteRecords: the partition's log start offset moves up to it). It returns the new log
// start offsets. The caller must only pass offsets every reader of the partition has
// consumed and committed.
func (a *Admin) DeleteRecords(ctx context.Context, before map[TopicPartition]int64) (map[TopicPartition]int64, error) {
	out := make(map[TopicPartition]int64, len(before))
	for tp, off := range before {
		if tp.Topic == "" || tp.Partition < 0 || off < 0 {
			return out, fmt.Errorf("deleting records: bad position %s=%d", tp, off)
		}
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		req := &deleteRecordsRequest{TimeoutMs: 10000, Topics: []deleteRecordsTopic{{Name: tp.Topic,
			Partitions: []deleteRecordsPartition{{PartitionIndex: tp.Partition, Offset: off}}}}}
		var msg protocol.Message
		err := a.meta.retry(rctx, func() (err error) { // the topic may be new to the cached metadata
			msg, err = a.client.Transport.RoundTrip(rctx, a.client.Addr, req)
			return err
		})
		cancel()
		if err != nil {
			return out, fmt.Errorf("deleting records of %s before %d: %w", tp, off, err)
		}
		res, ok := msg.(*deleteRecordsResponse)
		if !ok {
			return out, fmt.Errorf("deleting records of %s: unexpected response %T", tp, msg)
		}
		for _, t := range res.Topics {
			for _, p := range t.Partitions {
				if p.ErrorCode != 0 {
					return out, fmt.Errorf("deleting records of %s before %d: %w", tp, off, kafka.Error(p.ErrorCode))
				}
				out[TopicPartition{Topic: t.Name, Partition: p.PartitionIndex}] = p.LowWatermark
			}
		}
	}
	return out, nil
}
