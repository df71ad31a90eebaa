package cluster

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// DefaultPrefix is the root of every Weir key in etcd.
const DefaultPrefix = "/weir"

// TaskKey names one task: one partition of one task group of an app.
type TaskKey struct {
	App       string `json:"app"`
	Group     string `json:"group"`
	Partition int    `json:"partition"`
}

func (t TaskKey) String() string { return fmt.Sprintf("%s/%s/%d", t.App, t.Group, t.Partition) }

// Compare orders tasks by app, group, then partition.
func (t TaskKey) Compare(o TaskKey) int { return compareTasks(t, o) }

// Layout builds and parses Weir's etcd keys under one prefix. The zero value uses DefaultPrefix;
// tests and benchmarks use a unique prefix each.
//
//	<prefix>/workers/<worker>                                   WorkerRecord, leased
//	<prefix>/status/<worker>                                    WorkerStatus, leased
//	<prefix>/apps/<app>/topology                                Topology
//	<prefix>/apps/<app>/assignments/<group>/<partition>         Assignment
//	<prefix>/apps/<app>/handoffs/<group>/<partition>            Handoff (released)
//	<prefix>/workers-index/<worker>/<app>/<group>/<partition>   Assignment (copy, same txn)
//	<prefix>/controllers/leader                                 election prefix
type Layout struct {
	Prefix string
}

func (l Layout) root() string {
	if l.Prefix == "" {
		return DefaultPrefix
	}
	return strings.TrimSuffix(l.Prefix, "/")
}

