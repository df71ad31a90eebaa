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
// is spread by capacity like actives, as a soft goal: worker i's standby share is S·c_i/C.
//
//  1. Sticky: previous standbys (then previous warm-ups no longer targeted) stay while their
//     worker is eligible and does not hold the task's active or warm-up.
//  2. Place: each missing standby goes to the best eligible worker not already holding a replica
//     of the task, preferring in turn a zone none of the task's replicas is in, a worker below
//     ⌈share⌉, the lowest (standbys+1)/capacity, the smallest id.
//  3. Rebalance: a worker below ⌊share⌋ (a new one, typically) takes standbys from the most
//     loaded workers above their ⌊share⌋, only where that loses no zone spread, until it
//     reaches ⌊share⌋ or no such standby is left. So a join moves about N·share standbys.
//
// Zones steer placements and rebalancing; a standby already in place is not moved for its zone
// alone.
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
	s.rebalanceStandbys(out, ws)
}

// rebalanceStandbys is step 3 of placeStandbys.
func (s *state) rebalanceStandbys(out []TaskAssignment, ws map[string]*slot) {
	var needy, donors []*slot
	for _, w := range ws {
		if w.count < w.lo {
			needy = append(needy, w)
		}
		if w.count > w.lo {
			donors = append(donors, w)
		}
	}
	if len(needy) == 0 || len(donors) == 0 {
		return
	}
	slices.SortFunc(needy, func(a, b *slot) int { return strings.Compare(a.id, b.id) })
	held := make(map[string][]int) // worker → indices into out where it is a standby
	for i, a := range out {
		for _, id := range a.Standbys {
			held[id] = append(held[id], i)
		}
	}
	for _, w := range needy {
		// Most loaded donors first: load = standbys / capacity, ties by id.
		slices.SortFunc(donors, func(a, b *slot) int {
			if c := cmp.Compare(b.count*a.capacity, a.count*b.capacity); c != 0 {
				return c
			}
			return strings.Compare(a.id, b.id)
		})
		for _, d := range donors {
			for k := 0; k < len(held[d.id]) && w.count < w.lo && d.count > d.lo; {
				i := held[d.id][k]
				if !s.canSwap(out[i], d, w) {
					k++
					continue
				}
				j := slices.Index(out[i].Standbys, d.id)
				out[i].Standbys[j] = w.id
				held[d.id] = slices.Delete(held[d.id], k, k+1)
				d.count--
				w.count++
			}
		}
	}
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
