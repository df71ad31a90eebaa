package assign

import (
	"encoding/json"
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
