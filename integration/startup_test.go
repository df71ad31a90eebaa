//go:build integration

package integration

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"connectrpc.com/connect"

	weirv1 "github.com/weirhq/weir/gen/weir/v1"
	"github.com/weirhq/weir/integration/harness"
	"github.com/weirhq/weir/libs/topics"
)

// startupBound is how long a freshly applied app on an idle, already running worker may take
// from Apply to its first output record. Measured: under 1.5 s on a loaded 2-core machine
// (bench-agents startup_s 0.4-1.1 s). 10 s leaves room for a slow CI machine yet stays below
// every timer that a startup must not wait for: the workers' Kafka metadata refresh (a random
// moment within 30 s: the cause of startups of 7-30 s before the clients refreshed on a
// miss), the controller's grace (7 s) plus a lease TTL, and a handoff timeout.
const startupBound = 10 * time.Second

// startupApp is a count-by-key app (a table with a changelog, so a task's start lists and
// appends to the changelog the controller just created) from in to out.
func startupApp(app, in, out string) string {
	return fmt.Sprintf(`app %q {
  partitions  = 2
  replication = 1
}

model "View" {
  field "user" {
    type = string
  }
}

topic "in" {
  name  = %q
  value = model.View
}

topic "out" {
  name  = %q
  value = json
}

table "counts" {
  value   = number
  default = 0
}

agent "count" {
  from = topic.in
  aggregate "count" {
    into = table.counts
  }
  emit {
    to = topic.out
  }
}
`, app, in, out)
}

// TestWorkerStartsFreshAppPromptly applies three apps one after another to a controller and
// one running worker process, each with input already waiting and topics the controller
// creates at apply, and asserts each app's first output arrives within startupBound of its
// Apply. The first app warms the worker's long-lived Kafka clients; the later ones are what a
// user applying an app to a running cluster sees (bench-agents measured 7-30 s for them).
func TestWorkerStartsFreshAppPromptly(t *testing.T) {
	ctx := harness.Context(t, 3*time.Minute)
	env := newCtlEnv(t)
	ctl := env.start(t, "c1")
	client := ctlClient(t, ctl.Addr)
	env.startWorkerProcs(t, "w1")
	suffix := make([]byte, 3)
	rand.Read(suffix)

	for i := range 3 {
		app := fmt.Sprintf("startup_%s_%d", hex.EncodeToString(suffix), i)
		in := fmt.Sprintf("startup-in%d", i)
		out := harness.Name(t, fmt.Sprintf("startup-out%d", i))
		t.Cleanup(func() {
			dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := client.Delete(dctx, connect.NewRequest(&weirv1.DeleteRequest{App: app, DeleteTopics: true})); err != nil {
				t.Logf("deleting app %s: %v", app, err)
			}
		})
		// The input exists with records before the apply (the app declares it too); the
		// output and the changelog are created by the controller at apply.
		in = harness.Topic(t, topics.TopicSpec{Name: in, Partitions: 2})
		p := newProducer(t) // new each time: what is measured is the worker's clients
		for u := range 10 {
			user := fmt.Sprintf("u%d", u)
			if err := p.SendAsync(ctx, topics.Record{Topic: in, Key: []byte(user), Value: fmt.Appendf(nil, `{"user":%q}`, user)}, nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Flush(ctx); err != nil {
			t.Fatal(err)
		}

		start := time.Now()
		applySource(t, ctx, ctl.Addr, startupApp(app, in, out))
		rctx, cancel := context.WithDeadline(ctx, start.Add(startupBound))
		t.Logf("app %d (%s) applied; its first output must arrive within %s (the worker's log is in the test's temporary directory)", i, app, startupBound)
		readUntil(t, rctx, out, 2, func(topics.Record) bool { return true })
		cancel()
		took := time.Since(start)
		t.Logf("app %d: first output %.2fs after apply", i, took.Seconds())
	}
}
