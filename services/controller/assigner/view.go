package assigner

import (
	"encoding/json"
	"log/slog"
	"math"
	"time"

	"github.com/weirhq/weir/libs/cluster"
)

// source is one followed prefix.
type source int

const (
	workersSource source = iota
	statusSource
	appsSource
	sources
)

// sourced is a batch from one followed prefix.
type sourced struct {
	src   source
	batch cluster.Batch
}

// incarnation is one lease of one worker.
type incarnation struct {
	worker string
	lease  int64
}

// member is a registered worker.
type member struct {
	rec   cluster.WorkerRecord
	lease int64
}

// view is the controller's mirror of etcd, fed by Follow batches. It is owned by the term's
// loop goroutine.
type view struct {
	layout   cluster.Layout
	grace    time.Duration
	log      *slog.Logger
	listed   [sources]bool
	appsRev  int64
	workers  map[string]member
	ended    map[incarnation]time.Time // when the controller learned an incarnation ended
	status   map[string]cluster.WorkerStatus
	topo     map[string]cluster.Topology
	broken   map[string]bool // apps whose topology record is invalid: left alone
	paused   map[string]bool // apps being reset: every task is released and left unassigned
	floor    map[string]int64
	assigned map[cluster.TaskKey]cluster.Assignment
	handoffs map[cluster.TaskKey]cluster.Handoff
}

func newView(l cluster.Layout, grace time.Duration, log *slog.Logger) *view {
	return &view{layout: l, grace: grace, log: log,
		workers: map[string]member{}, ended: map[incarnation]time.Time{}, status: map[string]cluster.WorkerStatus{},
		topo: map[string]cluster.Topology{}, broken: map[string]bool{}, paused: map[string]bool{}, floor: map[string]int64{}, assigned: map[cluster.TaskKey]cluster.Assignment{}, handoffs: map[cluster.TaskKey]cluster.Handoff{}}
}

// ready reports whether every prefix has been listed once.
func (v *view) ready() bool {
	return v.listed[workersSource] && v.listed[statusSource] && v.listed[appsSource]
}

func (v *view) apply(s sourced, now time.Time) {
	switch s.src {
	case workersSource:
		v.applyWorkers(s.batch, now)
	case statusSource:
		v.applyStatus(s.batch)
	case appsSource:
		v.applyApps(s.batch)
	}
	v.listed[s.src] = true
}

func (v *view) applyWorkers(b cluster.Batch, now time.Time) {
	if b.Reset {
		seen := map[string]bool{}
		for _, kv := range b.Changes {
			if id, err := v.layout.ParseWorker(kv.Key); err == nil {
				seen[id] = true
			}
		}
		for id := range v.workers {
			if !seen[id] {
				v.remove(id, now)
			}
		}
	}
	for _, kv := range b.Changes {
		id, err := v.layout.ParseWorker(kv.Key)
		if err != nil {
			v.log.Warn("skipping worker key", "err", err)
			continue
		}
		if kv.Deleted {
			v.remove(id, now)
			continue
		}
		rec, err := cluster.DecodeWorker(kv.Value)
		if err != nil {
			v.log.Warn("skipping worker record", "worker", id, "err", err)
			continue
		}
		if old, ok := v.workers[id]; ok && old.lease != kv.Lease {
			v.end(incarnation{id, old.lease}, now, old.rec.Stopped)
		}
		rec.ID = id
		v.workers[id] = member{rec: rec, lease: kv.Lease}
	}
}

// remove notes that a worker's membership key is gone.
func (v *view) remove(id string, now time.Time) {
	if old, ok := v.workers[id]; ok {
		v.end(incarnation{id, old.lease}, now, old.rec.Stopped)
		delete(v.workers, id)
	}
}

// end records when an incarnation ended. A worker that stopped cleanly (all tasks committed and
// stopped before it revoked its lease) needs no grace.
func (v *view) end(in incarnation, now time.Time, stopped bool) {
	if _, ok := v.ended[in]; ok {
		return
	}
	if stopped {
		now = now.Add(-v.grace)
	}
	v.ended[in] = now
}

