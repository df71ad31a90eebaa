package tables

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestWindowsGraceAndLate(t *testing.T) {
	r := newWindowRig(t, map[string]WindowSpec{"counts": {Kind: Tumbling, Size: 10 * ms, Grace: 5 * ms, Expires: time.Hour}})
	if _, err := r.tabs["counts"].Update([]byte("a"), 1, add(1)); err == nil || !strings.Contains(err.Error(), "Observe") {
		t.Fatalf("update before any observe: %v", err)
	}
	r.record("counts", "a", 3, 1)
	r.record("counts", "a", 12, 1) // stream time 12: [0,10) closes at 15
	res := r.update("counts", "a", 8, 1)
	if len(res.Updated) != 1 || res.Late != 0 {
		t.Fatalf("out of order within grace: %+v", res)
	}
	if cw := r.observe(14); len(cw) != 0 {
		t.Fatalf("closed before end+grace: %+v", cw)
	}
	cw := r.observe(15) // 10 + 5: closes exactly here
	if got := closedInts(t, cw); !slices.Equal(got, []closedInt{{"counts", "a", 0, 10, 2}}) {
		t.Fatalf("closed = %+v", got)
	}
	res = r.update("counts", "a", 9, 1) // late: [0,10) is closed
	if len(res.Updated) != 0 || res.Late != 1 {
		t.Fatalf("late record: %+v", res)
	}
	if n, _ := r.value("counts", "a", 0); n != 2 {
		t.Fatalf("a late record changed a closed window: %d", n)
	}
	if _, err := r.tabs["counts"].Update([]byte("a"), 16, add(1)); err == nil {
		t.Fatal("an update ahead of the stream time was accepted")
	}
	m := r.ws.Metrics()
	if m.LateRecords != 1 || m.LateWindows != 1 || m.ClosedWindows != 1 {
		t.Fatalf("metrics = %+v", m)
	}
	// Hopping: a record partly late updates its open windows only, and is not a dropped record.
	r2 := newWindowRig(t, map[string]WindowSpec{"h": {Kind: Hopping, Size: 10 * ms, Step: 5 * ms}})
	r2.record("h", "k", 9, 1)
	res = r2.update("h", "k", 4, 1) // windows [-5,5) (closed at 5) and [0,10) (closes at 10)
	if len(res.Updated) != 1 || res.Updated[0].Start != 0 || res.Late != 1 {
		t.Fatalf("partly late hopping record: %+v", res)
	}
	if m := r2.ws.Metrics(); m.LateRecords != 0 || m.LateWindows != 1 {
		t.Fatalf("hopping metrics = %+v", m)
	}
}

func TestWindowsCloseOrderAndRestart(t *testing.T) {
	specs := map[string]WindowSpec{
		"t": {Kind: Tumbling, Size: 10 * ms, Expires: time.Hour},
		"h": {Kind: Hopping, Size: 10 * ms, Step: 5 * ms, Expires: time.Hour},
	}
	r := newWindowRig(t, specs)
	for _, k := range []string{"b", "a", "c"} {
		r.record("t", k, 1, 1)
		r.record("h", k, 7, 2)
	}
	r.commit(6)
	cw := r.observe(10) // closes t:[0,10) and h:[0,10); h:[-5,5) closed at 5 had nothing.
	want := []closedInt{
		{"h", "a", 0, 10, 2}, {"h", "b", 0, 10, 2}, {"h", "c", 0, 10, 2},
		{"t", "a", 0, 10, 1}, {"t", "b", 0, 10, 1}, {"t", "c", 0, 10, 1},
	}
	if got := closedInts(t, cw); !slices.Equal(got, want) {
		t.Fatalf("closed = %+v\nwant %+v", got, want)
	}
	id := cw[0].Identity()
	if id != CloseIdentity("app-changelog/0", "h", []byte("a"), 0) || !strings.HasPrefix(id, "wclose/app-changelog/0/h/0/") {
		t.Fatalf("identity = %q", id)
	}

	// A crash before the commit: the replay closes the same windows with the same identities.
	r.restart()
	if st, _ := r.ws.StreamTime(); st != 7 {
		t.Fatalf("restored stream time = %d, want 7", st)
	}
	again := r.observe(10)
	if got := closedInts(t, again); !slices.Equal(got, want) {
		t.Fatalf("replayed closes = %+v", got)
	}
	for i := range again {
		if again[i].Identity() != cw[i].Identity() {
			t.Fatalf("replay identity %q != %q", again[i].Identity(), cw[i].Identity())
		}
	}
	r.commit(7)

	// After the commit a restart remembers the closes: none again, the next ones once.
	r.restart()
	if cw := r.observe(14); len(cw) != 0 {
		t.Fatalf("closed again after a restart: %+v", closedInts(t, cw))
	}
	if cw := r.observe(15); len(cw) != 3 || cw[0].Table != "h" || cw[0].Start != 5 {
		t.Fatalf("h:[5,15) should close at 15: %+v", closedInts(t, cw))
	}
	if cw := r.observe(100); len(cw) != 0 {
		t.Fatalf("nothing left to close: %+v", closedInts(t, cw))
	}
	// Closed windows stay readable until they expire.
	if n, ok := r.value("t", "a", 0); !ok || n != 1 {
		t.Fatalf("closed window unreadable: %d %v", n, ok)
	}
}

