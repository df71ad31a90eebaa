package assign

import (
	"fmt"
	"slices"
)

// Compute returns the new assignment for in and the moves it makes. It does no I/O and is
// deterministic: the same input (in any order) gives the same result.
func Compute(in Input) (Result, error) {
	if err := in.validate(); err != nil {
		return Result{}, fmt.Errorf("computing assignment: %w", err)
	}
	s := newState(in)
	owners := s.placeOwners()
	res := Result{Assignment: make([]TaskAssignment, 0, len(s.tasks))}
	for _, t := range s.tasks {
		a, moves := s.actives(t, owners[t.ID])
		res.Assignment = append(res.Assignment, a)
		res.Moves = append(res.Moves, moves...)
	}
	s.placeStandbys(res.Assignment)
	res.Deferred = s.budget != nil && s.budget.refused
	return res, nil
}

// actives sets t's active and warm-up given its owner, and returns the moves that takes.
//
//   - An alive active (even a draining one) stays active: if the owner is elsewhere, the owner
//     becomes the warm-up and the move is Planned.
//   - A lost active (worker dead or gone) is replaced at once by the most caught-up eligible
//     standby or warm-up (Failover), or by the owner if there is none; if that is not the
//     owner, a Planned move to the owner follows.
//   - A task with no active gets the owner directly (Initial).
//
// A Planned move already pending in the previous assignment is kept but not listed again.
func (s *state) actives(t Task, owner string) (TaskAssignment, []Move) {
	p := s.prev[t.ID]
	a := TaskAssignment{Task: t.ID}
	var moves []Move
	switch {
	case s.alive(p.Active):
		a.Active = p.Active
	case p.Active != "":
		a.Active = owner
		if r := s.replicasByLag(t); len(r) > 0 {
			a.Active = r[0]
		}
		if a.Active != "" {
			moves = append(moves, Move{Task: t.ID, From: p.Active, To: a.Active, Kind: Failover})
		}
	default:
		a.Active = owner
		if owner != "" {
			moves = append(moves, Move{Task: t.ID, To: owner, Kind: Initial})
		}
	}
	if owner == "" || owner == a.Active {
		return a, moves
	}
	a.Warmups = []string{owner}
	pending := a.Active == p.Active && len(p.Warmups) > 0 && p.Warmups[0] == owner
	if !pending {
		moves = append(moves, Move{Task: t.ID, From: a.Active, To: owner, Kind: Planned})
	}
	return a, moves
}

// Index returns the assignment keyed by task.
func Index(assignment []TaskAssignment) map[TaskID]TaskAssignment {
	m := make(map[TaskID]TaskAssignment, len(assignment))
	for _, a := range assignment {
		m[a.Task] = a
	}
	return m
}

// Settle returns the assignment as it will be once every pending handoff completes: each
// warm-up target becomes active, the old active is dropped, standbys stay. It models the
// handoff step in tests and benchmarks.
func Settle(assignment []TaskAssignment) []TaskAssignment {
	out := make([]TaskAssignment, len(assignment))
	for i, a := range assignment {
		out[i] = TaskAssignment{Task: a.Task, Active: a.Owner(), Standbys: slices.Clone(a.Standbys)}
	}
	return out
}
