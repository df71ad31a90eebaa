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

// Layout builds and parses Weir's etcd keys under one prefix. The zero value uses DefaultPrefix;
// tests and benchmarks use a unique prefix each.
//
//	<prefix>/workers/<worker>                                   WorkerRecord, leased
//	<prefix>/apps/<app>/assignments/<group>/<partition>         Assignment
//	<prefix>/workers-index/<worker>/<app>/<group>/<partition>   Assignment (copy, same txn)
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
