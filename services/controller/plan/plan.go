package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"

	weirv1 "github.com/weirhq/weir/gen/weir/v1"
	"github.com/weirhq/weir/libs/config/app"
	"github.com/weirhq/weir/libs/topics"
)

// Topic actions.
const (
	TopicCreate        = "create"
	TopicUpdateConfigs = "update_configs"
	TopicUnchanged     = "unchanged"
	TopicRefused       = "refused"
	TopicRecreate      = "recreate"
)

// Input is what Make plans from.
type Input struct {
	// CurrentVersion and Current are the app's current version number and normalized JSON;
	// 0 and nil for a new app.
	CurrentVersion int64
	Current        []byte
	// Next is the app to apply and NextJSON its normalized JSON.
	Next     *app.App
	NextJSON []byte
	// Existing holds what Kafka says about each topic of Topics(Next) that exists, by name.
	Existing map[string]topics.TopicInfo
	// ResetState allows state-breaking changes: the apply then wipes the app's state.
	ResetState bool
}

// Make computes the plan of applying in.Next.
func Make(in Input) (*weirv1.Plan, error) {
	old, err := parse(in.Current)
	if err != nil {
		return nil, fmt.Errorf("planning: current version: %w", err)
	}
	next, err := parse(in.NextJSON)
	if err != nil || next == nil {
		return nil, fmt.Errorf("planning: new version: %w", err)
	}
	p := &weirv1.Plan{
		App:               in.Next.Name,
		CurrentVersion:    in.CurrentVersion,
		DefinitionChanged: !sameJSON(in.Current, in.NextJSON),
	}
	if p.Changes, err = changes(old, next); err != nil {
		return nil, fmt.Errorf("planning: %w", err)
	}
	p.StateBreaks = stateBreaks(old, next)
	p.ResetsState = in.ResetState && len(p.StateBreaks) > 0

	for _, t := range Topics(in.Next) {
		tc := topicChange(t, in.Existing, p.ResetsState)
		p.Topics = append(p.Topics, tc)
		if tc.Action == TopicRefused {
			p.Refusals = append(p.Refusals, tc.Reason)
		}
	}
	if old != nil {
		used := map[string]bool{}
		for _, t := range Topics(in.Next) {
			used[t.Spec.Name] = true
		}
		for _, name := range slices.Sorted(maps.Keys(old.kafkaTopics())) {
			if !used[name] {
				p.Changes = append(p.Changes, &weirv1.ObjectChange{Kind: "kafka_topic", Name: name, Action: ActionRemove,
					Details: []string{"no longer used; kept in Kafka (delete it yourself when its data is not needed)"}})
			}
		}
	}
	if len(p.StateBreaks) > 0 && !in.ResetState {
		p.Refusals = append(p.Refusals, fmt.Sprintf("%d change(s) break the app's stored state (listed under State); "+
			"apply them with --reset-state, which wipes every table of the app and rebuilds it from its input topics", len(p.StateBreaks)))
	}
	p.Allowed = len(p.Refusals) == 0
	p.NoChanges = !p.DefinitionChanged && !p.ResetsState && allUnchanged(p.Topics)
	p.Text = Text(p)
	return p, nil
}

// sameJSON reports whether two JSON documents hold the same values (etcd stores the
// normalized JSON compacted).
func sameJSON(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func allUnchanged(ts []*weirv1.TopicChange) bool {
	for _, t := range ts {
		if t.Action != TopicUnchanged {
			return false
		}
	}
	return true
}

// topicChange compares one needed topic with what exists.
func topicChange(t Topic, existing map[string]topics.TopicInfo, resetsState bool) *weirv1.TopicChange {
	s := t.Spec
	tc := &weirv1.TopicChange{Name: s.Name, Role: t.Role, Partitions: int32(s.Partitions)}
	info, ok := existing[s.Name]
	want := s.ConfigEntries()
	switch {
	case !ok:
		tc.Action = TopicCreate
		tc.Configs = want
		if s.Replication > 0 {
			tc.Configs["replication.factor"] = strconv.Itoa(s.Replication)
		}
	case t.Internal() && t.Role != RoleDeadLetter && resetsState:
		tc.Action = TopicRecreate
		tc.Configs = want
		tc.Reason = "state reset: deleted and created again empty"
	case info.Partitions != s.Partitions:
		tc.Action = TopicRefused
		tc.Reason = (&topics.PartitionMismatchError{Topic: s.Name, Have: info.Partitions, Declared: s.Partitions}).Error()
	default:
		diff := map[string]string{}
		for k, v := range want {
			if info.Configs[k] != v {
				diff[k] = v
			}
		}
		if len(diff) > 0 {
			tc.Action = TopicUpdateConfigs
			tc.Configs = diff
		} else {
			tc.Action = TopicUnchanged
		}
	}
	return tc
}