// lost reports whether the incarnation holding a task is no longer registered, and if so the
// moment its grace ends. An incarnation never seen ending (e.g. it ended before this
// controller led) is taken to have ended now.
func (v *view) lost(in incarnation, now time.Time) (bool, time.Time) {
	if m, ok := v.workers[in.worker]; ok && m.lease == in.lease {
		return false, time.Time{}
	}
	at, ok := v.ended[in]
	if !ok {
		at = now
		v.ended[in] = at
	}
	return true, at.Add(v.grace)
}

// forget drops ended incarnations no task record refers to any more.
func (v *view) forget() {
	used := map[incarnation]bool{}
	for _, a := range v.assigned {
		used[incarnation{a.Active, a.Lease}] = true
	}
	for in := range v.ended {
		if !used[in] {
			delete(v.ended, in)
		}
	}
}

func (v *view) applyStatus(b cluster.Batch) {
	if b.Reset {
		clear(v.status)
	}
	for _, kv := range b.Changes {
		id, err := v.layout.ParseStatus(kv.Key)
		if err != nil {
			v.log.Warn("skipping status key", "err", err)
			continue
		}
		if kv.Deleted {
			delete(v.status, id)
			continue
		}
		st, err := cluster.DecodeStatus(kv.Value)
		if err != nil {
			v.log.Warn("skipping status record", "worker", id, "err", err)
			continue
		}
		st.Lease = kv.Lease
		v.status[id] = st
	}
}

func (v *view) applyApps(b cluster.Batch) {
	if b.Reset {
		clear(v.topo)
		clear(v.broken)
		clear(v.paused)
		clear(v.floor)
		clear(v.assigned)
		clear(v.handoffs)
	}
	for _, kv := range b.Changes {
		kind, app, task, err := v.layout.ParseAppKey(kv.Key)
		if err != nil {
			v.log.Warn("skipping app key", "err", err)
			continue
		}
		switch kind {
		case cluster.TopologyKey:
			v.applyTopology(app, kv)
		case cluster.PausedKind:
			v.paused[app] = !kv.Deleted
		case cluster.EpochFloorKind:
			v.applyFloor(app, kv)
		case cluster.AssignmentKey:
			if kv.Deleted {
				delete(v.assigned, task)
				continue
			}
			a, err := cluster.DecodeAssignment(kv.Value, kv.ModRevision)
			if err != nil {
				v.log.Warn("skipping assignment", "task", task.String(), "err", err)
				continue
			}
			v.assigned[task] = a
		case cluster.HandoffKey:
			if kv.Deleted {
				delete(v.handoffs, task)
				continue
			}
			h, err := cluster.DecodeHandoff(kv.Value)
			if err != nil {
				v.log.Warn("skipping released record", "task", task.String(), "err", err)
				continue
			}
			v.handoffs[task] = h
		}
	}
	v.appsRev = max(v.appsRev, b.Revision)
}

func (v *view) applyFloor(app string, kv cluster.KeyValue) {
	if kv.Deleted {
		delete(v.floor, app)
		return
	}
	var f cluster.EpochFloor
	if err := json.Unmarshal(kv.Value, &f); err != nil {
		// Unknown floor: assume it is above every epoch this controller could issue now.
		v.log.Error("undecodable epoch floor: no new epochs for the app", "app", app, "err", err)
		f.Floor = math.MaxInt64
	}
	v.floor[app] = f.Floor
}

func (v *view) applyTopology(app string, kv cluster.KeyValue) {
	delete(v.broken, app)
	if kv.Deleted {
		delete(v.topo, app)
		return
	}
	t, err := cluster.DecodeTopology(kv.Value)
	if err == nil && t.App != app {
		v.log.Warn("topology names another app; using the key's", "key", kv.Key, "app", t.App)
		t.App = app
	}
	if err != nil {
		v.log.Error("ignoring invalid topology (the app's tasks stay as they are)", "app", app, "err", err)
		v.broken[app] = true
		return
	}
	v.topo[app] = t
}
