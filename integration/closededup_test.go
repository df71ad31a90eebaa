//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/integration/harness"
	"github.com/weirhq/weir/libs/agents"
	"github.com/weirhq/weir/libs/topics"
)

// TestCloseDedupAfterProducerCrash: a windowed app's window closes, replayed after its
// worker crashed between flushing them and committing, are counted once by an agent of
// another app that consumes the close topic, also after that consumer's own worker was
// killed and its task restored on a fresh worker from the changelog alone.
//
// The two apps run in two clusters (two etcd prefixes, one controller and worker each) over
// one broker, so the crash of the producer's worker does not touch the consumer: the
// consumer reads and commits the original closes before the producer replays them.
//
//  1. The producer's worker (failpoint commit.before-append=kill@1) processes the whole
//     input in its first commit: 5 keys × 10 one-minute windows closed by a later record;
//     it flushes the 50 closes and kills itself before appending the commit.
//  2. The consumer counts the closes per key (10 each) and commits; its worker is killed
//     (-9) and replaced by one with an empty data dir.
//  3. The producer's worker restarts and, with nothing committed, closes the 50 windows
//     again (same identities): the close topic holds each close twice.
//  4. A sentinel record after them shows the consumer has read everything: each key's
//     count of closes is still exactly 10.
func TestCloseDedupAfterProducerCrash(t *testing.T) {
	ctx := harness.Context(t, 4*time.Minute)
	sc := newScratch(t)
	prefix := sc.prefix
	input, closes, counts := prefix+"input", prefix+"closes", prefix+"close_counts"
	producerApp, consumerApp := sc.app(t, "cdp"), sc.app(t, "cdc")
	producerSrc := fmt.Sprintf(`
app %q {
  partitions = 1
}

model "Event" {
  field "at" {
    type     = timestamp
    required = true
  }
}

topic "input" {
  name      = %q
  key       = string
  value     = model.Event
  timestamp = value.at
}

topic "closes" {
  name  = %q
  key   = string
  value = json
}

table "per_minute" {
  value   = number
  default = 0

  window "tumbling" {
    size    = "1m"
    grace   = "1s"
    expires = "1h"
  }

  on_close = topic.closes
}

agent "count" {
  from = topic.input
  aggregate "count" {
    into = table.per_minute
  }
}
`, producerApp, input, closes)
	consumerSrc := countingConsumerSrc(consumerApp, closes, counts)
	apply := func(addr, src string) { applySource(t, ctx, addr, src) }
	bin := workerBinary(t)
	logs := t.TempDir()

	// The consuming cluster first: it creates the close topic and waits on it.
	consumerEnv := newCtlEnv(t)
	apply(consumerEnv.start(t, "c1").Addr, consumerSrc)
	w2 := startWorkerProc(t, bin, consumerEnv, "w2", t.TempDir(), filepath.Join(logs, "w2.log"))
	consumerEnv.waitAssigned(t, ctx, consumerApp, 1)

	// The producing cluster; its input is in the topic before its worker starts.
	producerEnv := newCtlEnv(t)
	apply(producerEnv.start(t, "c1").Addr, producerSrc)
	keys := []string{"k0", "k1", "k2", "k3", "k4"}
	const windows = 10
	base := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	event := func(key string, at time.Time) topics.Record {
		return topics.Record{Topic: input, Partition: 0, PinPartition: true, Key: []byte(key),
			Value: fmt.Appendf(nil, `{"at": %q}`, at.Format(time.RFC3339))}
	}
	var recs []topics.Record
	for w := range windows {
		for _, k := range keys {
			recs = append(recs, event(k, base.Add(time.Duration(w)*time.Minute+20*time.Second)))
		}
	}
	// Stream time 10:30 closes the ten windows of every key (end + grace ≤ 10:30).
	recs = append(recs, event("zz", base.Add(30*time.Minute)))
	p := newProducer(t)
	send(t, ctx, p, recs...)

	w1Dir := t.TempDir()
	w1 := startWorkerProcEnv(t, bin, producerEnv, "w1", w1Dir, filepath.Join(logs, "w1-crash.log"),
		[]string{"WEIR_FAILPOINTS=commit.before-append=kill@1"})
	select {
	case <-w1.Done():
	case <-time.After(90 * time.Second):
		t.Fatalf("the producer's worker did not reach its failpoint within 90s; log %s", w1.LogPath)
	}
	if fired := w1.firedPoints(); !slices.Contains(fired, "commit.before-append") {
		t.Fatalf("the producer's worker exited without firing its failpoint (fired %v); log %s", fired, w1.LogPath)
	}

	// Every original close is in the topic (flushed before the crash) and counted.
	var identities map[string]int
	closesRead := 0
	readCloses := func(want int) { identities, closesRead = readIdentities(t, ctx, closes, want) }
	readCloses(len(keys) * windows)
	t.Logf("the crashed producer flushed %d closes", closesRead)
	var latest map[string][]int // per key, every count the consumer emitted
	countsUntil := func(done func(map[string][]int) bool) { latest = readCounts(t, ctx, counts, done) }
	allAt := func(want int) func(map[string][]int) bool {
		return func(latest map[string][]int) bool {
			for _, k := range keys {
				if c := latest[k]; len(c) == 0 || c[len(c)-1] < want {
					return false
				}
			}
			return true
		}
	}
	countsUntil(allAt(windows))

	// The consumer has committed what it counted (every 100 ms); kill its worker and move
	// its task to a worker with an empty data dir.
	time.Sleep(time.Second)
	w2.kill()
	startWorkerProc(t, bin, consumerEnv, "w3", t.TempDir(), filepath.Join(logs, "w3.log"))

	// The producer restarts with nothing committed and closes every window again.
	startWorkerProc(t, bin, producerEnv, "w1", w1Dir, filepath.Join(logs, "w1-restart.log"))
	readCloses(2 * len(keys) * windows)
	replayed := 0
	for _, c := range identities {
		if c > 1 {
			replayed++
		}
	}
	if replayed == 0 {
		t.Fatalf("no close was replayed: %v", identities)
	}
	t.Logf("%d closes in the topic, %d of them replayed", closesRead, replayed)

	// A sentinel after the replays: once it is counted, the consumer has read them all.
	send(t, ctx, p, topics.Record{Topic: closes, Partition: 0, PinPartition: true, Key: []byte("sentinel"), Value: []byte("1")})
	countsUntil(func(latest map[string][]int) bool { return len(latest["sentinel"]) > 0 })
	for _, k := range keys {
		c := latest[k]
		if last, top := c[len(c)-1], slices.Max(c); last != windows || top != windows {
			t.Errorf("key %s: the consumer counted %d closes (at most %d), want %d; emitted counts %v", k, last, top, windows, c)
		}
	}
	if c := latest["zz"]; len(c) > 0 && slices.Max(c) > 1 {
		t.Errorf("key zz: its one window was counted %v", c)
	}
	if t.Failed() {
		t.Logf("logs in %s: %s", logs, strings.Join([]string{"w1-crash.log", "w1-restart.log", "w2.log", "w3.log"}, ", "))
	}
}

