package tables

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"
	"time"
)

// windowModel is a plain in-memory reference aggregator for fixed windows: count (1 per
// record) or sum, with stream time, grace, closing and expiry done the obvious way.
type windowModel struct {
	specs  map[string]WindowSpec
	st     int64
	live   map[modelKey]int64
	closed map[string]int64 // close identity → final value
}

type modelKey struct {
	table, key string
	start, end int64
}

func (m *windowModel) record(key string, ts, v int64) (late map[string]int) {
	if ts > m.st {
		m.st = ts
		for k, n := range m.live {
			sp := m.specs[k.table]
			w := Window{k.start, k.end}
			if id := CloseIdentity("app-changelog/0", k.table, []byte(k.key), k.start); sp.closeAt(w) <= m.st {
				if _, done := m.closed[id]; !done {
					m.closed[id] = n
				}
			}
			if sp.expireAt(w) <= m.st {
				delete(m.live, k)
			}
		}
	}
	late = map[string]int{}
	for name, sp := range m.specs {
		wins, _ := sp.WindowsFor(ts)
		for _, w := range wins {
			if sp.closeAt(w) <= m.st {
				late[name]++
				continue
			}
			add := int64(1)
			if name == "sum" {
				add = v
			}
			m.live[modelKey{name, key, w.Start, w.End}] += add
		}
	}
	return late
}

// TestWindowsMatchReference feeds random out-of-order streams, with commits, clean restarts
// and crashes (restart without commit, then replay from the committed position), and checks
// every close, every late drop and the final windows against the reference.
func TestWindowsMatchReference(t *testing.T) {
	for seed := range uint64(6) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 99))
			specs := map[string]WindowSpec{
				"cnt": {Kind: Tumbling, Size: 10 * ms, Grace: time.Duration(rng.Int64N(5)) * ms, Expires: 40 * ms},
				"sum": {Kind: Hopping, Size: 12 * ms, Step: 4 * ms, Grace: 3 * ms, Expires: 30 * ms},
			}
			for name, sp := range specs {
				must(t, sp.Validate())
				specs[name] = sp
			}
			type event struct {
				key   string
				ts, v int64
			}
			events := make([]event, 800)
			for i := range events {
				events[i] = event{fmt.Sprint("k", rng.IntN(4)), int64(i) + rng.Int64N(18) - 15 - 100, 1 + rng.Int64N(9)}
			}
			model := &windowModel{specs: specs, st: noStreamTime, live: map[modelKey]int64{}, closed: map[string]int64{}}
			wantLate := make([]map[string]int, len(events))
			for i, e := range events {
				wantLate[i] = model.record(e.key, e.ts, e.v)
			}

			r := newWindowRig(t, specs)
			emitted := map[string]int64{}
			crashes := 0
			for i := 0; i < len(events); i++ {
				e := events[i]
				for _, c := range r.observe(e.ts) {
					n, err := DecodeInt64(c.Value)
					must(t, err)
					if prev, ok := emitted[c.Identity()]; ok && prev != n {
						t.Fatalf("event %d: %s closed again with %d, first %d", i, c.Identity(), n, prev)
					}
					emitted[c.Identity()] = n
				}
				for name := range specs {
					n := int64(1)
					if name == "sum" {
						n = e.v
					}
					res := r.update(name, e.key, e.ts, n)
					if res.Late != wantLate[i][name] {
						t.Fatalf("event %d (%+v) in %s: %d late windows, want %d", i, e, name, res.Late, wantLate[i][name])
					}
				}
				switch x := rng.IntN(100); {
				case x < 5:
					r.commit(int64(i + 1))
				case x < 7:
					r.commit(int64(i + 1))
					r.restart()
				case x < 9 && crashes < 12:
					crashes++
					r.restart()
					i = int(r.position()) - 1
				}
			}
			if !maps.Equal(emitted, model.closed) {
				t.Fatalf("%d closes emitted, reference %d", len(emitted), len(model.closed))
			}
			got := map[modelKey]int64{}
			for name, w := range r.tabs {
				must(t, w.Scan(func(key []byte, wv WindowValue) bool {
					n, err := DecodeInt64(wv.Value)
					must(t, err)
					got[modelKey{name, string(key), wv.Start, wv.End}] = n
					return true
				}))
			}
			if !maps.Equal(got, model.live) {
				for k, v := range model.live {
					if got[k] != v {
						t.Errorf("window %+v = %d, want %d", k, got[k], v)
					}
				}
				t.Fatalf("%d live windows, reference %d", len(got), len(model.live))
			}
			if len(model.closed) == 0 || len(model.live) == 0 {
				t.Fatal("the stream exercised nothing")
			}
		})
	}
}
