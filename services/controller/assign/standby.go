package assign

import (
	"cmp"
	"container/heap"
	"slices"
	"strings"
)

// placeStandbys fills in the configured standbys of every task in out, whose Active and Warmups
// are already set.
//
// A task gets min(N, eligible workers not holding its active or warm-up) standbys. Their total S
// is spread by capacity like actives: worker i's standby share is S·c_i/C.
//
//  1. Sticky: previous standbys (then previous warm-ups no longer targeted) stay while their
//     worker is eligible and does not hold the task's active or warm-up.
//  2. Place: each missing standby goes to the best eligible worker not already holding a replica
//     of the task, preferring in turn a zone none of the task's replicas is in, a worker below
//     ⌈share⌉, the lowest (standbys+1)/capacity, the smallest id.
//  3. Rebalance until nothing moves: a worker more than one below ⌊share⌋ (a new one,
//     typically) takes standbys from more loaded workers, only where that loses no zone spread
//     (see rebalanceStandbys). So a join moves about N·share standbys and nothing else, and
//     never more than the join budget allows (see joinBudget).
//
// Zones steer placements and rebalancing; a standby already in place is not moved for its zone
// alone. Balance is therefore within one of the share except where zone spread or "never with
// the active" leaves no single move that would help.
func (s *state) placeStandbys(out []TaskAssignment) {
	n := s.in.Standbys
	if n == 0 || len(s.elig) == 0 {
		return
	}
	slots := make([]int, len(out))
	total := 0
	for i, a := range out {
		avail := len(s.elig)
		for _, id := range replicas(a) {
			if s.eligible(id) {
				avail--
			}
		}
		slots[i] = min(n, avail)
		total += slots[i]
	}
	ws := make(map[string]*slot, len(s.elig))
	for _, sh := range FairShares(s.elig, total) {
		w := s.workers[sh.Worker]
		ws[w.ID] = &slot{id: w.ID, zone: w.Zone, capacity: w.Capacity, lo: sh.Lo, hi: sh.Hi}
	}

	for i := range out {
		a := &out[i]
		p := s.prev[a.Task]
		for _, id := range slices.Concat(p.Standbys, p.Warmups) {
			if len(a.Standbys) == slots[i] {
				break
			}
			if w := ws[id]; w != nil && !slices.Contains(a.Standbys, id) && !slices.Contains(replicas(*a), id) {
				a.Standbys = append(a.Standbys, id)
				w.count++
			}
		}
	}

	zones := newZoneHeaps(ws)
	for i := range out {
		a := &out[i]
		for len(a.Standbys) < slots[i] {
			w := zones.pick(s, *a)
			a.Standbys = append(a.Standbys, w.id)
			zones.add(w)
		}
	}
	s.budget = s.joinBudget(out)
	s.rebalanceStandbys(out, ws)
}

// joinBudget caps the standby copies a computation with newly joined workers may make: new
// workers are eligible workers that held no replica of any task before and now take an active
// or warm-up (a worker that stays empty, its share being below one task, changes nothing for
// the others and does not count). It returns nil when there is none (no cap). With new workers of active shares f_j, the cap is ⌊N·Σ(f_j + 1)⌋
// copies, counted per task as min(standbys on workers that held none of its state, previous
// standbys dropped): the bound a join promises (docs/assignment.md). Rebalancing fills the new
// workers first, as they are the least loaded; a move the cap refuses is left to the next
// computation (Result.Deferred). Only balance moves are capped, and within the cap only moves
// to new workers copy state: balance debt older than the join (workers kept below their share
// by zone spread, say) that the join unblocks is repaid by the next computation, which the
// controller runs within about a second. Standbys placed because a replica is missing never
// wait.
func (s *state) joinBudget(out []TaskAssignment) *budget {
	held := make(map[string]bool)
	for _, a := range s.in.Previous {
		for _, id := range slices.Concat([]string{a.Active}, a.Warmups, a.Standbys) {
			held[id] = true
		}
	}
	owns := make(map[string]bool)
	for _, a := range out {
		for _, id := range replicas(a) {
			owns[id] = true
		}
	}
	b := &budget{joined: make(map[string]bool)}
	total, joined := 0, 0
	for _, w := range s.elig {
		total += w.Capacity
		if !held[w.ID] && owns[w.ID] {
			joined += w.Capacity
			b.joined[w.ID] = true
		}
	}
	if len(b.joined) == 0 || len(s.in.Previous) == 0 {
		return nil
	}
	// N·Σ(T·c_j/C + 1) = N·(T·Σc_j + n·C)/C, floored.
	b.limit = s.in.Standbys * (len(s.tasks)*joined + len(b.joined)*total) / total
	for _, a := range out {
		b.spent += s.copies(a)
	}
	return b
}

