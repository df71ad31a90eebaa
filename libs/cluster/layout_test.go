package cluster

import (
	"testing"
)

func TestLayoutKeys(t *testing.T) {
	var l Layout
	task := TaskKey{App: "orders", Group: "enrich", Partition: 7}
	cases := map[string]string{
		l.Worker("w1"):                "/weir/workers/w1",
		l.WorkersPrefix():             "/weir/workers/",
		l.Assignment(task):            "/weir/apps/orders/assignments/enrich/7",
		l.AssignmentsPrefix("orders"): "/weir/apps/orders/assignments/",
		l.WorkerIndex("w1", task):     "/weir/workers-index/w1/orders/enrich/7",
		l.WorkerIndexPrefix("w1"):     "/weir/workers-index/w1/",
		Layout{Prefix: "/t/x/"}.All(): "/t/x/",
	}
	for got, want := range cases {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

func TestLayoutParseRoundTrip(t *testing.T) {
	l := Layout{Prefix: "/bench/1"}
	task := TaskKey{App: "a/b c", Group: "g%1", Partition: 12}
	got, err := l.ParseAssignment(l.Assignment(task))
	if err != nil || got != task {
		t.Fatalf("ParseAssignment = %v, %v", got, err)
	}
	w, got, err := l.ParseWorkerIndex(l.WorkerIndex("worker/1", task))
	if err != nil || got != task || w != "worker/1" {
		t.Fatalf("ParseWorkerIndex = %q, %v, %v", w, got, err)
	}
	for _, bad := range []string{"/weir/apps/a/assignments/g/1", "/bench/1/apps/a/assignments/g/x", "/bench/1/apps/a/other/g/1", "/bench/1/workers-index/w/a/g"} {
		if _, err := l.ParseAssignment(bad); err == nil {
			t.Errorf("ParseAssignment(%q) accepted", bad)
		}
	}
}

func TestPlanPacksWholeTasks(t *testing.T) {
	p := &Publisher{}
	var updates []Update
	for i := range 100 {
		// 1 task key + 3 index puts + 1 index delete = 5 operations each.
		updates = append(updates, Update{
			Task: TaskKey{App: "a", Group: "g", Partition: i},
			Old:  &Assignment{Active: "w0", Standbys: []string{"w9"}},
			New:  &Assignment{Active: "w0", Standbys: []string{"w1"}, Warmups: []string{"w2"}},
		})
	}
	txns, err := p.plan(updates)
	if err != nil {
		t.Fatal(err)
	}
	if len(txns) != 4 { // 25 tasks (125 ops) per transaction
		t.Fatalf("%d transactions, want 4", len(txns))
	}
	for _, tx := range txns {
		if len(tx.ops) > MaxTxnOps || len(tx.ops) != 5*len(tx.updates) {
			t.Errorf("transaction with %d ops for %d tasks", len(tx.ops), len(tx.updates))
		}
	}
	if _, err := p.plan(append(updates, updates[0])); err == nil {
		t.Error("a task updated twice was accepted")
	}
}

func TestDiffKeepsEpochOfUnchangedActive(t *testing.T) {
	a := TaskKey{App: "a", Partition: 0}
	b := TaskKey{App: "a", Partition: 1}
	c := TaskKey{App: "a", Partition: 2}
	old := map[TaskKey]Assignment{
		a: {Active: "w1", Epoch: 10, State: Stable},
		b: {Active: "w1", Epoch: 11, State: Stable},
		c: {Active: "w2", Epoch: 12, State: Stable},
	}
	next := map[TaskKey]Assignment{
		a:                        {Active: "w1", State: Stable},                           // unchanged
		b:                        {Active: "w1", Warmups: []string{"w3"}, State: Warming}, // same active
		{App: "a", Partition: 3}: {Active: "w3", Standbys: []string{"w1"}, State: Stable}, // new
	}
	updates := Diff(old, next)
	if len(updates) != 3 {
		t.Fatalf("%d updates, want 3: %+v", len(updates), updates)
	}
	if u := updates[0]; u.Task != b || u.New.Epoch != 11 {
		t.Errorf("update 0 = %+v, want %v keeping epoch 11", u, b)
	}
	if u := updates[1]; u.Task != c || u.New != nil {
		t.Errorf("update 1 = %+v, want delete of %v", u, c)
	}
	if u := updates[2]; u.Old != nil || u.New == nil {
		t.Errorf("update 2 = %+v, want a new task", u)
	}
}
