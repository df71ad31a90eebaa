package cluster

import (
	"encoding/json"
	"fmt"
	"slices"
)

// Role is what a worker's replica of a task does.
type Role string

const (
	// RoleActive processes the task.
	RoleActive Role = "active"
	// RoleStandby is one of the task's configured standby replicas.
	RoleStandby Role = "standby"
	// RoleWarmup is a temporary standby catching up before a planned handoff.
	RoleWarmup Role = "warmup"
)

// ReplicaState is where a replica stands, as its worker reports it.
type ReplicaState string

const (
	// Recovering: an active is restoring its state before it processes.
	Recovering ReplicaState = "recovering"
	// Running: an active is processing.
	Running ReplicaState = "running"
	// Following: a standby or warm-up is applying the changelog.
	Following ReplicaState = "standby"
	// ReleasingState: an active was told to release and is making its final commit.
	ReleasingState ReplicaState = "releasing"
	// Released: an active has stopped and written (or is writing) its released record.
	Released ReplicaState = "released"
)

// TaskStatus is one replica in a worker's status record. Lag is the changelog records a standby
// or warm-up is behind (input lag for an active); Epoch is the epoch of the assignment record
// the worker acts on.
type TaskStatus struct {
	Task      TaskKey          `json:"task"`
	Role      Role             `json:"role"`
	Epoch     int64            `json:"epoch"`
	State     ReplicaState     `json:"state"`
	Lag       int64            `json:"lag"`
	Positions map[string]int64 `json:"positions,omitempty"`
}

// WorkerStatus is a worker's status record at Layout.Status, put under its lease and written at
// most about once a second (one key per worker, never per task).
type WorkerStatus struct {
	Worker string       `json:"worker"`
	Lease  int64        `json:"lease"`
	Tasks  []TaskStatus `json:"tasks"`
}

// Sort orders the tasks (so equal statuses encode the same).
func (s *WorkerStatus) Sort() {
	slices.SortFunc(s.Tasks, func(a, b TaskStatus) int { return compareTasks(a.Task, b.Task) })
}

// DecodeStatus decodes a worker status record.
func DecodeStatus(value []byte) (WorkerStatus, error) {
	var s WorkerStatus
	if err := json.Unmarshal(value, &s); err != nil {
		return WorkerStatus{}, fmt.Errorf("decoding worker status: %w", err)
	}
	return s, nil
}
