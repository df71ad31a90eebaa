package assign

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestComputeRejectsBadInput(t *testing.T) {
	in := Input{
		Standbys: -1,
		Workers:  []Worker{{ID: "a", Capacity: 1, Alive: true}, {ID: "a", Capacity: -2}, {Capacity: 1}},
		Tasks:    []Task{{ID: TaskID{App: "x", Partition: 0}}, {ID: TaskID{App: "x", Partition: 0}}},
	}
	_, err := Compute(in)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"standby count -1", `worker "a" is listed twice`, "negative capacity", "empty id", "listed twice"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestFairShares(t *testing.T) {
	workers := []Worker{
		{ID: "c", Capacity: 3, Alive: true},
		{ID: "a", Capacity: 1, Alive: true},
		{ID: "b", Capacity: 2, Alive: true},
		{ID: "d", Capacity: 4, Alive: true, Draining: true},
		{ID: "e", Capacity: 4},
	}
	shares := FairShares(workers, 10)
	want := []struct {
		id     string
		lo, hi int
	}{{"a", 1, 2}, {"b", 3, 4}, {"c", 5, 5}}
	if len(shares) != len(want) {
		t.Fatalf("shares %+v", shares)
	}
	for i, w := range want {
		if s := shares[i]; s.Worker != w.id || s.Lo != w.lo || s.Hi != w.hi {
			t.Errorf("share %d = %+v, want %+v", i, s, w)
		}
	}
	res, err := Compute(Input{Workers: workers, Tasks: []Task{{ID: TaskID{App: "x"}}}})
	if err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, Input{Workers: workers, Tasks: []Task{{ID: TaskID{App: "x"}}}}, res)
}

func TestMoveKindJSON(t *testing.T) {
	for _, k := range []MoveKind{Initial, Failover, Planned} {
		b, err := json.Marshal(k)
		if err != nil {
			t.Fatal(err)
		}
		var back MoveKind
		if err := json.Unmarshal(b, &back); err != nil || back != k {
			t.Errorf("%s: round trip gave %v, %v", b, back, err)
		}
	}
	var k MoveKind
	if err := json.Unmarshal([]byte(`"teleport"`), &k); err == nil {
		t.Error("unknown kind accepted")
	}
}

// TestJoinBudgetDefersOlderDebt: a join that unblocks balance debt older than itself. w003
// (zone z3, capacity 1) holds 52 standbys because zone spread kept them there while drains
// hand tasks off into z1; w005 is below its share. w007 joins in z3: it takes w003's standbys
// and some pending handoffs, which frees zones so that w005 could take standbys too. The join's
// computation stays within N·(f+1) standby copies and defers the rest; the next computation
// repays the older debt (standbys only) and the one after it moves nothing.
func TestJoinBudgetDefersOlderDebt(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "join-unblocks-debt.input.json"))
	if err != nil {
		t.Fatal(err)
	}
	var in Input
	if err := json.Unmarshal(raw, &in); err != nil {
		t.Fatal(err)
	}
	var share float64
	for _, sh := range FairShares(in.Workers, len(in.Tasks)) {
		if sh.Worker == "w007" {
			share = sh.Exact
		}
	}
	res, err := Compute(in)
	if err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, in, res)
	_, copies := joinMoves(in, res)
	if bound := float64(in.Standbys) * (share + 1); float64(copies) > bound {
		t.Errorf("join moves %d standbys, bound N·(f+1) = %.2f", copies, bound)
	}
	if !res.Deferred {
		t.Fatal("Deferred is false: the budget held nothing back, so this input no longer tests it")
	}

	next := Input{Tasks: in.Tasks, Workers: in.Workers, Previous: res.Assignment, Standbys: in.Standbys}
	again, err := Compute(next)
	if err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, next, again)
	if again.Deferred || len(again.Moves) > 0 {
		t.Errorf("follow-up: deferred %v, moves %v; want standby moves only", again.Deferred, again.Moves)
	}
	if _, repaid := joinMoves(next, again); repaid == 0 {
		t.Error("follow-up moved no standby: the deferred debt was not repaid")
	}
	last, err := Compute(Input{Tasks: in.Tasks, Workers: in.Workers, Previous: again.Assignment, Standbys: in.Standbys})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(last, again) {
		t.Error("the computation after the follow-up still changes the assignment")
	}
}