func (l Layout) join(segments ...string) string {
	var b strings.Builder
	b.WriteString(l.root())
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

// All is the prefix of every key of this layout (for cleanup and tests).
func (l Layout) All() string { return l.root() + "/" }

// WorkersPrefix is the prefix of every worker membership key.
func (l Layout) WorkersPrefix() string { return l.join("workers") + "/" }

// Worker is the membership key of a worker, put under the worker's lease.
func (l Layout) Worker(id string) string { return l.join("workers", id) }

// ParseWorker returns the worker id of a membership key.
func (l Layout) ParseWorker(key string) (string, error) {
	seg, err := l.split(key, 2)
	if err != nil || seg[0] != "workers" {
		return "", fmt.Errorf("parsing worker key %q: not <prefix>/workers/<worker>", key)
	}
	return seg[1], nil
}

// StatusPrefix is the prefix of every worker status key.
func (l Layout) StatusPrefix() string { return l.join("status") + "/" }

// Status is the key of a worker's status record, put under the worker's lease.
func (l Layout) Status(worker string) string { return l.join("status", worker) }

// ParseStatus returns the worker id of a status key.
func (l Layout) ParseStatus(key string) (string, error) {
	seg, err := l.split(key, 2)
	if err != nil || seg[0] != "status" {
		return "", fmt.Errorf("parsing status key %q: not <prefix>/status/<worker>", key)
	}
	return seg[1], nil
}

// Election is the election prefix of the controllers (concurrency.NewElection).
func (l Layout) Election() string { return l.join("controllers", "leader") }

// AppsPrefix is the prefix of every app key: topologies, assignments and handoffs.
func (l Layout) AppsPrefix() string { return l.join("apps") + "/" }

// Topology is the key of an app's topology: its task groups and partition counts.
func (l Layout) Topology(app string) string { return l.join("apps", app, "topology") }

// Handoff is the key of a task's released record, written by the old active of a handoff.
func (l Layout) Handoff(t TaskKey) string {
	return l.join("apps", t.App, "handoffs", t.Group, strconv.Itoa(t.Partition))
}

// AppKeyKind says which record an app key holds.
type AppKeyKind int

const (
	// OtherAppKey is a key under the apps prefix that this layout does not know (a later
	// issue's record); readers skip it.
	OtherAppKey AppKeyKind = iota
	TopologyKey
	AssignmentKey
	HandoffKey
	EpochFloorKind // Layout.EpochFloorKey
	PausedKind     // Layout.PausedKey
)

// ParseAppKey classifies a key under AppsPrefix and returns its app and, for assignment and
// handoff keys, its task.
func (l Layout) ParseAppKey(key string) (AppKeyKind, string, TaskKey, error) {
	rest, ok := strings.CutPrefix(key, l.AppsPrefix())
	if !ok {
		return OtherAppKey, "", TaskKey{}, fmt.Errorf("key %q is outside %q", key, l.AppsPrefix())
	}
	switch n := strings.Count(rest, "/"); {
	case n == 1:
		seg, err := l.split(key, 3)
		if err != nil {
			return OtherAppKey, "", TaskKey{}, err
		}
		kind := map[string]AppKeyKind{"topology": TopologyKey, "epoch-floor": EpochFloorKind, "paused": PausedKind}[seg[2]]
		return kind, seg[1], TaskKey{}, nil
	case n == 3:
		seg, err := l.split(key, 5)
		if err != nil {
			return OtherAppKey, "", TaskKey{}, err
		}
		kind := map[string]AppKeyKind{"assignments": AssignmentKey, "handoffs": HandoffKey}[seg[2]]
		if kind == OtherAppKey {
			return OtherAppKey, seg[1], TaskKey{}, nil
		}
		t, err := taskKey(key, seg[1], seg[3], seg[4])
		return kind, seg[1], t, err
	}
	return OtherAppKey, "", TaskKey{}, nil
}

// AppPrefix is the prefix of every key of an app.
func (l Layout) AppPrefix(app string) string { return l.join("apps", app) + "/" }

// AssignmentsPrefix is the prefix of every assignment key of an app.
func (l Layout) AssignmentsPrefix(app string) string { return l.join("apps", app, "assignments") + "/" }

// Assignment is the key of one task's assignment.
func (l Layout) Assignment(t TaskKey) string {
	return l.join("apps", t.App, "assignments", t.Group, strconv.Itoa(t.Partition))
}

// WorkerIndexPrefix is the prefix of a worker's index: the one prefix a worker watches to learn
// every task it holds a replica of.
func (l Layout) WorkerIndexPrefix(worker string) string { return l.join("workers-index", worker) + "/" }

// WorkerIndex is the index key of a worker's replica of a task.
func (l Layout) WorkerIndex(worker string, t TaskKey) string {
	return l.join("workers-index", worker, t.App, t.Group, strconv.Itoa(t.Partition))
}

// ParseAssignment returns the task of an assignment key.
func (l Layout) ParseAssignment(key string) (TaskKey, error) {
	seg, err := l.split(key, 5)
	if err != nil || seg[0] != "apps" || seg[2] != "assignments" {
		return TaskKey{}, fmt.Errorf("parsing assignment key %q: not <prefix>/apps/<app>/assignments/<group>/<partition>", key)
	}
	return taskKey(key, seg[1], seg[3], seg[4])
}

// ParseWorkerIndex returns the worker and task of a worker index key.
func (l Layout) ParseWorkerIndex(key string) (string, TaskKey, error) {
	seg, err := l.split(key, 5)
	if err != nil || seg[0] != "workers-index" {
		return "", TaskKey{}, fmt.Errorf("parsing worker index key %q: not <prefix>/workers-index/<worker>/<app>/<group>/<partition>", key)
	}
	t, err := taskKey(key, seg[2], seg[3], seg[4])
	return seg[1], t, err
}

// split returns the n unescaped segments of key after the prefix.
func (l Layout) split(key string, n int) ([]string, error) {
	rest, ok := strings.CutPrefix(key, l.root()+"/")
	if !ok {
		return nil, fmt.Errorf("key %q is outside prefix %q", key, l.root())
	}
	seg := strings.Split(rest, "/")
	if len(seg) != n {
		return nil, fmt.Errorf("key %q has %d segments, want %d", key, len(seg), n)
	}
	for i, s := range seg {
		u, err := url.PathUnescape(s)
		if err != nil {
			return nil, fmt.Errorf("unescaping %q: %w", s, err)
		}
		seg[i] = u
	}
	return seg, nil
}

func taskKey(key, app, group, partition string) (TaskKey, error) {
	p, err := strconv.Atoi(partition)
	if err != nil || p < 0 {
		return TaskKey{}, fmt.Errorf("parsing key %q: bad partition %q", key, partition)
	}
	return TaskKey{App: app, Group: group, Partition: p}, nil
}
