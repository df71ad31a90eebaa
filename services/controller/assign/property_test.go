package assign

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// sim is a cluster driven through random events; Compute runs after every event and its result
// becomes the next previous assignment, as the controller would publish it.
type sim struct {
	t        *testing.T
	rng      *rand.Rand
	zones    []string
	n        int
	tasks    []Task
	workers  []Worker
	prev     []TaskAssignment
	nextID   int
	joins    int // joins checked
	deferred int // results whose join budget deferred standby moves
}

func newSim(t *testing.T, seed uint64) *sim {
	rng := rand.New(rand.NewPCG(seed, seed*7919))
	s := &sim{t: t, rng: rng, n: rng.IntN(3)}
	if rng.IntN(3) > 0 {
		s.zones = []string{"z1", "z2", "z3"}[:1+rng.IntN(3)]
	}
	for app := range 1 + rng.IntN(3) {
		for p := range 5 + rng.IntN(40) {
			s.tasks = append(s.tasks, Task{ID: TaskID{App: fmt.Sprintf("app%d", app), Group: "g", Partition: p}})
		}
	}
	for range 1 + rng.IntN(5) {
		s.addWorker()
	}
	res, err := Compute(s.input())
	if err != nil {
		t.Fatal(err)
	}
	s.prev = res.Assignment
	return s
}

func (s *sim) addWorker() Worker {
	w := Worker{ID: fmt.Sprintf("w%03d", s.nextID), Capacity: 1 + s.rng.IntN(4), Alive: true}
	s.nextID++
	if len(s.zones) > 0 {
		w.Zone = s.zones[s.rng.IntN(len(s.zones))]
	}
	s.workers = append(s.workers, w)
	return w
}

func (s *sim) input() Input {
	// Standbys report random lags; ties are common on purpose.
	for i := range s.tasks {
		s.tasks[i].Lag = nil
	}
	for _, a := range s.prev {
		i, ok := slices.BinarySearchFunc(s.tasks, a.Task, func(t Task, id TaskID) int { return t.ID.Compare(id) })
		if !ok {
			continue
		}
		for _, id := range slices.Concat(a.Standbys, a.Warmups) {
			if s.rng.IntN(4) > 0 {
				if s.tasks[i].Lag == nil {
					s.tasks[i].Lag = map[string]int64{}
				}
				s.tasks[i].Lag[id] = int64(s.rng.IntN(3) * 100)
			}
		}
	}
	return Input{Tasks: slices.Clone(s.tasks), Workers: slices.Clone(s.workers), Previous: s.prev, Standbys: s.n}
}

func (s *sim) live() []int {
	var idx []int
	for i, w := range s.workers {
		if w.eligible() {
			idx = append(idx, i)
		}
	}
	return idx
}

// step applies one random event and checks the computation that follows it.
func (s *sim) step(i int) {
	t := s.t
	event := "handoff"
	switch r := s.rng.IntN(100); {
	case r < 25 && len(s.workers) < 14:
		event = "join"
	case r < 40:
		event = "crash"
	case r < 55:
		event = "drain"
	case r < 65:
		event = "remove"
	}
	live := s.live()
	var joined Worker
	switch event {
	case "join":
		joined = s.addWorker()
	case "crash":
		if len(live) > 1 {
			s.workers[live[s.rng.IntN(len(live))]].Alive = false
		}
	case "drain":
		if len(live) > 1 {
			s.workers[live[s.rng.IntN(len(live))]].Draining = true
		}
	case "remove":
		// Dead workers vanish from membership; drained ones deregister once they hold nothing.
		held := map[string]bool{}
		for _, a := range s.prev {
			held[a.Active] = true
		}
		s.workers = slices.DeleteFunc(s.workers, func(w Worker) bool { return !w.Alive || w.Draining && !held[w.ID] })
	case "handoff":
		// The handoff step (not this package's) completes some pending warm-ups.
		for j, a := range s.prev {
			if len(a.Warmups) > 0 && s.rng.IntN(2) == 0 {
				s.prev[j] = Settle([]TaskAssignment{a})[0]
			}
		}
	}

	in := s.input()
	res, err := Compute(in)
	if err != nil {
		t.Fatalf("step %d (%s): %v", i, event, err)
	}
	for _, err := range slices.Concat(invariantErrors(in, res), stickinessErrors(in, res)) {
		t.Errorf("step %d (%s): %v", i, event, err)
	}
	s.checkMoves(in, res)
	s.checkPromotion(in, res)
	s.checkFixpoint(in, res)
	if event == "join" {
		s.checkJoin(in, res, joined)
	}
	if i%25 == 0 {
		s.checkDeterminism(in, res)
	}
	if t.Failed() {
		t.FailNow()
	}
	s.prev = res.Assignment
}