// TestTimerDedupAfterProducerCrash: the firings of a one_worker timer, replayed after its
// worker crashed between flushing them and committing, are counted once by an agent of
// another app (another cluster) that consumes them.
//
//  1. The producer's worker runs the timer (every second) for a few seconds and commits
//     its firings; it is killed (-9) and stays down for a few seconds (missed times).
//  2. It restarts with failpoint commit.before-append=kill@1 and a 3 s commit interval:
//     it fires the missed times at once (catch-up) and the next ones, processes an input
//     record, and at its first commit flushes all of it and kills itself before the append.
//  3. It restarts again and, resuming after its last committed firing, fires those
//     times again (same identities); it is killed after a few more seconds.
//  4. A sentinel record after everything shows the consumer has read it all: the consumer
//     counted each distinct firing once, though the topic holds some twice.
func TestTimerDedupAfterProducerCrash(t *testing.T) {
	ctx := harness.Context(t, 4*time.Minute)
	sc := newScratch(t)
	prefix := sc.prefix
	input, sink, ticks, counts := prefix+"input", prefix+"sink", prefix+"ticks", prefix+"tick_counts"
	producerApp, consumerApp := sc.app(t, "tdp"), sc.app(t, "tdc")
	producerSrc := fmt.Sprintf(`
app %q {
  partitions = 1
}

topic "input" {
  name = %q
}

topic "sink" {
  name = %q
}

topic "ticks" {
  name  = %q
  key   = string
  value = json
}

agent "copy" {
  from = topic.input
  emit {
    to = topic.sink
  }
}

timer "tick" {
  every = "1s"
  emit {
    to    = topic.ticks
    key   = "tick"
    value = { at = timestamp }
  }
}
`, producerApp, input, sink, ticks)
	bin := workerBinary(t)
	logs := t.TempDir()

	consumerEnv := newCtlEnv(t)
	applySource(t, ctx, consumerEnv.start(t, "c1").Addr, countingConsumerSrc(consumerApp, ticks, counts))
	startWorkerProc(t, bin, consumerEnv, "w2", t.TempDir(), filepath.Join(logs, "w2.log"))
	consumerEnv.waitAssigned(t, ctx, consumerApp, 1)

	producerEnv := newCtlEnv(t)
	applySource(t, ctx, producerEnv.start(t, "c1").Addr, producerSrc)
	dir := t.TempDir()
	w1 := startWorkerProc(t, bin, producerEnv, "w1", dir, filepath.Join(logs, "w1-first.log"))
	producerEnv.waitAssigned(t, ctx, producerApp, 1)
	time.Sleep(4 * time.Second)
	w1.kill()
	readIdentities(t, ctx, ticks, 1) // the first run fired

	p := newProducer(t)
	send(t, ctx, p, topics.Record{Topic: input, Partition: 0, PinPartition: true, Value: []byte(`"x"`)})
	time.Sleep(3 * time.Second)
	w1 = startWorkerProcEnv(t, bin, producerEnv, "w1", dir, filepath.Join(logs, "w1-crash.log"),
		[]string{"WEIR_FAILPOINTS=commit.before-append=kill@1"}, "--commit-interval", "3s")
	select {
	case <-w1.Done():
	case <-time.After(90 * time.Second):
		t.Fatalf("the producer's worker did not reach its failpoint within 90s; log %s", w1.LogPath)
	}
	if fired := w1.firedPoints(); !slices.Contains(fired, "commit.before-append") {
		t.Fatalf("the producer's worker exited without firing its failpoint (fired %v); log %s", fired, w1.LogPath)
	}

	// Restarted, it takes its task back once the old lease expired, and fires again the
	// times the crashed run flushed: wait for the first repeated identity.
	w1 = startWorkerProc(t, bin, producerEnv, "w1", dir, filepath.Join(logs, "w1-restart.log"))
	rctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	seen := map[string]bool{}
	readUntil(t, rctx, ticks, 1, func(r topics.Record) bool {
		for _, h := range r.Headers {
			if h.Key == agents.HeaderIdentity {
				if seen[string(h.Value)] {
					return true
				}
				seen[string(h.Value)] = true
			}
		}
		return false
	})
	cancel()
	time.Sleep(2 * time.Second)
	w1.kill()

	send(t, ctx, p, topics.Record{Topic: ticks, Partition: 0, PinPartition: true, Key: []byte("sentinel"), Value: []byte("1")})
	ids, total := map[string]int{}, 0
	readUntil(t, ctx, ticks, 1, func(r topics.Record) bool {
		if string(r.Key) == "sentinel" {
			return true
		}
		for _, h := range r.Headers {
			if h.Key == agents.HeaderIdentity {
				ids[string(h.Value)]++
				total++
			}
		}
		return false
	})
	if total == len(ids) {
		t.Fatalf("no firing was replayed: %d firings, all distinct", total)
	}
	t.Logf("%d firings in the topic, %d distinct", total, len(ids))
	latest := readCounts(t, ctx, counts, func(latest map[string][]int) bool { return len(latest["sentinel"]) > 0 })
	c := latest["tick"]
	if len(c) == 0 {
		t.Fatal("the consumer counted no firing")
	}
	if last, top := c[len(c)-1], slices.Max(c); last != len(ids) || top != len(ids) {
		t.Errorf("the consumer counted %d firings (at most %d), want the %d distinct ones; logs in %s", last, top, len(ids), logs)
	}
}

