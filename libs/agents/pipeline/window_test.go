package pipeline_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/libs/agents"
	"github.com/weirhq/weir/libs/agents/pipeline"
	"github.com/weirhq/weir/libs/agents/testkit"
)

const windowApp = `
app "w" {
  partitions = 1
}

topic "in" {
  timestamp = value.at
}

topic "closes" {}

topic "updates" {}

table "tumble" {
  value   = number
  default = 0
  window "tumbling" {
    size  = "1m"
    grace = "10s"
  }
  on_close = topic.closes
}

table "hop" {
  value   = number
  default = 0
  window "hopping" {
    size = "10m"
    step = "5m"
  }
}

table "sess_sum" {
  value = number
  window "session" {
    gap   = "5m"
    grace = "30m"
  }
  on_close = topic.closes
}

table "sess_avg" {
  value = number
  window "session" {
    gap   = "5m"
    grace = "30m"
  }
}

table "sess_set" {
  window "session" {
    gap   = "5m"
    grace = "30m"
  }
}

agent "tumble" {
  from = topic.in
  aggregate "count" {
    into = table.tumble
  }
}

agent "hop" {
  from = topic.in
  aggregate "sum" {
    into  = table.hop
    value = value.n
  }
  emit {
    to = topic.updates
  }
}

agent "sessions" {
  from = topic.in
  aggregate "sum" {
    into  = table.sess_sum
    value = value.n
  }
}

agent "sessions_avg" {
  from = topic.in
  aggregate "avg" {
    into  = table.sess_avg
    value = value.n
  }
}

agent "sessions_set" {
  from = topic.in
  aggregate "collect_set" {
    into  = table.sess_set
    value = value.tag
  }
}
`

func at(hhmm string) time.Time {
	t, err := time.Parse(time.RFC3339, "2026-01-01T"+hhmm+":00Z")
	if err != nil {
		panic(err)
	}
	return t
}

func send(t *testing.T, d *testkit.Driver, hhmm string, n float64, tag string) {
	t.Helper()
	v := map[string]any{"at": at(hhmm).Format(time.RFC3339), "n": n, "tag": tag}
	if err := d.Send(context.Background(), testkit.Input{Topic: "in", Key: "k", Value: v}); err != nil {
		t.Fatal(err)
	}
}

func header(r testkit.Record, name string) string {
	for _, h := range r.Headers {
		if h.Key == name {
			return string(h.Value)
		}
	}
	return ""
}

func TestWindows(t *testing.T) {
	d, err := testkit.New(parse(t, windowApp))
	if err != nil {
		t.Fatal(err)
	}
	send(t, d, "10:00", 1, "a")
	send(t, d, "10:03", 2, "b")  // closes tumble 10:00
	send(t, d, "10:20", 4, "a")  // closes tumble 10:03; a new session
	send(t, d, "10:09", 8, "c")  // late for tumble and hop; its own session
	send(t, d, "10:06", 16, "a") // late for tumble and hop; bridges sessions 10:00 and 10:09

	// Sessions merged: [10:00, 10:14) holds 1, 2, 8, 16.
	for _, c := range []struct {
		table string
		want  string
	}{
		{"sess_sum", "10:00-10:14=27 10:20-10:25=4"},
		{"sess_avg", "10:00-10:14=6.75 10:20-10:25=4"},
		{"sess_set", "10:00-10:14=[a b c] 10:20-10:25=[a]"},
	} {
		wins, err := d.WindowRange(c.table, "k", at("00:00"), at("23:00"))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, w := range wins {
			got = append(got, fmt.Sprintf("%s-%s=%v", w.Start.Format("15:04"), w.End.Format("15:04"), w.Value))
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("%s windows = %v; want %s", c.table, got, c.want)
		}
	}
	if n := d.LateRecords(); n != 4 {
		t.Errorf("late records = %d; want 4 (two records, each late for tumble and hop)", n)
	}

	send(t, d, "11:00", 32, "d") // closes tumble 10:20 and both sessions
	outs, err := d.Outputs()
	if err != nil {
		t.Fatal(err)
	}
	var closes, updates []string
	for _, o := range outs {
		s := fmt.Sprintf("%v@%s", o.Value, o.Timestamp[11:16])
		if o.Topic == "closes" {
			closes = append(closes, s)
		} else {
			updates = append(updates, s)
		}
	}
	// Closes: ordered by close time; value the final aggregate, timestamp the window start.
	if w := "1@10:00 1@10:03 1@10:20 27@10:00 4@10:20"; strings.Join(closes, " ") != w {
		t.Errorf("closes = %v; want %s", closes, w)
	}
	// Hopping: the emit after the aggregate runs once per updated window, with its value;
	// timestamp the record's event time.
	if w := "1@10:00 1@10:00 3@10:03 3@10:03 4@10:20 4@10:20 32@11:00 32@11:00"; strings.Join(updates, " ") != w {
		t.Errorf("updates = %v; want %s", updates, w)
	}

	recs := d.Records()
	first := recs[0] // the close of tumble's 10:00 window
	if got := header(first, agents.HeaderIdentity); !strings.HasPrefix(got, "wclose/weir.w.hop.changelog/0/tumble/") {
		t.Errorf("close identity = %q", got)
	}
	if header(first, agents.HeaderTask) != "w/hop/0" || header(first, agents.HeaderSeq) != "0" || header(first, agents.HeaderOffset) != "" {
		t.Errorf("close headers = %v", first.Headers)
	}
	if s, e := header(first, agents.HeaderWindowStart), header(first, agents.HeaderWindowEnd); s != fmt.Sprint(at("10:00").UnixMilli()) || e != fmt.Sprint(at("10:01").UnixMilli()) {
		t.Errorf("close window headers = %s, %s", s, e)
	}
	i := slices.IndexFunc(recs, func(r testkit.Record) bool { return r.Topic == "updates" })
	if s := header(recs[i], agents.HeaderWindowStart); s != fmt.Sprint(at("09:55").UnixMilli()) {
		t.Errorf("first update's window start = %s; want 09:55", s)
	}
	if header(recs[i], agents.HeaderOffset) != "0" || header(recs[i+1], agents.HeaderSeq) != "1" {
		t.Errorf("update dedup headers = %v / %v", recs[i].Headers, recs[i+1].Headers)
	}
}