// checkMoves checks that the listed moves are exactly the active and warm-up changes.
func (s *sim) checkMoves(in Input, res Result) {
	prev := Index(in.Previous)
	var want []Move
	for _, a := range res.Assignment {
		p := prev[a.Task]
		if a.Active != p.Active {
			kind := Failover
			if p.Active == "" {
				kind = Initial
			}
			want = append(want, Move{Task: a.Task, From: p.Active, To: a.Active, Kind: kind})
		}
		if len(a.Warmups) > 0 && (a.Active != p.Active || !slices.Equal(a.Warmups, p.Warmups)) {
			want = append(want, Move{Task: a.Task, From: a.Active, To: a.Warmups[0], Kind: Planned})
		}
	}
	if !reflect.DeepEqual(want, res.Moves) {
		s.t.Errorf("moves %v, want %v", res.Moves, want)
	}
}

// checkPromotion checks that a lost active is replaced by its most caught-up eligible replica.
func (s *sim) checkPromotion(in Input, res Result) {
	st := newState(in)
	for _, t := range st.tasks {
		p := st.prev[t.ID]
		if p.Active == "" || st.alive(p.Active) {
			continue
		}
		var best string
		for _, id := range slices.Concat(p.Standbys, p.Warmups) {
			if st.eligible(id) && (best == "" || lag(t, id) < lag(t, best) || lag(t, id) == lag(t, best) && id < best) {
				best = id
			}
		}
		got := Index(res.Assignment)[t.ID].Active
		if best != "" && got != best {
			s.t.Errorf("%s: lost active %s replaced by %s, most caught-up is %s (lags %v)", t.ID, p.Active, got, best, t.Lag)
		}
	}
}

// checkJoin bounds the moves a join causes: owners that change, at most the new worker's fair
// share f + 1; configured standbys that move to another worker, at most N·(f + 1).
//
// One exception, for owners only: the balance invariant itself can force more moves than f + 1.
// When a join lowers an old worker's ⌈fair share⌉ below what it owns (rounding: 2 tasks at a
// share of 1.12 become too many at 0.97), it must give tasks up whatever the algorithm does; so
// the owner bound is max(f + 1, forced), forced being the sum of those excesses.
func (s *sim) checkJoin(in Input, res Result, joined Worker) {
	var share float64
	ceil := map[string]int{}
	for _, sh := range FairShares(in.Workers, len(in.Tasks)) {
		ceil[sh.Worker] = sh.Hi
		if sh.Worker == joined.ID {
			share = sh.Exact
		}
	}
	owners, standbys := joinMoves(in, res)
	before := map[string]int{}
	for _, a := range in.Previous {
		before[a.Owner()]++
	}
	forced := 0
	for id, hi := range ceil {
		forced += max(0, before[id]-hi)
	}
	if float64(owners) > max(share+1, float64(forced)) {
		s.t.Errorf("join of %s (share %.2f, forced %d): %d tasks move", joined.ID, share, forced, owners)
	}
	if float64(standbys) > float64(s.n)*(share+1) {
		s.t.Errorf("join of %s (share %.2f, N=%d): %d standbys move", joined.ID, share, s.n, standbys)
	}
	s.joins++
}

// joinMoves counts what a computation moves: tasks whose owner changes, and configured standbys
// that move to another worker (per task, min(standbys on workers that held none of the task's
// state, previous standbys dropped)).
func joinMoves(in Input, res Result) (owners, standbys int) {
	prev := Index(in.Previous)
	for _, a := range res.Assignment {
		p := prev[a.Task]
		if a.Owner() != p.Owner() {
			owners++
		}
		had := slices.Concat([]string{p.Active}, p.Warmups, p.Standbys)
		fresh, dropped := 0, 0
		for _, id := range a.Standbys {
			if !slices.Contains(had, id) {
				fresh++
			}
		}
		for _, id := range p.Standbys {
			if !slices.Contains(replicas(a), id) && !slices.Contains(a.Standbys, id) {
				dropped++
			}
		}
		standbys += min(fresh, dropped)
	}
	return owners, standbys
}

