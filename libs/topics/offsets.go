package topics

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/segmentio/kafka-go"
)

// Special start offsets for Consumer.Assign and the values of ListOffsets.
const (
	FirstOffset int64 = kafka.FirstOffset // -2: the log start
	LastOffset  int64 = kafka.LastOffset  // -1: the log end (only new records)
)

// OffsetRange is the log start and end (next offset to be written) of a partition.
type OffsetRange struct {
	Start, End int64
}

// ListOffsets returns the offset range of every partition of the given topics.
func (a *Admin) ListOffsets(ctx context.Context, topics ...string) (map[TopicPartition]OffsetRange, error) {
	counts, err := a.partitionCounts(ctx, topics)
	if err != nil {
		return nil, err
	}
	req := &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{}}
	for _, t := range topics {
		n, ok := counts[t]
		if !ok {
			return nil, fmt.Errorf("listing offsets of topic %q: %w", t, kafka.UnknownTopicOrPartition)
		}
		for p := range n {
			req.Topics[t] = append(req.Topics[t], kafka.FirstOffsetOf(p), kafka.LastOffsetOf(p))
		}
	}
	// Right after a topic is created (or a leader moves) the broker may answer
	// NOT_LEADER_OR_FOLLOWER or LEADER_NOT_AVAILABLE for a moment: retry those briefly.
	for attempt := 0; ; attempt++ {
		res, err := a.client.ListOffsets(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("listing offsets of %v: %w", topics, err)
		}
		out := map[TopicPartition]OffsetRange{}
		var errs []error
		retry := false
		for t, parts := range res.Topics {
			for _, p := range parts {
				tp := TopicPartition{t, int32(p.Partition)}
				if p.Error != nil {
					retry = retry || leaderMoving(p.Error)
					errs = append(errs, fmt.Errorf("listing offsets of %s: %w", tp, p.Error))
					continue
				}
				out[tp] = OffsetRange{Start: p.FirstOffset, End: p.LastOffset}
			}
		}
		if !retry || attempt >= 30 || ctx.Err() != nil {
			return out, errors.Join(errs...)
		}
		sleepCtx(ctx, 100*time.Millisecond)
	}
}

// leaderMoving reports errors that mean a partition's leader is not known yet or just moved.
func leaderMoving(err error) bool {
	return errors.Is(err, kafka.NotLeaderForPartition) || errors.Is(err, kafka.LeaderNotAvailable) ||
		errors.Is(err, kafka.UnknownLeaderEpoch) || errors.Is(err, kafka.FencedLeaderEpoch)
}

// CommitOffsets stores committed offsets for a consumer group without joining it (generation
// −1, no member id), the way Kafka's own tools reset offsets: Weir assigns partitions through
// etcd, not the group protocol, yet kafka-consumer-groups and lag exporters still see the
// group's position. By Kafka convention the committed offset is the next offset to read.
func (a *Admin) CommitOffsets(ctx context.Context, group string, offsets map[TopicPartition]int64) error {
	if group == "" {
		return errors.New("committing offsets: empty group id")
	}
	if len(offsets) == 0 {
		return nil
	}
	req := &kafka.OffsetCommitRequest{GroupID: group, GenerationID: -1, Topics: map[string][]kafka.OffsetCommit{}}
	for _, tp := range slices.SortedFunc(maps.Keys(offsets), compareTP) {
		req.Topics[tp.Topic] = append(req.Topics[tp.Topic], kafka.OffsetCommit{Partition: int(tp.Partition), Offset: offsets[tp]})
	}
	for attempt := 0; ; attempt++ {
		res, err := a.client.OffsetCommit(ctx, req)
		if err != nil {
			return fmt.Errorf("committing offsets of group %q: %w", group, err)
		}
		var errs []error
		retry := false
		for t, parts := range res.Topics {
			for _, p := range parts {
				if p.Error != nil {
					retry = retry || coordinatorMoving(p.Error)
					errs = append(errs, fmt.Errorf("committing offset of group %q for %s/%d: %w", group, t, p.Partition, p.Error))
				}
			}
		}
		if !retry || attempt >= 20 || ctx.Err() != nil {
			return errors.Join(errs...)
		}
		sleepCtx(ctx, 100*time.Millisecond)
	}
}

// coordinatorMoving reports errors that mean the group coordinator is starting or moving
// (the broker creates __consumer_offsets on first use): retrying soon succeeds.
func coordinatorMoving(err error) bool {
	return errors.Is(err, kafka.NotCoordinatorForGroup) || errors.Is(err, kafka.GroupCoordinatorNotAvailable) ||
		errors.Is(err, kafka.GroupLoadInProgress)
}

// FetchOffsets returns the group's committed offsets for the given partitions; a partition
// without a committed offset is absent from the result.
func (a *Admin) FetchOffsets(ctx context.Context, group string, partitions []TopicPartition) (map[TopicPartition]int64, error) {
	req := &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{}}
	for _, tp := range partitions {
		req.Topics[tp.Topic] = append(req.Topics[tp.Topic], int(tp.Partition))
	}
	var res *kafka.OffsetFetchResponse
	for attempt := 0; ; attempt++ {
		var err error
		res, err = a.client.OffsetFetch(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("fetching offsets of group %q: %w", group, err)
		}
		if res.Error == nil {
			break
		}
		if !coordinatorMoving(res.Error) || attempt >= 20 || ctx.Err() != nil {
			return nil, fmt.Errorf("fetching offsets of group %q: %w", group, res.Error)
		}
		sleepCtx(ctx, 100*time.Millisecond)
	}
	out := map[TopicPartition]int64{}
	var errs []error
	for t, parts := range res.Topics {
		for _, p := range parts {
			tp := TopicPartition{t, int32(p.Partition)}
			switch {
			case p.Error != nil:
				errs = append(errs, fmt.Errorf("fetching offset of group %q for %s: %w", group, tp, p.Error))
			case p.CommittedOffset >= 0:
				out[tp] = p.CommittedOffset
			}
		}
	}
	return out, errors.Join(errs...)
}

// PartitionLag is a group's position in one partition.
type PartitionLag struct {
	Committed int64 // -1 when the group has no committed offset
	End       int64 // log end offset
	Lag       int64 // End − Committed, or End − Start without a committed offset
}

// Lag returns the group's lag on every partition of the given topics, as
// kafka-consumer-groups --describe computes it.
func (a *Admin) Lag(ctx context.Context, group string, topics ...string) (map[TopicPartition]PartitionLag, error) {
	ranges, err := a.ListOffsets(ctx, topics...)
	if err != nil {
		return nil, err
	}
	tps := slices.SortedFunc(maps.Keys(ranges), compareTP)
	committed, err := a.FetchOffsets(ctx, group, tps)
	if err != nil {
		return nil, err
	}
	out := make(map[TopicPartition]PartitionLag, len(tps))
	for _, tp := range tps {
		r := ranges[tp]
		l := PartitionLag{Committed: -1, End: r.End, Lag: r.End - r.Start}
		if c, ok := committed[tp]; ok {
			l.Committed, l.Lag = c, r.End-c
		}
		out[tp] = l
	}
	return out, nil
}

func compareTP(a, b TopicPartition) int {
	if a.Topic != b.Topic {
		if a.Topic < b.Topic {
			return -1
		}
		return 1
	}
	return int(a.Partition - b.Partition)
}
