package plan

import (
	"github.com/weirhq/weir/libs/cluster"
	"slices"
	"strings"
	"time"

	"github.com/weirhq/weir/libs/config/app"
	"github.com/weirhq/weir/libs/topics"
)

// Topic roles.
const (
	RoleDeclared    = "declared"
	RoleChangelog   = "changelog"
	RoleRepartition = "repartition"
	RoleDeadLetter  = "dead_letter"
)

// Settings of every changelog topic, as the commit protocol needs them (docs/controller.md).
const (
	// ChangelogMaxMessageBytes raises max.message.bytes so that one commit batch (a task's net
	// table changes and its marker) fits: 8 MiB.
	ChangelogMaxMessageBytes = 8 << 20
	// ChangelogMinCompactionLag keeps every record uncompacted for an hour, far longer than a
	// new active needs to detect and repair a zombie's batch.
	ChangelogMinCompactionLag = time.Hour
	// TimestampType makes the broker stamp changelog records with append time.
	TimestampType = "LogAppendTime"
)

// Topic is one topic the app needs, with its role.
type Topic struct {
	Spec topics.TopicSpec
	Role string
}

// Internal reports whether Weir owns the topic (delete and reset may remove or recreate it).
func (t Topic) Internal() bool { return t.Role != RoleDeclared }

// DeadLetterTopic is the Kafka name of an app's own dead-letter topic, which receives records
// Weir cannot process at all (such as a value too large for a commit batch).
func DeadLetterTopic(appName string) string { return "weir." + appName + ".dead-letters" }

// ConsumerGroup is the Kafka consumer group an app's workers commit their input offsets to.
func ConsumerGroup(appName string) string { return cluster.ConsumerGroup(appName) }

// Topics returns every topic a validated app needs, sorted by name: its declared topics, its
// internal topics (changelogs with the commit protocol's settings, repartition topics) and
// its dead-letter topic.
func Topics(a *app.App) []Topic {
	var out []Topic
	for _, t := range a.Topics {
		out = append(out, Topic{Spec: t.Spec(), Role: RoleDeclared})
	}
	changelogs := map[string]bool{}
	for _, g := range a.TaskGroups() {
		changelogs[g.Changelog] = true
	}
	for _, s := range a.InternalTopics() {
		role := RoleRepartition
		switch {
		case changelogs[s.Name]:
			role = RoleChangelog
		}
		if role != RoleRepartition {
			s.Cleanup = topics.CleanupCompact
			s.MinCompactionLag = ChangelogMinCompactionLag
			s.MaxMessageBytes = ChangelogMaxMessageBytes
			configs := map[string]string{}
			for k, v := range s.Configs {
				configs[k] = v
			}
			configs["message.timestamp.type"] = TimestampType
			s.Configs = configs
		}
		out = append(out, Topic{Spec: s, Role: role})
	}
	out = append(out, Topic{Role: RoleDeadLetter, Spec: topics.TopicSpec{
		Name: DeadLetterTopic(a.Name), Partitions: a.Partitions, Replication: a.Replication, Cleanup: topics.CleanupDelete,
	}})
	slices.SortFunc(out, func(x, y Topic) int { return strings.Compare(x.Spec.Name, y.Spec.Name) })
	return out
}

// SourceTopics returns the Kafka names of the topics the app's agents and global tables read:
// the topics whose offsets its consumer group holds.
func SourceTopics(a *app.App) []string {
	set := map[string]bool{}
	for _, g := range a.Agents {
		for _, r := range g.From {
			if t := a.Topic(r.Name); t != nil {
				set[t.Kafka] = true
			}
		}
	}
	for _, t := range a.Tables {
		if t.Global && t.Source.IsSet() {
			if src := a.Topic(t.Source.Name); src != nil {
				set[src.Kafka] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}
