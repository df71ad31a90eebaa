package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Checkpoint is where an active stopped: the input position (next offset) per topic-partition
// and the end offset of its changelog partition after its final commit.
type Checkpoint struct {
	Positions    map[string]int64 `json:"positions,omitempty"`
	ChangelogEnd int64            `json:"changelog_end"`
}

// Equal reports whether two checkpoints are the same.
func (c Checkpoint) Equal(o Checkpoint) bool {
	return c.ChangelogEnd == o.ChangelogEnd && maps.Equal(c.Positions, o.Positions)
}

// Handoff is the "released" record of a two-phase handoff, at Layout.Handoff: the old active
// Worker, holding Lease, stopped the task at Epoch and made its final commit at Checkpoint.
type Handoff struct {
	Worker string `json:"worker"`
	Lease  int64  `json:"lease"`
	Epoch  int64  `json:"epoch"`
	Checkpoint
}

// Start tells an active that took over through a handoff where to start: it catches up to
// Checkpoint.ChangelogEnd, fences there and resumes from Checkpoint.Positions. FromEpoch is the
// epoch of the previous active.
type Start struct {
	FromEpoch int64 `json:"from_epoch"`
	Checkpoint
}

// Equal reports whether two starts are the same (both nil counts as equal).
func (s *Start) Equal(o *Start) bool {
	if s == nil || o == nil {
		return s == o
	}
	return s.FromEpoch == o.FromEpoch && s.Checkpoint.Equal(o.Checkpoint)
}

// WriteReleased writes h as task's released record, in a transaction that applies only while the
// task's assignment key still has ModRevision assignmentRev (the releasing record the worker
// acted on) and the worker's membership key is still held by h.Lease. It reports false, with no
// error, when a compare failed: the assignment changed (the controller aborted or re-issued the
// handoff) or the worker's lease is gone; the caller re-reads and acts on the newer state.
func WriteReleased(ctx context.Context, kv clientv3.KV, l Layout, task TaskKey, h Handoff, assignmentRev int64) (bool, error) {
	value, err := json.Marshal(h)
	if err != nil {
		return false, fmt.Errorf("encoding released record of %s: %w", task, err)
	}
	resp, err := kv.Txn(ctx).If(
		clientv3.Compare(clientv3.ModRevision(l.Assignment(task)), "=", assignmentRev),
		clientv3.Compare(clientv3.LeaseValue(l.Worker(h.Worker)), "=", clientv3.LeaseID(h.Lease)),
	).Then(clientv3.OpPut(l.Handoff(task), string(value))).Commit()
	if err != nil {
		return false, fmt.Errorf("writing released record of %s: %w", task, err)
	}
	return resp.Succeeded, nil
}

// DecodeHandoff decodes a released record.
func DecodeHandoff(value []byte) (Handoff, error) {
	var h Handoff
	if err := json.Unmarshal(value, &h); err != nil {
		return Handoff{}, fmt.Errorf("decoding released record: %w", err)
	}
	return h, nil
}
