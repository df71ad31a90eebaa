package app

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/weirhq/weir/libs/topics"
)

// TaskGroup is a set of agents that must run together, partition by partition: agents
// that share a source topic, a partitioned table or a repartition topic. Every topic and
// table of a group has the same number of partitions; one task is one partition of one
// group. Global tables and the topics agents only write do not join groups.
type TaskGroup struct {
	Name              string   `json:"name"` // the first of its agents by name
	Partitions        int      `json:"partitions"`
	Agents            []string `json:"agents"`
	Topics            []string `json:"topics"`                       // source topics, by their names in the app
	Tables            []string `json:"tables,omitempty"`             // partitioned tables
	RepartitionTopics []string `json:"repartition_topics,omitempty"` // Kafka names of internal repartition topics
	Changelog         string   `json:"changelog"`                    // Kafka name of the group's changelog topic
}

// TaskGroups returns the app's task groups, sorted by name.
func (a *App) TaskGroups() []TaskGroup { return slices.Clone(a.groups) }

// unionFind joins string-named nodes into sets.
type unionFind map[string]string

func (u unionFind) find(x string) string {
	if _, ok := u[x]; !ok {
		u[x] = x
	}
	for u[x] != x {
		u[x] = u[u[x]] // path halving
		x = u[x]
	}
	return x
}

func (u unionFind) union(x, y string) {
	rx, ry := u.find(x), u.find(y)
	if rx != ry {
		if rx > ry {
			rx, ry = ry, rx
		}
		u[ry] = rx
	}
}

// member is one partitioned thing of a group, with the partition count it declares.
type member struct {
	what       string // "topic.page_views"
	partitions int    // 0: takes the group's
	at         hcl.Range
}

// taskGroups computes the groups and reports groups whose members disagree on their
// partition count.
func (v *validator) taskGroups() {
	a := v.a
	u := unionFind{}
	for _, g := range a.Agents {
		node := "agent:" + g.Name
		u.find(node)
		for _, r := range g.From {
			if v.topics[r.Name] != nil {
				u.union(node, "topic:"+r.Name)
			}
		}
		for _, s := range g.Steps {
			var ref Ref
			switch s.Kind {
			case StepAggregate:
				ref = s.Into
			case StepLookup:
				ref = s.Table
			}
			if t := v.tables[ref.Name]; ref.IsSet() && t != nil && !t.Global {
				u.union(node, "table:"+t.Name)
			}
			if s.Repartition != "" {
				u.union(node, "repartition:"+s.Repartition)
			}
		}
	}
	byRoot := map[string]*TaskGroup{}
	members := map[string][]member{}
	for _, g := range a.Agents { // sorted by name: the first agent names the group
		root := u.find("agent:" + g.Name)
		if byRoot[root] == nil {
			byRoot[root] = &TaskGroup{Name: g.Name}
		}
	}
	for _, node := range sortedKeys(u) {
		tg := byRoot[u.find(node)]
		if tg == nil {
			continue
		}
		kind, name, _ := strings.Cut(node, ":")
		switch kind {
		case "agent":
			tg.Agents = append(tg.Agents, name)
		case "topic":
			tg.Topics = append(tg.Topics, name)
			t := v.topics[name]
			members[tg.Name] = append(members[tg.Name], member{"topic." + name, t.Partitions, *t.ranges.at("partitions", t.DeclRange)})
		case "table":
			tg.Tables = append(tg.Tables, name)
			t := v.tables[name]
			members[tg.Name] = append(members[tg.Name], member{"table." + name, t.Partitions, *t.ranges.at("partitions", t.DeclRange)})
		case "repartition":
			tg.RepartitionTopics = append(tg.RepartitionTopics, name)
		}
	}
	a.groups = a.groups[:0]
	for _, tg := range byRoot {
		tg.Partitions = v.groupPartitions(tg, members[tg.Name])
		tg.Changelog = fmt.Sprintf("%s%s.%s.changelog", weirInternalPrefix, a.Name, tg.Name)
		a.groups = append(a.groups, *tg)
	}
	slices.SortFunc(a.groups, func(x, y TaskGroup) int { return strings.Compare(x.Name, y.Name) })
}

// groupPartitions returns the partition count most members of a group declare, reporting
// the first member that differs (once per group).
func (v *validator) groupPartitions(tg *TaskGroup, ms []member) int {
	counts := map[int]int{}
	best := 0
	for _, m := range ms {
		if m.partitions <= 0 {
			continue
		}
		counts[m.partitions]++
		if best == 0 || counts[m.partitions] > counts[best] {
			best = m.partitions
		}
	}
	if best == 0 {
		best = v.a.Partitions
	}
	if len(counts) <= 1 {
		return best
	}
	var odd *member
	var all []string
	for i, m := range ms {
		if m.partitions <= 0 {
			continue
		}
		all = append(all, fmt.Sprintf("%s has %d", m.what, m.partitions))
		if odd == nil && m.partitions != best {
			odd = &ms[i]
		}
	}
	v.errorf(&odd.at, "Partition counts differ in a task group",
		"Agents %s form one task group (they share source topics, partitioned tables or repartition topics), so all its topics and tables need the same number of partitions, but %s. Make them equal, or make a looked-up table global.",
		listNames(tg.Agents), listNames(all))
	return best
}

// InternalTopics returns the topics Weir creates for the app itself: one changelog per
// task group (compacted, append-time stamped) and the repartition topics. A global table
// has no changelog: every worker follows its source topic directly.
func (a *App) InternalTopics() []topics.TopicSpec {
	var out []topics.TopicSpec
	changelog := func(name string, partitions int) topics.TopicSpec {
		return topics.TopicSpec{
			Name: name, Partitions: partitions, Replication: a.Replication, Cleanup: topics.CleanupCompact,
			Configs: map[string]string{"message.timestamp.type": "LogAppendTime"},
		}
	}
	for _, g := range a.groups {
		out = append(out, changelog(g.Changelog, g.Partitions))
		for _, r := range g.RepartitionTopics {
			out = append(out, topics.TopicSpec{Name: r, Partitions: g.Partitions, Replication: a.Replication, Cleanup: topics.CleanupDelete})
		}
	}
	slices.SortFunc(out, func(x, y topics.TopicSpec) int { return strings.Compare(x.Name, y.Name) })
	return out
}
