package assign

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// checkInvariants asserts what every Compute result must satisfy, whatever the input.
func checkInvariants(t *testing.T, in Input, res Result) {
	t.Helper()
	for _, err := range invariantErrors(in, res) {
		t.Error(err)
	}
}

func invariantErrors(in Input, res Result) []error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	s := newState(in)

	if len(res.Assignment) != len(in.Tasks) {
		fail("assignment has %d tasks, input %d", len(res.Assignment), len(in.Tasks))
	}
	for i := 1; i < len(res.Assignment); i++ {
		if res.Assignment[i-1].Task.Compare(res.Assignment[i].Task) >= 0 {
			fail("assignment not sorted or has a task twice at %s", res.Assignment[i].Task)
		}
	}
	owned := make(map[string]int)
	for _, a := range res.Assignment {
		all := slices.Concat([]string{a.Active}, a.Warmups, a.Standbys)
		seen := make(map[string]bool)
		for _, id := range all {
			if seen[id] {
				fail("%s: worker %q holds two replicas (active %q, warmups %v, standbys %v)", a.Task, id, a.Active, a.Warmups, a.Standbys)
			}
			seen[id] = true
		}
		if len(a.Warmups) > 1 {
			fail("%s: %d warm-ups", a.Task, len(a.Warmups))
		}
		if len(s.elig) > 0 && a.Active == "" {
			fail("%s: no active although workers are eligible", a.Task)
		}
		if a.Active != "" && !s.alive(a.Active) {
			fail("%s: active %q is not alive", a.Task, a.Active)
		}
		for _, id := range slices.Concat(a.Warmups, a.Standbys) {
			if !s.eligible(id) {
				fail("%s: standby or warm-up on ineligible worker %q", a.Task, id)
			}
		}
		if len(s.elig) > 0 && !s.eligible(a.Owner()) {
			fail("%s: owner %q is not eligible", a.Task, a.Owner())
		}
		avail := len(s.elig)
		for _, id := range replicas(a) {
			if s.eligible(id) {
				avail--
			}
		}
		if want := min(in.Standbys, avail); len(a.Standbys) != want {
			fail("%s: %d standbys, want %d", a.Task, len(a.Standbys), want)
		}
		owned[a.Owner()]++
	}
	if !res.Deferred { // else checkFixpoint checks the balance of the computation that follows
		errs = append(errs, standbyBalanceErrors(s, res)...)
	}
	if len(s.elig) > 0 {
		shares := FairShares(in.Workers, len(in.Tasks))
		for _, sh := range shares {
			if n := owned[sh.Worker]; n < sh.Lo || n > sh.Hi {
				fail("worker %s owns %d tasks, fair share %.2f", sh.Worker, n, sh.Exact)
			}
			delete(owned, sh.Worker)
		}
		for id, n := range owned {
			fail("ineligible worker %q owns %d tasks", id, n)
		}
	}
	return errs
}

// stickinessErrors checks that no worker both lost a task it owned (and could keep owning) and
// gained another: such a swap would be a move that neither balance nor liveness demands.
func stickinessErrors(in Input, res Result) []error {
	s := newState(in)
	lost, gained := map[string]int{}, map[string]int{}
	for _, a := range res.Assignment {
		p, ok := s.prev[a.Task]
		if !ok {
			continue
		}
		before, after := p.Owner(), a.Owner()
		if before == after || a.Active == after && after == p.Active {
			continue
		}
		// A pending warm-up that became ineligible falls back to its active: not a move.
		if !s.eligible(before) && after == p.Active {
			continue
		}
		if s.eligible(before) {
			lost[before]++
		}
		gained[after]++
	}
	var errs []error
	for id := range lost {
		if gained[id] > 0 {
			errs = append(errs, fmt.Errorf("worker %s lost %d sticky tasks and gained %d", id, lost[id], gained[id]))
		}
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errs
}

// standbyBalanceErrors checks that standbys are balanced as far as single moves can balance
// them: with S standbys in all and worker i's standby share S·c_i/C, no worker holding fewer
// than ⌊share⌋ − 1 could take a standby from a worker that would stay more loaded than it
// (standbys/capacity) without breaking a rule: the taker must hold no replica of the task, and
// the move must keep the task's zone spread (same zone, or a zone the task's other replicas do
// not use).
func standbyBalanceErrors(s *state, res Result) []error {
	total := 0
	count := map[string]int{}
	for _, a := range res.Assignment {
		total += len(a.Standbys)
		for _, id := range a.Standbys {
			count[id]++
		}
	}
	var errs []error
	for _, sh := range FairShares(s.elig, total) {
		y := s.workers[sh.Worker]
		if count[y.ID]+1 >= sh.Lo {
			continue
		}
		for _, a := range res.Assignment {
			holders := slices.Concat([]string{a.Active}, a.Warmups, a.Standbys)
			if slices.Contains(holders, y.ID) {
				continue
			}
			for _, id := range a.Standbys {
				x := s.workers[id]
				if count[id]*y.Capacity <= (count[y.ID]+1)*x.Capacity {
					continue
				}
				spread := x.Zone == y.Zone || !slices.ContainsFunc(holders, func(h string) bool {
					return h != id && h != "" && s.workers[h].Zone == y.Zone
				})
				if spread {
					errs = append(errs, fmt.Errorf("worker %s holds %d standbys (share %.2f) and could take %s's from %s (%d standbys, capacity %d)",
						y.ID, count[y.ID], sh.Exact, a.Task, id, count[id], x.Capacity))
					return errs
				}
			}
		}
	}
	return errs
}
