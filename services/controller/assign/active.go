package assign

import (
	"cmp"
	"math"
	"slices"
)

// state is one computation's working set: the input indexed and sorted.
type state struct {
	in      Input
	workers map[string]Worker         // every listed worker by id
	elig    []Worker                  // eligible workers, sorted by id
	tasks   []Task                    // sorted by id
	prev    map[TaskID]TaskAssignment // previous assignment by task
	budget  *budget                   // standby copies allowed by a join (nil: no cap)
}

func newState(in Input) *state {
	s := &state{
		in:      in,
		workers: make(map[string]Worker, len(in.Workers)),
		tasks:   slices.Clone(in.Tasks),
		prev:    make(map[TaskID]TaskAssignment, len(in.Previous)),
	}
	for _, w := range in.Workers {
		s.workers[w.ID] = w
		if w.eligible() {
			s.elig = append(s.elig, w)
		}
	}
	slices.SortFunc(s.elig, func(a, b Worker) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(s.tasks, func(a, b Task) int { return a.ID.Compare(b.ID) })
	for _, a := range in.Previous {
		s.prev[a.Task] = a
	}
	return s
}

func (s *state) alive(id string) bool    { return id != "" && s.workers[id].Alive }
func (s *state) eligible(id string) bool { return id != "" && s.workers[id].eligible() }

// lag is the reported lag of t's replica on worker id; unknown counts as infinitely behind.
func lag(t Task, id string) int64 {
	if l, ok := t.Lag[id]; ok {
		return l
	}
	return math.MaxInt64
}

// replicasByLag returns the eligible workers holding a standby or warm-up of t in the previous
// assignment, most caught-up first (ties by worker id).
func (s *state) replicasByLag(t Task) []string {
	p := s.prev[t.ID]
	var out []string
	for _, id := range slices.Concat(p.Standbys, p.Warmups) {
		if s.eligible(id) && id != p.Active && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	slices.SortStableFunc(out, func(a, b string) int {
		if c := cmp.Compare(lag(t, a), lag(t, b)); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return out
}

// placeOwners decides each task's owner (the worker that is active once handoffs complete).
//
//  1. Sticky: a task keeps its pending warm-up target, else its active, while that worker is
//     eligible and below its quota (tasks in id order; first choices before fallbacks).
//  2. Affinity: a task that lost its owner goes to its most caught-up eligible standby or
//     warm-up replica that has room.
//  3. Fill: the rest go round-robin to workers below quota (by worker id), so consecutive
//     partitions spread out.
//
// A task gets owner "" only when no worker is eligible.
func (s *state) placeOwners() map[TaskID]string {
	owners := make(map[TaskID]string, len(s.tasks))
	if len(s.elig) == 0 {
		return owners
	}
	sticky := make([][]string, len(s.tasks))
	want := make(map[string]int)
	for i, t := range s.tasks {
		p := s.prev[t.ID]
		var c []string
		if len(p.Warmups) > 0 && s.eligible(p.Warmups[0]) {
			c = append(c, p.Warmups[0])
		}
		if s.eligible(p.Active) && !slices.Contains(c, p.Active) {
			c = append(c, p.Active)
		}
		if len(c) > 0 {
			want[c[0]]++
		}
		sticky[i] = c
	}
	quota := quotas(FairShares(s.elig, len(s.tasks)), len(s.tasks), want)
	count := make(map[string]int, len(s.elig))
	room := func(id string) bool { return count[id] < quota[id] }

	// Two sticky passes: every worker keeps its first-choice tasks before any task falls back to
	// its second choice, so no worker gives up a task of its own to make room for a fallback.
	for pass := range 2 {
		for i, t := range s.tasks {
			if _, done := owners[t.ID]; done || len(sticky[i]) <= pass {
				continue
			}
			if id := sticky[i][pass]; room(id) {
				owners[t.ID] = id
				count[id]++
			}
		}
	}
	var pool []Task
	for _, t := range s.tasks {
		if _, done := owners[t.ID]; !done {
			pool = append(pool, t)
		}
	}
	rest := pool[:0]
	for _, t := range pool {
		if id, ok := first(s.replicasByLag(t), room); ok {
			owners[t.ID] = id
			count[id]++
			continue
		}
		rest = append(rest, t)
	}
	slots := s.fillSlots(quota, count)
	for i, t := range rest {
		owners[t.ID] = slots[i]
	}
	return owners
}

// fillSlots lists the remaining room of every eligible worker round by round: every worker with
// room once, then every worker with room left, and so on.
func (s *state) fillSlots(quota, count map[string]int) []string {
	left := make(map[string]int, len(s.elig))
	var open []string
	for _, w := range s.elig {
		if n := quota[w.ID] - count[w.ID]; n > 0 {
			left[w.ID] = n
			open = append(open, w.ID)
		}
	}
	var slots []string
	for len(open) > 0 {
		next := open[:0]
		for _, id := range open {
			slots = append(slots, id)
			if left[id]--; left[id] > 0 {
				next = append(next, id)
			}
		}
		open = next
	}
	return slots
}

func first(ids []string, ok func(string) bool) (string, bool) {
	for _, id := range ids {
		if ok(id) {
			return id, true
		}
	}
	return "", false
}