// budget is the cap joinBudget sets, and what the computation has spent of it.
type budget struct {
	limit, spent int
	joined       map[string]bool // the new workers
	refused      bool            // a balance move was refused for the cap
}

// copies counts a's standbys that copy state because of this computation: min(standbys on
// workers that held no replica of the task before, previous standbys dropped).
func (s *state) copies(a TaskAssignment) int {
	p := s.prev[a.Task]
	fresh, dropped := 0, 0
	for _, id := range a.Standbys {
		if id != p.Active && !slices.Contains(p.Warmups, id) && !slices.Contains(p.Standbys, id) {
			fresh++
		}
	}
	for _, id := range p.Standbys {
		if !slices.Contains(a.Standbys, id) && !slices.Contains(replicas(a), id) {
			dropped++
		}
	}
	return min(fresh, dropped)
}

// affords reports whether moving a's standby from d to y stays within the join budget, and
// notes a refusal.
func (s *state) affords(a TaskAssignment, d, y *slot) bool {
	if s.budget == nil {
		return true
	}
	moved := a
	moved.Standbys = slices.Clone(a.Standbys)
	moved.Standbys[slices.Index(moved.Standbys, d.id)] = y.id
	cost := s.copies(moved) - s.copies(a)
	if cost <= 0 || s.budget.joined[y.id] && s.budget.spent+cost <= s.budget.limit {
		return true
	}
	s.budget.refused = true
	return false
}

// rebalanceStandbys is step 3 of placeStandbys. It moves one standby at a time until no move
// is left, so its result is a fixpoint: computing again over the same membership moves nothing
// (unless the join budget refused a move: see joinBudget).
//
// A worker is needy when it holds fewer than ⌊its standby share⌋ − 1 standbys. A needy worker
// takes a standby from a donor that stays more loaded than it: donor standbys/capacity >
// (receiver standbys + 1)/capacity, where canSwap allows the move. Moves that copy no state go
// first: a needy worker (in id order) takes the standby of a task it was a replica of before
// (a former warm-up target, say), from the most loaded such donor. Otherwise the least loaded
// needy worker (standbys/capacity, ties by id) takes one from donors that do not become needy
// by giving, then from the rest, each group most loaded first (ties by id), preferring again a
// task whose state it holds.
//
// Why this shape: the donor test compares loads, never shares, and only needy workers receive.
// When a worker joins, every other share shrinks, so no worker becomes needy and no pair of old
// workers gains a move: the new worker takes standbys until it is within one of ⌊its share⌋
// and, as long as the donors it takes from stay out of need (the one-standby tolerance leaves
// room for that), nothing else moves. Every move lowers the largest load it touches, so the
// loop ends.
func (s *state) rebalanceStandbys(out []TaskAssignment, ws map[string]*slot) {
	all := make([]*slot, 0, len(ws))
	for _, w := range ws {
		all = append(all, w)
	}
	if !slices.ContainsFunc(all, (*slot).needy) {
		return
	}
	slices.SortFunc(all, func(a, b *slot) int { return strings.Compare(a.id, b.id) })
	held := make(map[string][]int) // worker → indices into out where it is a standby
	for i, a := range out {
		for _, id := range a.Standbys {
			held[id] = append(held[id], i)
		}
	}
	// Tasks where each worker held a replica before and holds none now: it still has their
	// state, so taking one of their standbys copies nothing.
	had := make(map[string][]int)
	for i, a := range out {
		p := s.prev[a.Task]
		for _, id := range slices.Concat([]string{p.Active}, p.Warmups, p.Standbys) {
			if ws[id] != nil && !slices.Contains(a.Standbys, id) && !slices.Contains(replicas(a), id) {
				had[id] = append(had[id], i)
			}
		}
	}
	stuck := make(map[string]bool) // needy workers that found no donor since the last move
	for {
		if s.takeHeldState(out, ws, all, held, had) {
			clear(stuck)
			continue
		}
		y := leastLoadedNeedy(all, stuck)
		if y == nil {
			return
		}
		if s.takeOne(out, all, held, y) {
			clear(stuck)
		} else {
			stuck[y.id] = true
		}
	}
}

