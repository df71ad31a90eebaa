package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/weirhq/weir/libs/topics"
)

// kafkaOps holds the Kafka requests libs/topics does not offer: offsets by timestamp and
// group deletion. (Candidates for libs/topics.Admin.)
type kafkaOps struct {
	client *kafka.Client
}

func newKafkaOps(cfg topics.ClientConfig) *kafkaOps {
	id := cfg.ClientID
	if id == "" {
		id = "weir"
	}
	dial := cfg.DialTimeout
	if dial <= 0 {
		dial = 5 * time.Second
	}
	return &kafkaOps{client: &kafka.Client{
		Addr:    kafka.TCP(cfg.Brokers...),
		Timeout: 30 * time.Second,
		Transport: &kafka.Transport{
			DialTimeout: dial, IdleTimeout: time.Minute, MetadataTTL: 30 * time.Second,
			ClientID: id, TLS: cfg.TLS, SASL: cfg.SASL,
		},
	}}
}

// offsetsAt returns, per partition, the offset of the first record stamped at or after t;
// a partition with no such record is absent.
func (k *kafkaOps) offsetsAt(ctx context.Context, partitions map[topics.TopicPartition]topics.OffsetRange, t time.Time) (map[topics.TopicPartition]int64, error) {
	req := &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{}}
	for tp := range partitions {
		req.Topics[tp.Topic] = append(req.Topics[tp.Topic], kafka.TimeOffsetOf(int(tp.Partition), t))
	}
	res, err := k.client.ListOffsets(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("listing offsets at %s: %w", t.Format(time.RFC3339), err)
	}
	out := map[topics.TopicPartition]int64{}
	var errs []error
	for topic, parts := range res.Topics {
		for _, p := range parts {
			tp := topics.TopicPartition{Topic: topic, Partition: int32(p.Partition)}
			if p.Error != nil {
				errs = append(errs, fmt.Errorf("listing offsets of %s at %s: %w", tp, t.Format(time.RFC3339), p.Error))
				continue
			}
			for off := range p.Offsets {
				if off >= 0 {
					out[tp] = off
				}
			}
		}
	}
	return out, errors.Join(errs...)
}

// deleteGroup deletes a consumer group and its committed offsets; a group that does not exist
// is not an error.
func (k *kafkaOps) deleteGroup(ctx context.Context, group string) error {
	res, err := k.client.DeleteGroups(ctx, &kafka.DeleteGroupsRequest{GroupIDs: []string{group}})
	if err != nil {
		return fmt.Errorf("deleting consumer group %q: %w", group, err)
	}
	if err := res.Errors[group]; err != nil && !errors.Is(err, kafka.GroupIdNotFound) {
		return fmt.Errorf("deleting consumer group %q: %w", group, err)
	}
	return nil
}
