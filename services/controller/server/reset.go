package server

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"connectrpc.com/connect"

	weirv1 "github.com/weirhq/weir/gen/weir/v1"
	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/libs/topics"
	"github.com/weirhq/weir/services/controller/plan"
)

// Reset targets.
const (
	ResetEarliest  = "earliest"
	ResetLatest    = "latest"
	ResetTimestamp = "timestamp"
	ResetNone      = "none"
)

// Reset pauses the app, rewinds its consumer group, optionally wipes its state, raises its
// epoch floor and resumes it.
func (s *Service) Reset(ctx context.Context, req *connect.Request[weirv1.ResetRequest]) (*connect.Response[weirv1.ResetResponse], error) {
	m := req.Msg
	if m.GetApp() == "" {
		return nil, invalid("app is required")
	}
	switch m.GetTo() {
	case ResetEarliest, ResetLatest:
	case ResetTimestamp:
		if m.GetTimestamp() == nil {
			return nil, invalid("to = timestamp needs a timestamp")
		}
	case ResetNone:
		if !m.GetWipeState() {
			return nil, invalid("nothing to do: to = none without wipe_state")
		}
	default:
		return nil, invalid("to must be earliest, latest, timestamp or none, got %q", m.GetTo())
	}
	guard, err := s.leaderGuard()
	if err != nil {
		return nil, err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	st, cur, err := s.current(ctx, m.GetApp())
	if err != nil {
		return nil, err
	}
	group := plan.ConsumerGroup(cur.App.Name)
	resp := &weirv1.ResetResponse{ConsumerGroup: group}
	rewind := func(ctx context.Context) error {
		if m.GetTo() == ResetNone {
			return nil
		}
		offsets, err := s.targetOffsets(ctx, plan.SourceTopics(cur.App), m.GetTo(), m.GetTimestamp().AsTime())
		if err != nil {
			return err
		}
		if err := s.kadmin().CommitOffsets(ctx, group, offsets); err != nil {
			return fmt.Errorf("committing offsets of group %q: %w", group, err)
		}
		for _, tp := range slices.SortedFunc(maps.Keys(offsets), compareTP) {
			resp.Offsets = append(resp.Offsets, &weirv1.PartitionOffset{Topic: tp.Topic, Partition: tp.Partition, Offset: offsets[tp]})
		}
		return nil
	}
	reason := fmt.Sprintf("reset to %s", m.GetTo())
	if m.GetWipeState() {
		reason += " with state wipe"
	}
	log := s.cfg.Log.With("app", cur.App.Name)
	w := &wipe{s: s, app: cur.App.Name, guard: guard, headRev: st.HeadRev, log: log}
	ops, recreated, floor, err := w.run(ctx, st, plan.Topics(cur.App), reason, m.GetForce(), m.GetWipeState(), m.GetTo() != ResetNone, rewind)
	if err != nil {
		return nil, s.rpcError(err)
	}
	if _, err := cluster.CommitApp(ctx, s.cfg.Etcd, s.cfg.Layout, guard, cluster.AppWrite{App: cur.App.Name, HeadRev: st.HeadRev, Ops: ops}); err != nil {
		return nil, s.rpcError(err)
	}
	resp.StateWiped = m.GetWipeState()
	resp.RecreatedTopics = recreated
	resp.EpochFloor = floor.Floor
	if len(plan.SourceTopics(cur.App)) == 0 && m.GetTo() != ResetNone {
		resp.Warnings = append(resp.Warnings, "the app reads no topics: no offsets to reset")
	}
	log.Info("reset", "to", m.GetTo(), "wiped", m.GetWipeState(), "epoch_floor", floor.Floor, "offsets", len(resp.Offsets))
	return connect.NewResponse(resp), nil
}

// current reads an app and parses its current version; NOT_FOUND if it does not exist.
func (s *Service) current(ctx context.Context, name string) (cluster.AppState, *parsed, error) {
	st, err := cluster.ReadApp(ctx, s.cfg.Etcd, s.cfg.Layout, name)
	if err != nil {
		return st, nil, s.rpcError(err)
	}
	if st.Current == nil {
		return st, nil, notFound("app %q does not exist", name)
	}
	p, _, err := parse(sourceOf(*st.Current))
	if err != nil {
		return st, nil, connect.NewError(connect.CodeInternal, fmt.Errorf("the stored version %d of app %q no longer parses: %w", st.Current.Version, name, err))
	}
	return st, p, nil
}

// targetOffsets computes where the group restarts in every partition of the topics.
func (s *Service) targetOffsets(ctx context.Context, names []string, to string, at time.Time) (map[topics.TopicPartition]int64, error) {
	if len(names) == 0 {
		return nil, nil
	}
	ranges, err := s.listOffsets(ctx, names)
	if err != nil {
		return nil, err
	}
	out := map[topics.TopicPartition]int64{}
	for tp, r := range ranges {
		switch to {
		case ResetEarliest:
			out[tp] = r.Start
		default:
			out[tp] = r.End
		}
	}
	if to == ResetTimestamp {
		found, err := s.kafka.offsetsAt(ctx, ranges, at)
		if err != nil {
			return nil, err
		}
		maps.Copy(out, found) // partitions without a record at or after `at` start at their end
	}
	return out, nil
}

// listOffsets lists the topics' offset ranges, retrying for a while: right after a topic is
// created or its leadership moves, brokers answer "not leader" until metadata settles.
func (s *Service) listOffsets(ctx context.Context, names []string) (map[topics.TopicPartition]topics.OffsetRange, error) {
	deadline := time.Now().Add(15 * time.Second)
	for {
		ranges, err := s.kadmin().ListOffsets(ctx, names...)
		if err == nil {
			return ranges, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("listing offsets: %w", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func compareTP(a, b topics.TopicPartition) int {
	if a.Topic != b.Topic {
		if a.Topic < b.Topic {
			return -1
		}
		return 1
	}
	return int(a.Partition - b.Partition)
}