const windowRetryApp = `
app "r" {
  partitions = 1
}

topic "in" {}

topic "out" {}

topic "dead" {
  value = bytes
}

table "counts" {
  value   = number
  default = 0
  window "tumbling" {
    size = "1h"
  }
}

agent "count" {
  from = topic.in
  aggregate "count" {
    into = table.counts
  }
  emit {
    to    = topic.out
    value = tonumber("x${value}")
  }
  on_error {
    retries     = 2
    backoff     = "10ms"
    then        = "dead_letter"
    dead_letter = topic.dead
  }
}
`

// A failure after a windowed aggregate retries only the steps after it: the window is
// updated once.
func TestWindowUpdateAppliedOnceAcrossRetries(t *testing.T) {
	d, err := testkit.New(parse(t, windowRetryApp))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Send(context.Background(), testkit.Input{Topic: "in", Key: "k", Value: 1, Timestamp: "2026-01-01T10:00:00Z"}); err != nil {
		t.Fatal(err)
	}
	wins, err := d.WindowRange("counts", "k", at("00:00"), at("23:00"))
	if err != nil || len(wins) != 1 || wins[0].Value != 1.0 {
		t.Fatalf("windows = %v, %v; want one window counting 1", wins, err)
	}
	if got := fmt.Sprint(d.Retries()); got != "[10ms 20ms]" {
		t.Errorf("retries = %s", got)
	}
	outs, _ := d.Outputs()
	if len(outs) != 1 || outs[0].Topic != "dead" {
		t.Errorf("outputs = %v; want one dead letter", outs)
	}
}

const windowLookupApp = `
app "l" {
  partitions = 2
}

topic "in" {}

topic "out" {}

table "spend" {
  value   = number
  default = 0
  window "hopping" {
    size = "1h"
    step = "30m"
  }
}

agent "check" {
  from = topic.in
  lookup "spent" {
    table = table.spend
  }
  emit {
    to    = topic.out
    value = { before = lookup.spent }
  }
}

agent "spend" {
  from = topic.in
  aggregate "sum" {
    into  = table.spend
    value = value
  }
}
`

// A lookup of a windowed table reads the earliest window containing the record's event
// time (for hopping windows, the one covering the most history).
func TestWindowLookup(t *testing.T) {
	d, err := testkit.New(parse(t, windowLookupApp))
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []struct {
		at string
		n  float64
	}{{"10:00", 5}, {"10:40", 7}, {"11:10", 1}, {"11:50", 2}} {
		if err := d.Send(context.Background(), testkit.Input{Topic: "in", Key: "k", Value: in.n, Timestamp: at(in.at).Format(time.RFC3339)}); err != nil {
			t.Fatal(err)
		}
	}
	outs, _ := d.Outputs()
	var got []string
	for _, o := range outs {
		got = append(got, fmt.Sprint(o.Value.(map[string]any)["before"]))
	}
	// 10:40: window 10:00 holds 5; 11:10: window 10:30 holds 7; 11:50: window 11:00 holds 1.
	if w := "<nil> 5 7 1"; strings.Join(got, " ") != w {
		t.Errorf("lookups = %v; want %s", got, w)
	}
}

