package cluster

import (
	"encoding/json"
	"fmt"
	"slices"
)

// WorkerRecord is a worker's membership record, put under its lease at Layout.Worker.
type WorkerRecord struct {
	ID       string `json:"id"`
	Addr     string `json:"addr"` // Connect address
	Capacity int    `json:"capacity"`
	Zone     string `json:"zone,omitempty"`
	Version  string `json:"version"`
	Draining bool   `json:"draining,omitempty"`
	// Stopped is set by a draining worker right before it revokes its lease: every task it held
	// has been stopped and committed, so the controller may reassign them at once instead of
	// waiting for lease expiry + grace.
	Stopped bool `json:"stopped,omitempty"`
}

// TaskState is where a task stands in the handoff state machine.
type TaskState string

const (
	// Stable: the active processes the task; no handoff is under way.
	Stable TaskState = "stable"
	// Warming: a warm-up standby is catching up before a planned handoff; the active keeps
	// processing.
	Warming TaskState = "warming"
	// Releasing: the warm-up target has caught up and the active must stop, make its final
	// commit and write its Handoff record (the "released" step). The target becomes active only
	// after the controller sees that record.
	Releasing TaskState = "releasing"
)

// Assignment is one task's record, at Layout.Assignment and copied to the worker index of every
// worker it names.
//
// Epoch is the etcd revision of the transaction that made Active the active (under its current
// lease); it only grows. Stored, an Epoch of 0 means "the revision of this write": a transaction
// cannot know its own revision in advance, so a write that starts a new epoch stores 0 and
// DecodeAssignment resolves it to the key's ModRevision. A later write that keeps the active
// stores the resolved epoch explicitly.
//
// Lease is the etcd lease under which Active holds the task: a worker acts as the task's active
// only while its own current lease equals it, so a worker that re-registers (new lease) never
// acts on a task it held before until the controller re-issues it with a new epoch. Start is set
// when the active took over through a two-phase handoff: where it starts.
type Assignment struct {
	Active   string    `json:"active"`
	Lease    int64     `json:"lease,omitempty"`
	Epoch    int64     `json:"epoch"`
	Standbys []string  `json:"standbys,omitempty"`
	Warmups  []string  `json:"warmups,omitempty"`
	State    TaskState `json:"state"`
	Start    *Start    `json:"start,omitempty"`
}

// Workers lists every worker holding a replica of the task (active, warm-ups, standbys), once.
func (a Assignment) Workers() []string {
	var out []string
	for _, id := range slices.Concat([]string{a.Active}, a.Warmups, a.Standbys) {
		if id != "" && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// Equal reports whether two records are the same.
func (a Assignment) Equal(b Assignment) bool {
	return a.Active == b.Active && a.Lease == b.Lease && a.Epoch == b.Epoch && a.State == b.State &&
		slices.Equal(a.Standbys, b.Standbys) && slices.Equal(a.Warmups, b.Warmups) && a.Start.Equal(b.Start)
}

// DecodeAssignment decodes an assignment or worker index value read at modRevision, resolving a
// stored epoch of 0 to modRevision.
func DecodeAssignment(value []byte, modRevision int64) (Assignment, error) {
	var a Assignment
	if err := json.Unmarshal(value, &a); err != nil {
		return Assignment{}, fmt.Errorf("decoding assignment: %w", err)
	}
	if a.Epoch == 0 {
		a.Epoch = modRevision
	}
	return a, nil
}

// DecodeWorker decodes a worker membership record.
func DecodeWorker(value []byte) (WorkerRecord, error) {
	var w WorkerRecord
	if err := json.Unmarshal(value, &w); err != nil {
		return WorkerRecord{}, fmt.Errorf("decoding worker record: %w", err)
	}
	return w, nil
}