func TestWindowsExpiry(t *testing.T) {
	r := newWindowRig(t, map[string]WindowSpec{"t": {Kind: Tumbling, Size: 10 * ms, Grace: 2 * ms, Expires: 30 * ms}})
	r.record("t", "a", 1, 1)
	r.record("t", "b", 11, 1)
	r.commit(2)
	if cw := r.observe(29); len(cw) != 2 {
		t.Fatalf("closed = %+v", closedInts(t, cw))
	}
	r.commit(3)
	if _, ok := r.value("t", "a", 0); !ok {
		t.Fatal("window expired early")
	}
	r.observe(30) // [0,10) expires at 0+30
	if _, ok := r.value("t", "a", 0); ok {
		t.Fatal("expired window still readable")
	}
	if _, ok := r.value("t", "b", 10); !ok {
		t.Fatal("window b expired early")
	}
	r.commit(4)
	// The commit batch tombstones the window and its expiry-index entry.
	var tomb []string
	for _, rec := range r.log.lastBatch() {
		if rec.Value == nil {
			tomb = append(tomb, string(rec.Key))
		}
	}
	wantWindow := string(changelogKey("t", EncodeWindowKey([]byte("a"), 0)))
	if !slices.Contains(tomb, wantWindow) || len(tomb) != 2 {
		t.Fatalf("tombstones %q, want the window %q and its index entry", tomb, wantWindow)
	}
	if got, err := r.store.WindowRange("app-changelog", 0, "t", []byte("a"), -100, 100); err != nil || len(got) != 0 {
		t.Fatalf("Pebble still holds the expired window: %v %v", got, err)
	}
	if got, err := r.store.WindowRange("app-changelog", 0, "t", []byte("b"), -100, 100); err != nil || len(got) != 1 || got[0].End != 20 {
		t.Fatalf("committed windows of b = %+v %v", got, err)
	}
	if st, ok, err := r.store.StreamTime("app-changelog", 0); err != nil || !ok || st != 30 {
		t.Fatalf("committed stream time %d %v %v", st, ok, err)
	}
	if m := r.ws.Metrics(); m.ExpiredWindows != 1 {
		t.Fatalf("metrics = %+v", m)
	}
	// Everything expires eventually: the window table and the indexes end up empty.
	r.observe(1000)
	r.commit(5)
	n := 0
	must(t, r.store.Scan("app-changelog", 0, "t", nil, func(k, v []byte) bool { n++; return true }))
	must(t, r.store.Scan("app-changelog", 0, WindowsTable, nil, func(k, v []byte) bool {
		if !bytes.Equal(k, []byte(streamTimeKey)) {
			n++
		}
		return true
	}))
	if n != 0 {
		t.Fatalf("%d keys left after everything expired", n)
	}
}

func TestSessionWindows(t *testing.T) {
	r := newWindowRig(t, map[string]WindowSpec{"s": {Kind: Session, Gap: 10 * ms, Grace: 50 * ms, Expires: time.Hour, Merge: mergeSum}})
	sessions := func(key string) []Window {
		t.Helper()
		wvs, err := r.tabs["s"].Range([]byte(key), -1e9, 1e9)
		must(t, err)
		var out []Window
		for _, wv := range wvs {
			out = append(out, wv.Window)
		}
		return out
	}
	r.record("s", "k", 0, 1)
	r.record("s", "k", 9, 1) // 9 - 0 < gap: same session [0, 19)
	r.record("s", "k", 30, 1)
	if got := sessions("k"); !slices.Equal(got, []Window{{0, 19}, {30, 40}}) {
		t.Fatalf("sessions = %v", got)
	}
	r.record("s", "k", 20, 1) // 20 - 9 ≥ gap, but 30 - 20 = gap: its own, touching neither? [20,30) overlaps [0,19)? no; [30,40)? no
	if got := sessions("k"); !slices.Equal(got, []Window{{0, 19}, {20, 30}, {30, 40}}) {
		t.Fatalf("sessions = %v", got)
	}
	r.record("s", "k", 25, 4) // bridges [20,30) and [30,40), and reaches back to [0,19)? 25 ≥ 19: no
	if got := sessions("k"); !slices.Equal(got, []Window{{0, 19}, {20, 40}}) {
		t.Fatalf("sessions after a bridge = %v", got)
	}
	if n, _ := r.value("s", "k", 20); n != 6 {
		t.Fatalf("merged aggregate = %d, want 1+1+4", n)
	}
	r.record("s", "k", 15, 1) // [15,25) overlaps both: one session [0,40)
	if got := sessions("k"); !slices.Equal(got, []Window{{0, 40}}) {
		t.Fatalf("sessions after the second bridge = %v", got)
	}
	if n, _ := r.value("s", "k", 0); n != 9 {
		t.Fatalf("merged aggregate = %d, want 9", n)
	}
	if m := r.ws.Metrics(); m.SessionMerges != 2 {
		t.Fatalf("merges = %d", m.SessionMerges)
	}
	// Close at 40 + 50; a record touching the closed session starts a new one.
	cw := r.observe(90)
	if got := closedInts(t, cw); !slices.Equal(got, []closedInt{{"s", "k", 0, 40, 9}}) {
		t.Fatalf("closed = %+v", got)
	}
	res := r.update("s", "k", 39, 1)
	if len(res.Updated) != 1 || res.Updated[0].Window != (Window{39, 49}) {
		t.Fatalf("record next to a closed session: %+v", res)
	}
	if res := r.update("s", "k", 30, 1); res.Late != 1 { // [30,40) closed at 90
		t.Fatalf("late session record: %+v", res)
	}
	// The session's move through merges left exactly one close-index entry per open session.
	r.commit(1)
	r.restart()
	if cw := r.observe(98); len(cw) != 0 {
		t.Fatalf("closed early after restart = %+v", closedInts(t, cw))
	}
	if cw := r.observe(99); len(cw) != 1 || cw[0].Start != 39 {
		t.Fatalf("closes after restart = %+v", closedInts(t, cw))
	}
	if cw := r.observe(1000); len(cw) != 0 {
		t.Fatalf("stale close-index entries: %+v", closedInts(t, cw))
	}
	// A failing merge writes nothing.
	r.record("s", "m", 2000, 1)
	r.record("s", "m", 2018, 1)
	bad := func(a, b []byte) ([]byte, error) { return nil, bytes.ErrTooLarge }
	r.tabs["s"].spec.Merge = bad
	if _, err := r.tabs["s"].Update([]byte("m"), 2009, add(1)); err == nil {
		t.Fatal("a failing merge was not reported")
	}
	if got := sessions("m"); len(got) != 2 {
		t.Fatalf("a failed merge changed the sessions: %v", got)
	}
}

