package agents_test

import (
	"bytes"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/libs/agents"
	"github.com/weirhq/weir/libs/tables"
)

// memTable is an agents.Table in a map, with sorted scans.
type memTable map[string][]byte

func (m memTable) Get(k []byte) ([]byte, bool, error) { v, ok := m[string(k)]; return v, ok, nil }
func (m memTable) Set(k, v []byte) error              { m[string(k)] = bytes.Clone(v); return nil }
func (m memTable) Delete(k []byte) error              { delete(m, string(k)); return nil }
func (m memTable) Scan(prefix []byte, fn func(k, v []byte) error) error {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if strings.HasPrefix(k, string(prefix)) {
			if err := fn([]byte(k), m[k]); err != nil {
				return err
			}
		}
	}
	return nil
}

// streamEntries counts the remembered identities and watermarks whose key mentions s.
func (m memTable) streamEntries(s string) int {
	n := 0
	for k := range m {
		if strings.Contains(k, s) {
			n++
		}
	}
	return n
}

// entries counts the remembered identities ('e' keys, see dedup_identity.go).
func (m memTable) entries() int {
	n := 0
	for k := range m {
		if k[0] == 'e' {
			n++
		}
	}
	return n
}

const minute = int64(60_000)

// closeOf is the close of the 1-minute window of key k starting at start ms, as task
// app/g/0 (changelog app-g-changelog/0) emits it, consumed from closes/part at offset off.
func closeOf(k string, start int64, part int32, off int64) agents.Record {
	return closeFrom("app-g-changelog/0", k, start, part, off)
}

// closeFrom is closeOf from the task whose changelog partition is changelog.
func closeFrom(changelog, k string, start int64, part int32, off int64) agents.Record {
	id := tables.CloseIdentity(changelog, "counts", []byte(k), start)
	h := append(agents.IdentityHeaders("app/g/0", id, 0), agents.WindowHeaders(start, start+minute)...)
	return agents.Record{Topic: "closes", Partition: part, Offset: off, Key: []byte(k), Headers: h,
		Timestamp: time.UnixMilli(start)}
}

// firing is the seq-th record the one_worker timer "tick" emitted for its firing at ms.
func firing(ms int64, seq int, off int64) agents.Record {
	id := agents.TimerIdentity("app/timers", "tick", time.UnixMilli(ms))
	return agents.Record{Topic: "ticks", Partition: 0, Offset: off, Headers: agents.IdentityHeaders("app/timers", id, seq),
		Timestamp: time.UnixMilli(ms)}
}

func consumeAll(t *testing.T, d *agents.Dedup, recs ...agents.Record) (kept []int64) {
	t.Helper()
	for _, r := range recs {
		if !seen(t, d, &r) {
			kept = append(kept, r.Offset)
		}
	}
	return kept
}

func TestDedupDropsReplayedWindowCloses(t *testing.T) {
	tb := memTable{}
	d := agents.NewDedup(nil)
	d.TrackIdentities(tb, time.Hour)
	t0 := int64(1_700_000_000_000)
	got := consumeAll(t, d,
		closeOf("a", t0, 0, 0), closeOf("b", t0, 0, 1), closeOf("a", t0+minute, 0, 2),
		// The producer crashed before committing its closes of t0 and replays them.
		closeOf("a", t0, 0, 3), closeOf("b", t0, 0, 4),
		// A new window, then the same identity on another input partition (another stream).
		closeOf("b", t0+minute, 0, 5), closeOf("a", t0, 1, 6))
	if want := []int64{0, 1, 2, 5, 6}; !slices.Equal(got, want) {
		t.Fatalf("kept offsets %v, want %v", got, want)
	}
	if d.Dropped() != 2 {
		t.Fatalf("dropped %d, want 2", d.Dropped())
	}
}

func TestDedupDropsReplayedTimerFirings(t *testing.T) {
	tb := memTable{}
	d := agents.NewDedup(nil)
	d.TrackIdentities(tb, time.Hour)
	t0 := int64(1_700_000_000_000)
	got := consumeAll(t, d,
		firing(t0, 0, 0), firing(t0, 1, 1), firing(t0+10_000, 0, 2),
		// Replayed after a crash of the timers' task: the same firings again.
		firing(t0, 0, 3), firing(t0, 1, 4), firing(t0+10_000, 0, 5),
		// The replayed firing emitted one more record than before: that one is new.
		firing(t0+10_000, 1, 6), firing(t0+20_000, 0, 7))
	if want := []int64{0, 1, 2, 6, 7}; !slices.Equal(got, want) {
		t.Fatalf("kept offsets %v, want %v", got, want)
	}
	// Every_worker timers of two workers are different producers.
	w1 := agents.Record{Topic: "ticks", Offset: 8, Headers: agents.IdentityHeaders("app/timers@w1",
		agents.TimerIdentity("app/timers@w1", "tick", time.UnixMilli(t0)), 0)}
	w2 := agents.Record{Topic: "ticks", Offset: 9, Headers: agents.IdentityHeaders("app/timers@w2",
		agents.TimerIdentity("app/timers@w2", "tick", time.UnixMilli(t0)), 0)}
	if got := consumeAll(t, d, w1, w2, w1); !slices.Equal(got, []int64{8, 9}) {
		t.Fatalf("every_worker firings: kept %v, want [8 9]", got)
	}
}

