//go:build integration

package integration

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	weirv1 "github.com/weirhq/weir/gen/weir/v1"
	"github.com/weirhq/weir/gen/weir/v1/weirv1connect"
	"github.com/weirhq/weir/integration/harness"
	"github.com/weirhq/weir/libs/service/servicetest"
	"github.com/weirhq/weir/libs/topics"
)

// TestWorkerStallWatchdog runs an agent that waits an hour before retrying a record it
// fails on, on a worker process with --stall-timeout 2s: the watchdog reports the task
// stalled (WorkerService stats and /metrics) and restarts it from its last commit: the
// record committed before the bad one is not processed again.
func TestWorkerStallWatchdog(t *testing.T) {
	ctx := harness.Context(t, 2*time.Minute)
	sc := newScratch(t)
	appName, prefix := sc.app(t, "stall"), sc.prefix
	src := fmt.Sprintf(`
app %q {}

topic "in" {
  name  = %q
  value = string
}

topic "out" {
  name  = %q
  value = json
}

agent "parse" {
  from = topic.in
  map {
    value = { n = tonumber(value) }
  }
  emit {
    to = topic.out
  }
  on_error {
    retries     = 3
    backoff     = "1h"
    max_backoff = "1h"
    then        = "skip"
  }
}
`, appName, prefix+"in", prefix+"out")
	env := newCtlEnv(t)
	ctl := env.start(t, "c1")
	applySource(t, ctx, ctl.Addr, src)
	w := startWorkerProc(t, workerBinary(t), env, "w1", t.TempDir(), filepath.Join(t.TempDir(), "w1.log"), "--stall-timeout", "2s")
	env.waitAssigned(t, ctx, appName, 1)
	p := newProducer(t)
	send(t, ctx, p, topics.Record{Topic: prefix + "in", Value: []byte("1")})
	readUntil(t, ctx, prefix+"out", 1, func(topics.Record) bool { return true })
	time.Sleep(time.Second) // "1" is committed (every 100 ms)
	send(t, ctx, p, topics.Record{Topic: prefix + "in", Value: []byte("not a number")})

	stats := weirv1connect.NewWorkerServiceClient(servicetest.HTTP1Client(t), "http://"+w.Addr, connect.WithProtoJSON())
	var reason string
	var stalls, failures float64
	deadline := time.Now().Add(60 * time.Second)
	for reason == "" || stalls < 2 || failures < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("stall not reported: status %q, weir_task_stalls_total %v, weir_task_failures_total %v (log %s)", reason, stalls, failures, w.LogPath)
		}
		time.Sleep(500 * time.Millisecond)
		res, err := stats.GetStats(ctx, connect.NewRequest(&weirv1.GetStatsRequest{}))
		if err != nil {
			t.Fatal(err)
		}
		for _, ts := range res.Msg.Tasks {
			if ts.App == appName && ts.Stalled != "" {
				reason = ts.Stalled
			}
		}
		stalls, failures = 0, 0
		for series, v := range scrapeMetrics(t, w.Addr) {
			switch {
			case strings.HasPrefix(series, `weir_task_stalls_total{app="`+appName+`"`):
				stalls += v
			case strings.HasPrefix(series, `weir_task_failures_total{app="`+appName+`"`):
				failures += v
			}
		}
	}
	t.Logf("stalled: %q; %v stalls, %v restarts", reason, stalls, failures)
	if !strings.Contains(reason, "no progress for 2s") {
		t.Errorf("stall reason %q, want it to say no progress for 2s", reason)
	}
	// Each restart resumes after the committed "1": it is emitted once.
	c := startConsumer(t, topics.ConsumerConfig{})
	c.Assign(topics.TopicPartition{Topic: prefix + "out", Partition: 0}, topics.FirstOffset)
	var outs []string
	for {
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		b, err := c.Poll(pctx)
		cancel()
		if err != nil {
			break // nothing more within 3 s
		}
		for _, r := range b.Records {
			outs = append(outs, string(r.Value))
		}
	}
	if len(outs) != 1 || outs[0] != `{"n":1}` {
		t.Errorf("out: %q, want one {\"n\":1}", outs)
	}
}
