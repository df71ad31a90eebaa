package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/weirhq/weir/libs/topics"
	"github.com/weirhq/weir/services/controller/plan"
)

// existingTopics describes the topics that exist among ts.
func (s *Service) existingTopics(ctx context.Context, ts []plan.Topic) (map[string]topics.TopicInfo, error) {
	out := map[string]topics.TopicInfo{}
	for _, t := range ts {
		info, err := s.kadmin().DescribeTopic(ctx, t.Spec.Name)
		if errors.Is(err, kafka.UnknownTopicOrPartition) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading topics from Kafka: %w", err)
		}
		out[t.Spec.Name] = info
	}
	return out, nil
}

// ensureTopics creates the missing topics and aligns the configs of the others.
func (s *Service) ensureTopics(ctx context.Context, ts []plan.Topic) error {
	specs := make([]topics.TopicSpec, len(ts))
	for i, t := range ts {
		specs[i] = t.Spec
	}
	res, err := s.kadmin().EnsureTopics(ctx, specs...)
	for _, r := range res {
		if r.Created {
			s.cfg.Log.Info("created topic", "topic", r.Topic)
		}
		if len(r.ConfigsChanged) > 0 {
			s.cfg.Log.Info("set topic configs", "topic", r.Topic, "configs", r.ConfigsChanged)
		}
	}
	if err != nil {
		return refused("provisioning topics: %v", err)
	}
	return nil
}

// recreateTopics deletes the topics (those that exist), waits until Kafka no longer lists
// them, and creates them again, empty.
func (s *Service) recreateTopics(ctx context.Context, ts []plan.Topic) ([]string, error) {
	var names []string
	for _, t := range ts {
		names = append(names, t.Spec.Name)
	}
	if err := s.kadmin().DeleteTopics(ctx, names...); err != nil {
		return nil, fmt.Errorf("deleting topics to recreate them: %w", err)
	}
	if err := s.waitGone(ctx, names); err != nil {
		return nil, err
	}
	// Right after a deletion the broker may still answer for the old topic for a moment (a
	// create then fails as "already exists" and a config read as "unknown topic"): retry.
	deadline := time.Now().Add(time.Minute)
	for {
		err := s.ensureTopics(ctx, ts)
		if err == nil {
			return names, nil
		}
		if time.Now().After(deadline) {
			return nil, err
		}
		s.cfg.Log.Info("recreating topics: retrying", "err", err)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("recreating topics: %w", ctx.Err())
		case <-time.After(time.Second):
		}
	}
}

// waitGone waits until none of the topics exists any more (deletion is asynchronous), seen
// three times in a row.
func (s *Service) waitGone(ctx context.Context, names []string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for absent := 0; absent < 3; {
		left := 0
		for _, n := range names {
			_, err := s.kadmin().DescribeTopic(ctx, n)
			switch {
			case errors.Is(err, kafka.UnknownTopicOrPartition):
			case err != nil && ctx.Err() != nil:
				return fmt.Errorf("waiting for deleted topics to disappear: %w", ctx.Err())
			default:
				left++
			}
		}
		if left == 0 {
			absent++
		} else {
			absent = 0
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for deleted topics %v to disappear: %w", names, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
	return nil
}