// takeHeldState makes one move to a needy worker of a standby of a task whose state it still
// holds (it was a replica there before), if there is such a move; needy workers in id order,
// donors most loaded first.
func (s *state) takeHeldState(out []TaskAssignment, ws map[string]*slot, all []*slot, held, had map[string][]int) bool {
	for _, y := range all {
		if !y.needy() {
			continue
		}
		for _, i := range had[y.id] {
			a := out[i]
			if slices.Contains(a.Standbys, y.id) {
				continue
			}
			var best *slot
			for _, id := range a.Standbys {
				d := ws[id]
				if d == nil || d.count*y.capacity <= (y.count+1)*d.capacity || !s.canSwap(a, d, y) || !s.affords(a, d, y) {
					continue
				}
				if best == nil || d.count*best.capacity > best.count*d.capacity {
					best = d
				}
			}
			if best != nil {
				s.move(out, held, slices.Index(held[best.id], i), best, y)
				return true
			}
		}
	}
	return false
}

// leastLoadedNeedy returns the needy worker with the lowest standbys/capacity (ties by id) that
// is not stuck, or nil.
func leastLoadedNeedy(all []*slot, stuck map[string]bool) *slot {
	var best *slot
	for _, w := range all {
		if !w.needy() || stuck[w.id] {
			continue
		}
		if best == nil || w.count*best.capacity < best.count*w.capacity {
			best = w
		}
	}
	return best
}