// checkFixpoint computes again from the published result with nothing changed: nothing may move.
// A result whose join budget deferred standby moves (Result.Deferred) may change once more,
// standbys only; the computation after that must be a fixpoint.
func (s *sim) checkFixpoint(in Input, res Result) {
	again, err := Compute(Input{Tasks: in.Tasks, Workers: in.Workers, Previous: res.Assignment, Standbys: in.Standbys})
	if err != nil {
		s.t.Fatal(err)
	}
	if res.Deferred && !again.Deferred {
		s.deferred++
		if len(again.Moves) > 0 {
			s.t.Errorf("deferred standby moves also moved actives: %v", again.Moves)
		}
		for _, err := range invariantErrors(in, again) {
			s.t.Errorf("after deferred standby moves: %v", err)
		}
		res = again
		if again, err = Compute(Input{Tasks: in.Tasks, Workers: in.Workers, Previous: res.Assignment, Standbys: in.Standbys}); err != nil {
			s.t.Fatal(err)
		}
	}
	if again.Deferred || len(again.Moves) > 0 || !reflect.DeepEqual(again.Assignment, res.Assignment) {
		s.t.Errorf("not a fixpoint: computing again changes the assignment (moves %v)", again.Moves)
	}
}

// checkDeterminism recomputes from a shuffled copy of the input.
func (s *sim) checkDeterminism(in Input, res Result) {
	shuffled := Input{Tasks: slices.Clone(in.Tasks), Workers: slices.Clone(in.Workers), Previous: slices.Clone(in.Previous), Standbys: in.Standbys}
	s.rng.Shuffle(len(shuffled.Tasks), func(i, j int) { shuffled.Tasks[i], shuffled.Tasks[j] = shuffled.Tasks[j], shuffled.Tasks[i] })
	s.rng.Shuffle(len(shuffled.Workers), func(i, j int) { shuffled.Workers[i], shuffled.Workers[j] = shuffled.Workers[j], shuffled.Workers[i] })
	s.rng.Shuffle(len(shuffled.Previous), func(i, j int) {
		shuffled.Previous[i], shuffled.Previous[j] = shuffled.Previous[j], shuffled.Previous[i]
	})
	again, err := Compute(shuffled)
	if err != nil {
		s.t.Fatal(err)
	}
	if !reflect.DeepEqual(res, again) {
		s.t.Errorf("same input in another order gives another result")
	}
}

var (
	propSeeds = flag.Int("prop.seeds", 12, "TestPropertiesRandomMembership: number of random sequences")
	propBase  = flag.Int("prop.base", 0, "TestPropertiesRandomMembership: first seed")
	propSteps = flag.Int("prop.steps", 400, "TestPropertiesRandomMembership: events per sequence")
)

// TestPropertiesRandomMembership runs -prop.seeds random join/crash/drain/remove/handoff
// sequences of -prop.steps events each and checks every computation. CI runs the defaults; for
// a thorough run: go test ./services/controller/assign -run TestPropertiesRandomMembership
// -prop.seeds 2000 -prop.base 1000.
func TestPropertiesRandomMembership(t *testing.T) {
	joins, deferred := make([]int, *propSeeds), make([]int, *propSeeds)
	t.Run("seeds", func(t *testing.T) {
		for k := range *propSeeds {
			seed := uint64(*propBase + k)
			t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
				t.Parallel()
				s := newSim(t, seed)
				for i := range *propSteps {
					s.step(i)
				}
				joins[k], deferred[k] = s.joins, s.deferred
			})
		}
	})
	total, totalDeferred := 0, 0
	for k, n := range joins {
		total += n
		totalDeferred += deferred[k]
	}
	t.Logf("%d sequences, %d joins checked, %d results with deferred standby moves", *propSeeds, total, totalDeferred)
	if !t.Failed() && *propSeeds > 0 && *propSteps >= 100 && total == 0 {
		t.Error("no join was checked")
	}
}
