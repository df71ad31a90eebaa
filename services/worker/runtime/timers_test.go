package runtime

import (
	"log/slog"
	"testing"
	"time"

	"github.com/weirhq/weir/libs/agents/pipeline"
	"github.com/weirhq/weir/libs/config/app"
)

func timerPlan(t *testing.T, src string) *pipeline.Plan {
	t.Helper()
	a, diags := app.Parse(map[string][]byte{"app.hcl": []byte(src)}, app.Options{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	p, err := pipeline.Compile(a, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const timerApp = `
app "tm" {}
topic "in" {}
topic "ticks" {}
agent "copy" {
  from = topic.in
  emit { to = topic.ticks }
}
timer "tick" {
  every = "10s"
  emit {
    to    = topic.ticks
    value = { at = timestamp }
  }
}
`

func TestCatchUpFiresMissedTimesOrSkipsTooMany(t *testing.T) {
	tm := timerPlan(t, timerApp).Timers()[0]
	log := slog.New(slog.DiscardHandler)
	last := time.Unix(1_000_000, 0).UTC() // a multiple of 10s
	// Three scheduled times missed: resume with the first after the last fired.
	if got, want := catchUp(tm, last, last.Add(35*time.Second), log), last.Add(10*time.Second); !got.Equal(want) {
		t.Errorf("after 3 missed times: next %s, want %s", got, want)
	}
	// Nothing missed: the next one.
	if got, want := catchUp(tm, last, last.Add(5*time.Second), log), last.Add(10*time.Second); !got.Equal(want) {
		t.Errorf("nothing missed: next %s, want %s", got, want)
	}
	// More than maxCatchUp missed: skip to the first after now.
	now := last.Add(time.Duration(maxCatchUp+5)*10*time.Second + 3*time.Second)
	if got, want := catchUp(tm, last, now, log), tm.Next(now); !got.Equal(want) {
		t.Errorf("too many missed: next %s, want %s", got, want)
	}
}

func TestOneWorkerTimersRunInPartitionZeroOfFirstGroup(t *testing.T) {
	p := timerPlan(t, timerApp)
	groups := p.App().TaskGroups()
	if len(groups) == 0 {
		t.Fatal("no task group")
	}
	if !ownsOneWorkerTimers(p, groups[0].Name, 0) {
		t.Error("partition 0 of the first group does not own the timers")
	}
	if ownsOneWorkerTimers(p, groups[0].Name, 1) {
		t.Error("partition 1 owns the timers too")
	}
}