// Identities older than the stream's newest by more than the horizon are forgotten: their
// entries leave the table, and a late replay of one is kept (at-least-once beyond the
// horizon) while one within the horizon is still dropped.
func TestDedupForgetsIdentitiesPastTheHorizon(t *testing.T) {
	tb := memTable{}
	d := agents.NewDedup(nil)
	d.TrackIdentities(tb, 10*time.Minute)
	t0 := int64(1_700_000_000_000)
	var recs []agents.Record
	for i := range int64(100) { // 100 one-minute windows of two keys
		recs = append(recs, closeOf("a", t0+i*minute, 0, 2*i), closeOf("b", t0+i*minute, 0, 2*i+1))
	}
	if got := consumeAll(t, d, recs...); len(got) != len(recs) {
		t.Fatalf("kept %d of %d distinct closes", len(got), len(recs))
	}
	// The newest window ends at t0+100min; the horizon keeps ends ≥ t0+90min (10-11
	// windows per key), plus at most one expiry step (horizon/8) not yet deleted.
	if n := tb.entries(); n < 2*10 || n > 2*(10+2) {
		t.Fatalf("%d identities remembered, want those of about the last 10 minutes (20-24)", n)
	}
	if d.ExpiredIdentities() == 0 {
		t.Fatal("no identity expired")
	}
	old, recent := closeOf("a", t0, 0, 1000), closeOf("a", t0+95*minute, 0, 1001)
	if got := consumeAll(t, d, old, recent); !slices.Equal(got, []int64{1000}) {
		t.Fatalf("kept %v, want only the replay beyond the horizon [1000]", got)
	}
	if d.BeyondHorizon() != 1 {
		t.Fatalf("beyond horizon %d, want 1", d.BeyondHorizon())
	}
}

// A record of an unknown identity form is still identified by (task, identity, seq),
// with the record's timestamp as its time.
func TestDedupOtherIdentityForms(t *testing.T) {
	d := agents.NewDedup(nil)
	d.TrackIdentities(memTable{}, time.Hour)
	r := agents.Record{Topic: "x", Offset: 1, Headers: agents.IdentityHeaders("app/g/0", "custom/1", 0), Timestamp: time.UnixMilli(5)}
	if got := consumeAll(t, d, r, r); !slices.Equal(got, []int64{1}) {
		t.Fatalf("kept %v, want [1]", got)
	}
}

func TestDedupSeenDoesNotAllocateForOffsetRecordsWithIdentitiesTracked(t *testing.T) {
	d := agents.NewDedup(nil)
	d.TrackIdentities(memTable{}, time.Hour)
	recs := []agents.Record{emitted(1, 0, 1), emitted(2, 0, 2)}
	seen(t, d, &recs[0])
	if a := testing.AllocsPerRun(100, func() { seen(t, d, &recs[1]) }); a != 0 {
		t.Fatalf("Seen allocates %v times per record", a)
	}
}

// A stream that stopped (nothing consumed from it while the partition's newest identity
// time advanced by more than max(2 × horizon, 24 h)) is dropped whole; a stream that
// lags behind the others but still delivers is kept.
func TestDedupDropsStoppedStreams(t *testing.T) {
	tb := memTable{}
	d := agents.NewDedup(nil)
	d.TrackIdentities(tb, time.Hour)
	t0 := int64(1_700_000_000_000)
	hour := 60 * minute
	consumeAll(t, d, closeFrom("gone-changelog/0", "a", t0, 0, 0), closeFrom("gone-changelog/0", "b", t0, 0, 1))
	if tb.streamEntries("gone-changelog") != 3 { // two identities and the watermark
		t.Fatalf("stopped stream: %d keys before the sweep, want 3", tb.streamEntries("gone-changelog"))
	}
	off := int64(2)
	for h := int64(0); h <= 72; h++ { // 3 days of hourly closes from a live producer, and a lagging one
		if got := consumeAll(t, d, closeFrom("live-changelog/0", "a", t0+h*hour, 0, off),
			closeFrom("late-changelog/0", "a", t0-72*hour+h*hour, 0, off+1)); len(got) != 2 {
			t.Fatalf("hour %d: kept %v", h, got)
		}
		off += 2
	}
	if n := tb.streamEntries("gone-changelog"); n != 0 {
		t.Fatalf("stopped stream: %d keys left", n)
	}
	if tb.streamEntries("live-changelog") == 0 || tb.streamEntries("late-changelog") == 0 {
		t.Fatal("a live stream was dropped")
	}
	// The lagging stream still drops its replays.
	if got := consumeAll(t, d, closeFrom("late-changelog/0", "a", t0, 0, 999)); len(got) != 0 {
		t.Fatalf("replay of the lagging stream kept: %v", got)
	}
}
