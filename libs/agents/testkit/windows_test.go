package testkit

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/libs/agents"
	"github.com/weirhq/weir/libs/tables"
)

func addOne(old []byte, ok bool) ([]byte, error) {
	n := 0
	if ok {
		fmt.Sscan(string(old), &n)
	}
	return fmt.Appendf(nil, "%d", n+1), nil
}

func mergeAdd(a, b []byte) ([]byte, error) {
	var x, y int
	fmt.Sscan(string(a), &x)
	fmt.Sscan(string(b), &y)
	return fmt.Appendf(nil, "%d", x+y), nil
}

func closes(cs []agents.ClosedWindow) string {
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprintf("%s/%s/%d-%d=%s", c.Table, c.Key, c.Start, c.End, c.Value))
	}
	return strings.Join(out, " ")
}

// The in-memory windows follow libs/tables: grace, late drops, close order, expiry,
// sessions that never reopen, and the wall-clock advance of an idle task.
func TestMemWindows(t *testing.T) {
	ws := newMemWindows("cl/0")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(ws.register("fix", tables.WindowSpec{Kind: tables.Tumbling, Size: 10 * time.Millisecond, Grace: 5 * time.Millisecond, Expires: 30 * time.Millisecond}))
	must(ws.register("ses", tables.WindowSpec{Kind: tables.Session, Gap: 10 * time.Millisecond, Merge: mergeAdd}))
	fix, _ := ws.Table("fix")
	ses, _ := ws.Table("ses")
	if _, _, err := fix.Update([]byte("k"), 1, addOne); err == nil {
		t.Error("an update ahead of the stream time succeeded")
	}
	observe := func(ts int64) string {
		t.Helper()
		cs, err := ws.Observe(ts)
		must(err)
		return closes(cs)
	}
	update := func(tb agents.WindowTable, key string, ts int64) (string, bool) {
		t.Helper()
		up, late, err := tb.Update([]byte(key), ts, addOne)
		must(err)
		var s []string
		for _, w := range up {
			s = append(s, fmt.Sprintf("%d-%d=%s", w.Start, w.End, w.Value))
		}
		return strings.Join(s, " "), late
	}
	observe(3)
	update(fix, "b", 3)
	update(fix, "a", 3)
	update(ses, "a", 3)
	observe(12)
	update(ses, "a", 12) // 3..13 and 12..22 overlap: one session 3..22
	if got, _ := update(fix, "a", 8); got != "0-10=2" {
		t.Errorf("in grace: %s", got)
	}
	if got := observe(15); got != "fix/a/0-10=2 fix/b/0-10=1" {
		t.Errorf("closes at 15 = %q", got)
	}
	if got, late := update(fix, "a", 9); got != "" || !late {
		t.Errorf("late update = %q, %v", got, late)
	}
	if got := observe(40); got != "ses/a/3-22=2" {
		t.Errorf("closes at 40 = %q", got)
	}
	if _, ok, _ := fix.Get([]byte("a"), 0); ok {
		t.Error("window 0 of fix is not expired at 40 (expires 30)")
	}
	// The closed session is not reopened: a record next to it starts a new one.
	if got, _ := update(ses, "a", 15); got != "" {
		t.Errorf("update into a closed session = %q", got)
	}
	if got, _ := update(ses, "a", 35); got != "35-45=1" {
		t.Errorf("new session = %q", got)
	}
	// Idle: the first tick starts the idle period, a later one advances by the idle time.
	now := time.Unix(1000, 0)
	for _, d := range []time.Duration{0, 5 * time.Millisecond, 30 * time.Millisecond} {
		cs, err := ws.AdvanceWallClock(now.Add(d), 20*time.Millisecond)
		must(err)
		if want := map[time.Duration]string{30 * time.Millisecond: "ses/a/35-45=1"}[d]; closes(cs) != want {
			t.Errorf("tick +%s closed %q; want %q", d, closes(cs), want)
		}
	}
	if ws.lateRecords != 2 || ws.closed != 4 {
		t.Errorf("late %d, closed %d; want 2 and 4", ws.lateRecords, ws.closed)
	}
}