// takeOne moves one standby to y from the best donor (see rebalanceStandbys) and reports
// whether there was one.
func (s *state) takeOne(out []TaskAssignment, all []*slot, held map[string][]int, y *slot) bool {
	var donors []*slot
	for _, d := range all {
		if d != y && d.count*y.capacity > (y.count+1)*d.capacity {
			donors = append(donors, d)
		}
	}
	slices.SortFunc(donors, func(a, b *slot) int {
		if c := cmp.Compare(b.count*a.capacity, a.count*b.capacity); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	var fallback *slot
	fk := -1
	for _, d := range donors {
		k := s.pickStandby(out, held[d.id], d, y)
		if k < 0 {
			continue
		}
		if d.count >= d.lo { // still not needy after giving one
			s.move(out, held, k, d, y)
			return true
		}
		if fallback == nil {
			fallback, fk = d, k
		}
	}
	if fallback == nil {
		return false
	}
	s.move(out, held, fk, fallback, y)
	return true
}

// pickStandby returns the position in idx (d's standbys, as indices into out) of a standby that
// canSwap allows to move from d to y, preferring one of a task whose state y already holds; -1
// if there is none.
func (s *state) pickStandby(out []TaskAssignment, idx []int, d, y *slot) int {
	k := -1
	for n, i := range idx {
		if !s.canSwap(out[i], d, y) || !s.affords(out[i], d, y) {
			continue
		}
		p := s.prev[out[i].Task]
		if p.Active == y.id || slices.Contains(p.Warmups, y.id) || slices.Contains(p.Standbys, y.id) {
			return n
		}
		if k < 0 {
			k = n
		}
	}
	return k
}

// move hands the standby at position k of d's standbys to y.
func (s *state) move(out []TaskAssignment, held map[string][]int, k int, d, y *slot) {
	i := held[d.id][k]
	if s.budget != nil {
		s.budget.spent -= s.copies(out[i])
	}
	j := slices.Index(out[i].Standbys, d.id)
	out[i].Standbys[j] = y.id
	if s.budget != nil {
		s.budget.spent += s.copies(out[i])
	}
	held[d.id] = slices.Delete(held[d.id], k, k+1)
	held[y.id] = append(held[y.id], i)
	d.count--
	y.count++
}

// canSwap reports whether a's standby on from may move to to: to holds no replica of a, and the
// move keeps a's zone spread (same zone, or a zone a's other replicas do not use).
func (s *state) canSwap(a TaskAssignment, from, to *slot) bool {
	if slices.Contains(a.Standbys, to.id) || slices.Contains(replicas(a), to.id) {
		return false
	}
	if from.zone == to.zone {
		return true
	}
	for _, id := range slices.Concat(replicas(a), a.Standbys) {
		if id != from.id && s.workers[id].Zone == to.zone {
			return false
		}
	}
	return true
}

// replicas lists the workers holding the active and warm-ups of a.
func replicas(a TaskAssignment) []string {
	r := slices.Clone(a.Warmups)
	if a.Active != "" {
		r = append(r, a.Active)
	}
	return r
}

// needy reports whether w holds fewer than ⌊its standby share⌋ − 1 standbys.
func (w *slot) needy() bool { return w.count+1 < w.lo }

// slot is one eligible worker's standby load.
type slot struct {
	id       string
	zone     string
	capacity int
	lo, hi   int // ⌊⌋ and ⌈⌉ of its fair share of standbys
	count    int
	index    int // in its zone heap
}

// better reports whether a is a better place for one more standby than b, by load alone.
func (a *slot) better(b *slot) bool {
	l, r := (a.count+1)*b.capacity, (b.count+1)*a.capacity
	if l != r {
		return l < r
	}
	return a.id < b.id
}

// zoneHeap orders one zone's workers by load (a min-heap on slot.better).
type zoneHeap []*slot

func (h zoneHeap) Len() int           { return len(h) }
func (h zoneHeap) Less(i, j int) bool { return h[i].better(h[j]) }
func (h zoneHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *zoneHeap) Push(x any) {
	w := x.(*slot)
	w.index = len(*h)
	*h = append(*h, w)
}
func (h *zoneHeap) Pop() any {
	old := *h
	w := old[len(old)-1]
	*h = old[:len(old)-1]
	return w
}

// zoneHeaps keeps one load heap per zone (the empty zone is a zone like any other), in zone
// name order; picking scans every zone, so its cost grows with the number of zones.
type zoneHeaps struct {
	names []string
	heaps map[string]*zoneHeap
}

func newZoneHeaps(ws map[string]*slot) *zoneHeaps {
	z := &zoneHeaps{heaps: make(map[string]*zoneHeap)}
	for _, w := range ws {
		h := z.heaps[w.zone]
		if h == nil {
			h = &zoneHeap{}
			z.heaps[w.zone] = h
			z.names = append(z.names, w.zone)
		}
		h.Push(w)
	}
	slices.Sort(z.names)
	for _, h := range z.heaps {
		heap.Init(h)
	}
	return z
}

// pick returns the best worker for one more standby of a; one exists because the caller asks
// for no more standbys than there are eligible workers without a replica of a.
func (z *zoneHeaps) pick(s *state, a TaskAssignment) *slot {
	taken := slices.Concat(replicas(a), a.Standbys)
	used := make(map[string]bool, len(taken))
	for _, id := range taken {
		if w, ok := s.workers[id]; ok {
			used[w.Zone] = true
		}
	}
	var best *slot
	bestRank := 0
	for _, name := range z.names {
		w := z.heaps[name].bestExcept(taken)
		if w == nil {
			continue
		}
		rank := 0
		if !used[w.zone] {
			rank += 2
		}
		if w.count < w.hi {
			rank++
		}
		if best == nil || rank > bestRank || rank == bestRank && w.better(best) {
			best, bestRank = w, rank
		}
	}
	return best
}

func (z *zoneHeaps) add(w *slot) {
	w.count++
	heap.Fix(z.heaps[w.zone], w.index)
}

// bestExcept returns the least-loaded worker of the heap whose id is not in skip.
func (h *zoneHeap) bestExcept(skip []string) *slot {
	var popped []*slot
	var best *slot
	for h.Len() > 0 {
		w := (*h)[0]
		if !slices.Contains(skip, w.id) {
			best = w
			break
		}
		popped = append(popped, heap.Pop(h).(*slot))
	}
	for _, w := range popped {
		heap.Push(h, w)
	}
	return best
}
