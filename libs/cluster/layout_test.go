package cluster

import (
	"strings"
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

func TestLayoutHandoffStatusTopologyKeys(t *testing.T) {
	l := Layout{Prefix: "/p"}
	task := TaskKey{App: "a/b", Group: "g", Partition: 2}
	cases := map[string]string{
		l.Status("w/1"):          "/p/status/w%2F1",
		l.StatusPrefix():         "/p/status/",
		l.Topology("a/b"):        "/p/apps/a%2Fb/topology",
		l.Handoff(task):          "/p/apps/a%2Fb/handoffs/g/2",
		l.AppsPrefix():           "/p/apps/",
		l.Election():             "/p/controllers/leader",
		l.Worker("w/1"):          "/p/workers/w%2F1",
		l.WorkersPrefix():        "/p/workers/",
		l.Assignment(task):       "/p/apps/a%2Fb/assignments/g/2",
		l.WorkerIndex("w", task): "/p/workers-index/w/a%2Fb/g/2",
	}
	for got, want := range cases {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	for key, want := range map[string]AppKeyKind{
		l.Topology("a/b"):       TopologyKey,
		l.Assignment(task):      AssignmentKey,
		l.Handoff(task):         HandoffKey,
		"/p/apps/a/versions/3":  OtherAppKey,
		"/p/apps/a/current":     OtherAppKey,
		"/p/apps/a/epoch-floor": EpochFloorKind,
		"/p/apps/a/paused":      PausedKind,
	} {
		kind, app, got, err := l.ParseAppKey(key)
		if err != nil || kind != want {
			t.Errorf("ParseAppKey(%q) = %v, %v; want kind %v", key, kind, err, want)
			continue
		}
		if (want == AssignmentKey || want == HandoffKey) && (got != task || app != "a/b") {
			t.Errorf("ParseAppKey(%q) = %q, %v", key, app, got)
		}
	}
	if id, err := l.ParseWorker(l.Worker("w/1")); err != nil || id != "w/1" {
		t.Errorf("ParseWorker = %q, %v", id, err)
	}
	if id, err := l.ParseStatus(l.Status("w/1")); err != nil || id != "w/1" {
		t.Errorf("ParseStatus = %q, %v", id, err)
	}
	if _, err := l.ParseWorker(l.Status("w")); err == nil {
		t.Error("ParseWorker accepted a status key")
	}
}

func TestTopologyValidate(t *testing.T) {
	bad := Topology{App: "", Standbys: -1, Groups: []Group{{Name: "g", Partitions: 0}, {Name: "g", Partitions: 1}, {Partitions: 1}}}
	err := bad.Validate()
	if err == nil {
		t.Fatal("invalid topology accepted")
	}
	for _, want := range []string{"app name is empty", "negative", "0 partitions", "listed twice", "empty name"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	good := Topology{App: "a", Groups: []Group{{Name: "g", Partitions: 2}}}
	if err := good.Validate(); err != nil || len(good.Tasks()) != 2 {
		t.Errorf("valid topology: %v, %d tasks", err, len(good.Tasks()))
	}
}