// countingConsumerSrc is an app that counts the records of topic in per key into a table
// and emits each new count to topic out.
func countingConsumerSrc(app, in, out string) string {
	return fmt.Sprintf(`
app %q {
  partitions = 1
}

topic "in" {
  name  = %q
  key   = string
  value = json
}

topic "counts" {
  name  = %q
  key   = string
  value = json
}

table "seen" {
  value   = number
  default = 0
}

agent "count" {
  from = topic.in
  aggregate "count" {
    into = table.seen
  }
  emit {
    to = topic.counts
  }
}
`, app, in, out)
}

// readIdentities reads topic (one partition) from the start until it has read want records
// with a content identity (weir-identity), and returns how often each identity appeared
// and the number of such records read.
func readIdentities(t *testing.T, ctx context.Context, topic string, want int) (map[string]int, int) {
	t.Helper()
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	ids, n := map[string]int{}, 0
	readUntil(t, rctx, topic, 1, func(r topics.Record) bool {
		for _, h := range r.Headers {
			if h.Key == agents.HeaderIdentity {
				ids[string(h.Value)]++
				n++
			}
		}
		return n >= want
	})
	return ids, n
}

// readCounts reads a counting consumer's output topic (one partition) from the start until
// done, and returns every count it emitted, per key.
func readCounts(t *testing.T, ctx context.Context, topic string, done func(map[string][]int) bool) map[string][]int {
	t.Helper()
	rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	latest := map[string][]int{}
	readUntil(t, rctx, topic, 1, func(r topics.Record) bool {
		var v float64
		if err := json.Unmarshal(r.Value, &v); err != nil {
			t.Fatalf("%s: value %q is not a number", topic, r.Value)
		}
		k := recordKey(r.Key)
		latest[k] = append(latest[k], int(v))
		return done(latest)
	})
	return latest
}
