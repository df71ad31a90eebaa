package assign

import (
	"cmp"
	"slices"
)

// Share is one eligible worker's capacity-weighted fair share of T tasks.
//
// With eligible capacities c_i summing to C, worker i's fair share is f_i = T·c_i/C (a rational
// number). Lo = ⌊f_i⌋ and Hi = ⌈f_i⌉; every eligible worker ends up owning Lo or Hi tasks, so
// |owned − f_i| < 1. Exactly T − ΣLo workers get Hi where Hi > Lo.
type Share struct {
	Worker string
	Exact  float64
	Lo, Hi int
	rem    int // T·c_i mod C: the fractional part of f_i, times C
}

// FairShares returns the fair share of tasks for every eligible worker, sorted by worker id.
// Ineligible workers (dead, draining, capacity 0) have no share.
func FairShares(workers []Worker, tasks int) []Share {
	total := 0
	for _, w := range workers {
		if w.eligible() {
			total += w.Capacity
		}
	}
	var shares []Share
	for _, w := range workers {
		if !w.eligible() {
			continue
		}
		s := Share{Worker: w.ID, Exact: float64(tasks) * float64(w.Capacity) / float64(total)}
		s.Lo = tasks * w.Capacity / total
		s.rem = tasks * w.Capacity % total
		s.Hi = s.Lo
		if s.rem > 0 {
			s.Hi++
		}
		shares = append(shares, s)
	}
	slices.SortFunc(shares, func(a, b Share) int { return cmp.Compare(a.Worker, b.Worker) })
	return shares
}

// quotas fixes each eligible worker's target count: Lo, plus one for the T − ΣLo workers that
// get an extra task. Extras go first to workers that want more than Lo (their sticky tasks), so
// no task moves for balance alone when it need not, then by largest fractional share, then id.
func quotas(shares []Share, tasks int, want map[string]int) map[string]int {
	q := make(map[string]int, len(shares))
	extras := tasks
	for _, s := range shares {
		q[s.Worker] = s.Lo
		extras -= s.Lo
	}
	order := slices.Clone(shares)
	slices.SortStableFunc(order, func(a, b Share) int {
		aw, bw := want[a.Worker] > a.Lo, want[b.Worker] > b.Lo
		if aw != bw {
			if aw {
				return -1
			}
			return 1
		}
		return cmp.Compare(b.rem, a.rem)
	})
	for _, s := range order {
		if extras == 0 {
			break
		}
		if s.Hi > s.Lo {
			q[s.Worker]++
			extras--
		}
	}
	return q
}