func TestWindowsWallClock(t *testing.T) {
	r := newWindowRig(t, map[string]WindowSpec{"t": {Kind: Tumbling, Size: time.Second}})
	now := time.Unix(1000, 0)
	if _, err := r.ws.AdvanceWallClock(now, 0); err == nil {
		t.Fatal("zero idle time accepted")
	}
	if cw, _ := r.ws.AdvanceWallClock(now, time.Second); cw != nil {
		t.Fatal("no stream time yet, nothing to close")
	}
	r.record("t", "a", 500, 1)
	tick := func(d time.Duration) []ClosedWindow {
		cw, err := r.ws.AdvanceWallClock(now.Add(d), 2*time.Second)
		must(t, err)
		return cw
	}
	tick(0) // activity since the last tick: idleness starts now
	if cw := tick(1500 * time.Millisecond); cw != nil {
		t.Fatal("advanced before the idle time")
	}
	if st, _ := r.ws.StreamTime(); st != 500 {
		t.Fatalf("stream time = %d", st)
	}
	cw := tick(2 * time.Second) // idle 2 s: stream time 500 + 2000 closes [0,1000)
	if len(cw) != 1 || cw[0].Start != 0 {
		t.Fatalf("closed by wall clock = %+v", closedInts(t, cw))
	}
	if st, _ := r.ws.StreamTime(); st != 2500 {
		t.Fatalf("stream time = %d, want 2500", st)
	}
	if r.ws.Metrics().WallClockAdvances != 1 {
		t.Fatal("wall clock advance not counted")
	}
	// A record resets idleness.
	r.observe(2600)
	if cw := tick(10 * time.Second); cw != nil {
		t.Fatal("advanced right after activity")
	}
}

func TestWindowsBadInput(t *testing.T) {
	r := newWindowRig(t, nil)
	if _, err := r.ws.Table(WindowsTable, WindowSpec{Kind: Tumbling, Size: ms}); err == nil {
		t.Error("the reserved table was accepted")
	}
	if _, err := r.ws.Table("bad name", WindowSpec{Kind: Tumbling, Size: ms}); err == nil {
		t.Error("a bad table name was accepted")
	}
	if _, err := r.ws.Table("x", WindowSpec{Kind: Tumbling}); err == nil {
		t.Error("a bad spec was accepted")
	}
	w, err := r.ws.Table("x", WindowSpec{Kind: Tumbling, Size: ms})
	must(t, err)
	if _, err := r.ws.Table("x", WindowSpec{Kind: Tumbling, Size: 2 * ms}); err == nil {
		t.Error("reopening with another spec was accepted")
	}
	if _, err := r.ws.Observe(-MaxEventTime - 1); err == nil {
		t.Error("an out-of-range event time was accepted")
	}
	r.observe(0)
	if _, err := w.Update([]byte("k"), 0, nil); err == nil {
		t.Error("a nil update function was accepted")
	}
	failing := func([]byte, bool) ([]byte, error) { return nil, bytes.ErrTooLarge }
	if _, err := w.Update([]byte("k"), 0, failing); err == nil {
		t.Error("a failing update function was not reported")
	}
	if _, ok, _ := w.Get([]byte("k"), 0); ok {
		t.Error("a failed update wrote")
	}
	if _, err := OpenWindows(nil); err == nil {
		t.Error("no task accepted")
	}
}