func TestWindowedTableTakesOneFunction(t *testing.T) {
	src := `
app "f" {}

topic "in" {}

table "t" {
  value = number
  window "tumbling" {
    size = "1m"
  }
}

agent "a" {
  from = topic.in
  aggregate "count" {
    into = table.t
  }
  aggregate "sum" {
    into  = table.t
    value = 1
  }
}
`
	if _, err := pipeline.Compile(parse(t, src), nil); err == nil || !strings.Contains(err.Error(), "one aggregate function") {
		t.Errorf("err = %v; want a windowed table folded by two functions refused", err)
	}
}

func TestTaskNeedsWindows(t *testing.T) {
	p, err := pipeline.Compile(parse(t, windowRetryApp), nil)
	if err != nil {
		t.Fatal(err)
	}
	em := agents.EmitterFunc(func(agents.Message) error { return nil })
	if _, err := p.NewTask(pipeline.TaskConfig{Group: "count", Emitter: em}); err == nil {
		t.Error("a task with windowed tables started without windows")
	}
	wts := p.WindowedTables("count")
	if len(wts) != 1 || wts[0].Table.Name != "counts" || wts[0].Function != "count" || wts[0].Merge == nil {
		t.Errorf("windowed tables = %+v", wts)
	}
}

const timerApp = `
app "t" {}

topic "ticks" {}

table "limits" {
  global = true
  source = topic.limits
}

topic "limits" {}

timer "every5" {
  every = "5m"
  lookup "l" {
    table = table.limits
    key   = "max"
  }
  emit {
    to    = topic.ticks
    key   = "every5"
    value = { at = timestamp, max = lookup.l }
  }
}

timer "nightly" {
  cron   = "30 2 * * mon-fri"
  run_on = "every_worker"
  emit {
    to    = topic.ticks
    value = { at = timestamp }
  }
}

timer "h" {
  every   = "1h"
  handler = "report"
}
`

func TestTimers(t *testing.T) {
	h := agents.Handlers{}
	_ = h.Register("report", func(c *agents.Context) error {
		for i := range 2 {
			if err := c.Send("ticks", []byte("h"), fmt.Appendf(nil, `{"n":%d,"at":%q}`, i, c.Timestamp().Format(time.RFC3339))); err != nil {
				return err
			}
		}
		return nil
	})
	a := parse(t, timerApp)
	p, err := pipeline.Compile(a, h)
	if err != nil {
		t.Fatal(err)
	}
	next := map[string]string{}
	for _, tm := range p.Timers() {
		next[tm.Name] = tm.Next(time.Date(2026, 1, 2, 10, 7, 13, 0, time.UTC)).Format(time.RFC3339) // a Friday
	}
	if w := "map[every5:2026-01-02T10:10:00Z h:2026-01-02T11:00:00Z nightly:2026-01-05T02:30:00Z]"; fmt.Sprint(next) != w {
		t.Errorf("next = %v; want %s", next, w)
	}

	d, err := testkit.New(a, testkit.WithHandlers(h))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, in := range []testkit.Input{
		{Topic: "limits", Key: "max", Value: 100},
		{Timer: "every5", At: "2026-01-02T10:10:00Z"},
		{Timer: "nightly", At: "2026-01-05T02:30:00Z"},
		{Timer: "h", At: "2026-01-02T11:00:00Z"},
	} {
		if err := d.Send(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Fire(ctx, "missing", time.Now()); err == nil {
		t.Error("firing an unknown timer succeeded")
	}
	recs := d.Records()
	if len(recs) != 4 {
		t.Fatalf("records = %v", recs)
	}
	var got []string
	for _, r := range recs {
		got = append(got, fmt.Sprintf("%s %s %s|%s|%s|%s", r.Key, r.Value, r.Timestamp.Format(time.RFC3339),
			header(r, agents.HeaderTask), header(r, agents.HeaderIdentity), header(r, agents.HeaderSeq)))
	}
	ms := func(s string) int64 { t, _ := time.Parse(time.RFC3339, s); return t.UnixMilli() }
	want := []string{
		fmt.Sprintf(`every5 {"at":"2026-01-02T10:10:00Z","max":100} 2026-01-02T10:10:00Z|t/timers|timer/t/timers/every5/%d|0`, ms("2026-01-02T10:10:00Z")),
		fmt.Sprintf(` {"at":"2026-01-05T02:30:00Z"} 2026-01-05T02:30:00Z|t/timers@testkit|timer/t/timers@testkit/nightly/%d|0`, ms("2026-01-05T02:30:00Z")),
		fmt.Sprintf(`h {"n":0,"at":"2026-01-02T11:00:00Z"} 2026-01-02T11:00:00Z|t/timers|timer/t/timers/h/%d|0`, ms("2026-01-02T11:00:00Z")),
		fmt.Sprintf(`h {"n":1,"at":"2026-01-02T11:00:00Z"} 2026-01-02T11:00:00Z|t/timers|timer/t/timers/h/%d|1`, ms("2026-01-02T11:00:00Z")),
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("timer records:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

}
