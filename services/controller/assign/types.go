package assign

import (
	"cmp"
	"fmt"
)

// TaskID names one task: one partition number of one task group of an app.
type TaskID struct {
	App       string `json:"app"`
	Group     string `json:"group"`
	Partition int    `json:"partition"`
}

func (t TaskID) String() string { return fmt.Sprintf("%s/%s/%d", t.App, t.Group, t.Partition) }

// Compare orders tasks by app, group, then partition number.
func (t TaskID) Compare(o TaskID) int {
	if c := cmp.Compare(t.App, o.App); c != 0 {
		return c
	}
	if c := cmp.Compare(t.Group, o.Group); c != 0 {
		return c
	}
	return cmp.Compare(t.Partition, o.Partition)
}

// Task is a task to place. Lag holds the last reported changelog lag (records behind the
// active) of the task's standby or warm-up replica on each worker, keyed by worker id; a replica
// with no entry counts as infinitely behind. Lag only matters when the active is lost.
type Task struct {
	ID  TaskID           `json:"id"`
	Lag map[string]int64 `json:"lag,omitempty"`
}

// Worker is a member of the cluster as the controller sees it. Only workers that are Alive, not
// Draining and have a Capacity above zero are eligible for new work; an alive draining worker
// keeps its actives until they are handed off.
type Worker struct {
	ID       string `json:"id"`
	Capacity int    `json:"capacity"`
	Zone     string `json:"zone,omitempty"`
	Draining bool   `json:"draining,omitempty"`
	Alive    bool   `json:"alive"`
}

func (w Worker) eligible() bool { return w.Alive && !w.Draining && w.Capacity > 0 }

// TaskAssignment is where one task's replicas live. Active processes the task; Standbys are the
// configured standby replicas; Warmups are temporary standbys that are the targets of planned
// moves (at most one here) and do not count towards the configured standbys. A worker holds at
// most one replica of a task. Active is empty when no worker can take the task.
type TaskAssignment struct {
	Task     TaskID   `json:"task"`
	Active   string   `json:"active"`
	Standbys []string `json:"standbys,omitempty"`
	Warmups  []string `json:"warmups,omitempty"`
}

// Owner is the worker that will be active once the pending handoff (if any) completes: the
// warm-up target if there is one, else the active.
func (a TaskAssignment) Owner() string {
	if len(a.Warmups) > 0 {
		return a.Warmups[0]
	}
	return a.Active
}

// Input is everything one computation looks at.
type Input struct {
	Tasks    []Task           `json:"tasks"`
	Workers  []Worker         `json:"workers"`
	Previous []TaskAssignment `json:"previous,omitempty"`
	// Standbys is the configured number of standby replicas per task (N).
	Standbys int `json:"standbys"`
}

// MoveKind says how a task's active changes.
type MoveKind int

const (
	// Initial: a task that had no active gets one directly (there is no state to hand off).
	Initial MoveKind = iota + 1
	// Failover: the active was lost (dead or gone worker) and To is active now, at once.
	Failover
	// Planned: From stays active and To becomes a warm-up standby; a later handoff step makes
	// To active (join, drain, rebalance).
	Planned
)

var moveKindNames = map[MoveKind]string{Initial: "initial", Failover: "failover", Planned: "planned"}

func (k MoveKind) String() string {
	if s, ok := moveKindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("MoveKind(%d)", int(k))
}

// MarshalText encodes the kind by name.
func (k MoveKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText decodes a kind name.
func (k *MoveKind) UnmarshalText(b []byte) error {
	for kind, name := range moveKindNames {
		if name == string(b) {
			*k = kind
			return nil
		}
	}
	return fmt.Errorf("unknown move kind %q", b)
}

// Move is one change of a task's active made by a computation. From is empty for Initial.
type Move struct {
	Task TaskID   `json:"task"`
	From string   `json:"from,omitempty"`
	To   string   `json:"to"`
	Kind MoveKind `json:"kind"`
}

// Result is a computed assignment, sorted by task, and the moves it makes relative to the
// previous assignment, sorted by task and then in the order they apply (a failover before the
// planned move that follows it).
type Result struct {
	Assignment []TaskAssignment `json:"assignment"`
	Moves      []Move           `json:"moves,omitempty"`
	// Deferred is set when a join's copy budget held back standby balance moves (see
	// joinBudget): computing again from this result moves them, so it is not yet a fixpoint.
	Deferred bool `json:"deferred,omitempty"`
}
