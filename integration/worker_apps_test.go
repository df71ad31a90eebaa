//go:build integration

package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	weirv1 "github.com/weirhq/weir/gen/weir/v1"
	"github.com/weirhq/weir/integration/harness"
	"github.com/weirhq/weir/libs/agents"
	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/libs/topics"
)

// fixtureLine is one line of an example's testdata/*.jsonl.
type fixtureLine struct {
	Topic     string          `json:"topic"`
	Key       string          `json:"key"`
	Value     json.RawMessage `json:"value"`
	Timestamp string          `json:"timestamp"`
	Tick      string          `json:"tick"`
}

func readFixture(t *testing.T, example, file string) []fixtureLine {
	t.Helper()
	f, err := os.Open(filepath.Join(harness.Root(), "examples", example, "testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []fixtureLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var l fixtureLine
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("%s: %q: %v", file, line, err)
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// startApp applies src, starts two worker processes and waits until the app's tasks are
// assigned.
func startApp(t *testing.T, ctx context.Context, env *ctlEnv, addr string, ex *example, src *weirv1.AppSource) []*workerProc {
	t.Helper()
	if _, err := ctlClient(t, addr).Apply(ctx, connect.NewRequest(&weirv1.ApplyRequest{Source: src, Author: "test"})); err != nil {
		t.Fatal(err)
	}
	procs := env.startWorkerProcs(t, "w1", "w2")
	as := env.waitAssigned(t, ctx, ex.App, 2)
	t.Logf("%d tasks assigned over 2 worker processes", len(as.Tasks))
	return procs
}

// send produces records one at a time (each flushed before the next), in order.
//
// A record the broker refuses with NOT_LEADER_OR_FOLLOWER (a topic created moments ago whose
// partition the loaded broker has not taken up yet, even after the producer's own retries)
// was not appended, so it is sent again, for up to 30 s.
func send(t *testing.T, ctx context.Context, p *topics.Producer, recs ...topics.Record) {
	t.Helper()
	for _, r := range recs {
		deadline := time.Now().Add(30 * time.Second)
		for {
			if err := p.SendAsync(ctx, r, nil); err != nil {
				t.Fatal(err)
			}
			err := p.Flush(ctx)
			if err == nil {
				break
			}
			if !strings.Contains(err.Error(), "Not Leader For Partition") || time.Now().After(deadline) {
				t.Fatal(err)
			}
			t.Logf("sending to %s again: %v", r.Topic, err)
			time.Sleep(500 * time.Millisecond)
		}
	}
}

// recordKey decodes a JSON-encoded string key, falling back to the raw bytes.
func recordKey(b []byte) string {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		return s
	}
	return string(b)
}

// windowClose is one record of an on_close topic.
type windowClose struct {
	Key   string
	Value float64
	Start time.Time
}

func (w windowClose) String() string {
	return fmt.Sprintf("%s@%s=%v", w.Key, w.Start.UTC().Format(time.RFC3339), w.Value)
}

// collectCloses reads topic until it has want records, then for settle more to catch
// extra (duplicate) closes, and returns everything read.
func collectCloses(t *testing.T, ctx context.Context, topic string, partitions, want int, settle time.Duration) []windowClose {
	t.Helper()
	var got []windowClose
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var deadline *time.Timer
	func() {
		defer func() {
			if deadline != nil {
				deadline.Stop()
			}
		}()
		c, err := topics.NewConsumer(topics.ConsumerConfig{ClientConfig: harness.Client(t)})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- c.Run(rctx) }()
		defer func() { cancel(); <-done }()
		for p := range partitions {
			c.Assign(topics.TopicPartition{Topic: topic, Partition: int32(p)}, topics.FirstOffset)
		}
		settleCtx, stopSettle := context.WithCancel(rctx)
		defer stopSettle()
		for {
			b, err := c.Poll(settleCtx)
			if err != nil {
				if settleCtx.Err() != nil && rctx.Err() == nil && ctx.Err() == nil {
					return // settled
				}
				t.Fatalf("reading %s: %v (got %v)", topic, err, got)
			}
			for _, r := range b.Records {
				var n float64
				if err := json.Unmarshal(r.Value, &n); err != nil {
					t.Fatalf("%s: value %q is not a number", topic, r.Value)
				}
				got = append(got, windowClose{Key: recordKey(r.Key), Value: n, Start: r.Time.UTC()})
				if len(got) == want && deadline == nil {
					deadline = time.AfterFunc(settle, stopSettle)
				}
			}
		}
	}()
	return got
}

// TestWorkerPageViews runs the page-views example (tumbling one-minute windows, grace 10s,
// on_close to page_counts) on two workers over the real broker, fed the example's fixture:
// page_counts receives exactly the fixture's window closes, each once. The out-of-order view
// within grace is counted; the late view is dropped. The fixture's last window is closed by
// two wall-clock ticks in the kit; here a later view advances the stream time instead.
func TestWorkerPageViews(t *testing.T) {
	ctx := harness.Context(t, 2*time.Minute)
	env := newCtlEnv(t)
	ctl := env.start(t, "c1")
	ex := loadExample(t, "pageviews")
	startApp(t, ctx, env, ctl.Addr, ex, ex.Source)

	in := readFixture(t, "pageviews", "in.jsonl")
	var recs []topics.Record
	for _, l := range in {
		if l.Tick != "" {
			continue
		}
		// One source partition keeps the fixture's order through the repartition topic (the
		// kit processes records one after another; source tasks here run concurrently).
		recs = append(recs, topics.Record{Topic: ex.Prefix + l.Topic, Partition: 0, PinPartition: true, Key: []byte(l.Key), Value: l.Value})
	}
	// Instead of the ticks: stream time 10:03:45 on the task of /home and /signup closes the
	// 10:02 window of /home (end 10:03 + grace 10s) and nothing else (/signup has no view
	// in 10:02, its 10:03 window stays open).
	recs = append(recs, topics.Record{Topic: ex.Prefix + "page_views", Partition: 0, PinPartition: true, Key: []byte("u7"),
		Value: []byte(`{"user": "u7", "page": "/signup", "at": "2026-01-01T10:03:45Z"}`)})
	send(t, ctx, newProducer(t), recs...)

	var want []windowClose
	for _, l := range readFixture(t, "pageviews", "out.jsonl") {
		var n float64
		if err := json.Unmarshal(l.Value, &n); err != nil {
			t.Fatal(err)
		}
		ts, err := time.Parse(time.RFC3339, l.Timestamp)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, windowClose{Key: l.Key, Value: n, Start: ts})
	}
	got := collectCloses(t, ctx, ex.Prefix+"page_counts", 8, len(want), 3*time.Second)
	t.Logf("page_counts: %v", got)
	seen := map[string]int{}
	for _, g := range got {
		seen[g.String()]++
	}
	for _, w := range want {
		if n := seen[w.String()]; n != 1 {
			t.Errorf("window close %s received %d times, want once", w, n)
		}
		delete(seen, w.String())
	}
	for s, n := range seen {
		t.Errorf("unexpected window close %s (%d times)", s, n)
	}
}

// TestWorkerDeadLetter runs page views with an on_error policy sending failed records to a
// declared dead-letter topic: a record whose value does not decode (malformed JSON, then a
// view without its required field) lands there unchanged with the error headers, and the
// agent goes on with the later records.
func TestWorkerDeadLetter(t *testing.T) {
	ctx := harness.Context(t, 2*time.Minute)
	env := newCtlEnv(t)
	ctl := env.start(t, "c1")
	ex := loadExample(t, "pageviews")
	dlName := ex.Prefix + "dead_letters"
	src := ex.edited(t, func(body *hclwrite.Body) {
		body.AppendNewline()
		dl := body.AppendNewBlock("topic", []string{"dead_letters"})
		dl.Body().SetAttributeValue("name", cty.StringVal(dlName))
		dl.Body().SetAttributeValue("replication", cty.NumberIntVal(1))
		ag := block(body, "agent", "count_views")
		if ag == nil {
			t.Fatal("no agent count_views in pageviews")
		}
		oe := ag.Body().AppendNewBlock("on_error", nil)
		oe.Body().SetAttributeValue("then", cty.StringVal("dead_letter"))
		oe.Body().SetAttributeTraversal("dead_letter", hclTraversal("topic", "dead_letters"))
	})
	t.Logf("app:\n%s", src.Files[0].Content)
	procs := startApp(t, ctx, env, ctl.Addr, ex, src)

	pv := ex.Prefix + "page_views"
	rec := func(key, value string) topics.Record {
		return topics.Record{Topic: pv, Partition: 0, PinPartition: true, Key: []byte(key), Value: []byte(value),
			Headers: []topics.Header{{Key: "trace", Value: []byte(key)}}}
	}
	bad := []topics.Record{
		rec("bad1", `{"user": "u1", "page": "/home", "at": `),
		rec("bad2", `{"user": "u2", "page": "/home"}`),
	}
	send(t, ctx, newProducer(t),
		rec("u1", `{"user": "u1", "page": "/home", "at": "2026-01-01T10:00:05Z"}`), // offset 0
		bad[0], // offset 1
		rec("u2", `{"user": "u2", "page": "/home", "at": "2026-01-01T10:00:30Z"}`), // offset 2
		bad[1], // offset 3
		rec("u3", `{"user": "u3", "page": "/home", "at": "2026-01-01T10:00:50Z"}`), // offset 4
		rec("u4", `{"user": "u4", "page": "/home", "at": "2026-01-01T10:02:00Z"}`), // closes 10:00
	)
	badOffsets := []int64{1, 3}

	// The good views are all counted: the 10:00 window of /home closes with 3.
	got := collectCloses(t, ctx, ex.Prefix+"page_counts", 8, 1, 2*time.Second)
	if len(got) != 1 || got[0].String() != (windowClose{Key: "/home", Value: 3, Start: time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)}).String() {
		t.Errorf("page_counts: %v, want one close /home@10:00=3", got)
	}

	// The dead letters keep the failed record's key, so they spread over the topic's
	// partitions (the app's 8): read them all and match them by key.
	dead := make([]topics.Record, len(bad))
	found := 0
	readUntil(t, ctx, dlName, 8, func(r topics.Record) bool {
		for i, b := range bad {
			if string(r.Key) == string(b.Key) {
				if dead[i].Value != nil {
					t.Errorf("record %q dead-lettered twice", r.Key)
				}
				dead[i] = r
				found++
			}
		}
		return found == len(bad)
	})
	for i, r := range dead {
		if string(r.Key) != string(bad[i].Key) || !bytes.Equal(r.Value, bad[i].Value) {
			t.Errorf("dead letter %d: %q=%q, want %q=%q", i, r.Key, r.Value, bad[i].Key, bad[i].Value)
		}
		hs := map[string]string{}
		for _, h := range r.Headers {
			hs[h.Key] = string(h.Value)
		}
		t.Logf("dead letter %d headers: %v", i, hs)
		if hs[agents.HeaderError] == "" || !strings.Contains(hs[agents.HeaderError], "decod") {
			t.Errorf("dead letter %d: %s = %q, want a decoding error", i, agents.HeaderError, hs[agents.HeaderError])
		}
		for k, v := range map[string]string{
			agents.HeaderSourceTopic:     pv,
			agents.HeaderSourcePartition: "0",
			agents.HeaderSourceOffset:    strconv.FormatInt(badOffsets[i], 10),
			agents.HeaderAgent:           "count_views",
			"trace":                      string(bad[i].Key),
		} {
			if hs[k] != v {
				t.Errorf("dead letter %d: header %s = %q, want %q", i, k, hs[k], v)
			}
		}
	}

	// The workers' /metrics count what happened, summed over both workers: the 6 records in
	// (and more outputs than dead letters), the 2 dead letters and errors of count_views, and
	// commits (the task's and its changelog's). Counters reach Prometheus as the records are processed, so poll briefly.
	app := `app="` + ex.App + `"`
	want := map[string]float64{
		`weir_task_records_in_total{` + app:                        6,
		`weir_agent_records_in_total{agent="count_views",` + app:   6,
		`weir_agent_dead_letters_total{agent="count_views",` + app: 2,
		`weir_agent_errors_total{agent="count_views",` + app:       2,
		`weir_task_records_out_total{` + app:                       3,
		`weir_task_commit_seconds_count{` + app:                    1,
		`weir_task_processing_seconds_count{` + app:                6,
		// The changelog side of the commits (libs/tables metrics of the active tasks).
		`weir_changelog_commits_total{` + app + `,role="active"`:        1,
		`weir_changelog_commit_records_total{` + app + `,role="active"`: 2,
	}
	mctx, mcancel := context.WithTimeout(ctx, 20*time.Second)
	defer mcancel()
	for {
		got := map[string]float64{}
		for _, w := range procs {
			for series, v := range scrapeMetrics(t, w.Addr) {
				for prefix := range want {
					if strings.HasPrefix(series, prefix) {
						got[prefix] += v
					}
				}
			}
		}
		ok := true
		for prefix, min := range want {
			if got[prefix] < min {
				ok = false
			}
		}
		if got[`weir_agent_dead_letters_total{agent="count_views",`+app] > 2 {
			t.Errorf("metrics count %v dead letters, want 2", got[`weir_agent_dead_letters_total{agent="count_views",`+app])
		}
		if ok {
			t.Logf("metrics: %v", got)
			break
		}
		select {
		case <-mctx.Done():
			t.Fatalf("metrics of the workers: %v, want at least %v", got, want)
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// scrapeMetrics reads a worker's /metrics: each sample line's series (name and labels as
// written) and value.
func scrapeMetrics(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("scraping %s: %v", addr, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scraping %s: %d %v", addr, resp.StatusCode, err)
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if i < 0 || err != nil {
			t.Fatalf("scraping %s: bad line %q", addr, line)
		}
		out[line[:i]] = v
	}
	return out
}

func hclTraversal(names ...string) hcl.Traversal {
	tr := hcl.Traversal{hcl.TraverseRoot{Name: names[0]}}
	for _, n := range names[1:] {
		tr = append(tr, hcl.TraverseAttr{Name: n})
	}
	return tr
}

// wordCounts follows a word_counts topic from its start, checking that every word's counts
// go 1, 2, 3, … (nothing lost or counted twice).
type wordCounts struct {
	mu     sync.Mutex
	counts map[string]int
	err    error
}

func followWordCounts(t *testing.T, ctx context.Context, topic string, partitions int) *wordCounts {
	t.Helper()
	wc := &wordCounts{counts: map[string]int{}}
	c, err := topics.NewConsumer(topics.ConsumerConfig{ClientConfig: harness.Client(t)})
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(cctx) }()
	for p := range partitions {
		c.Assign(topics.TopicPartition{Topic: topic, Partition: int32(p)}, topics.FirstOffset)
	}
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		for {
			b, err := c.Poll(cctx)
			if err != nil {
				return
			}
			wc.mu.Lock()
			for _, r := range b.Records {
				word := recordKey(r.Key)
				var n float64
				if err := json.Unmarshal(r.Value, &n); err != nil {
					wc.err = fmt.Errorf("count of %q is not a number: %q", word, r.Value)
				} else if int(n) != wc.counts[word]+1 && wc.err == nil {
					wc.err = fmt.Errorf("word %q: emitted count %v after %d (a record lost or counted twice)", word, n, wc.counts[word])
				}
				wc.counts[word] = int(n)
			}
			wc.mu.Unlock()
		}
	}()
	t.Cleanup(func() { cancel(); <-done; <-polled })
	return wc
}

func (wc *wordCounts) get(word string) int {
	wc.mu.Lock()
	defer wc.mu.Unlock()
	return wc.counts[word]
}

// waitFor waits until every word of want has its count, failing on a broken sequence.
func (wc *wordCounts) waitFor(t *testing.T, ctx context.Context, want map[string]int) {
	t.Helper()
	for {
		wc.mu.Lock()
		err, ok := wc.err, true
		var missing []string
		for w, n := range want {
			if wc.counts[w] != n {
				ok = false
				missing = append(missing, fmt.Sprintf("%s=%d/%d", w, wc.counts[w], n))
			}
		}
		wc.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("counts not reached: %v", missing)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestWorkerHotReload applies word count, counts some lines, then applies a version whose
// filter also drops "the" while the workers keep running and lines keep coming: the tasks
// take it up after a commit, so every other word is counted exactly once per occurrence
// across the switch, and "the" stops being counted once the switch is done.
func TestWorkerHotReload(t *testing.T) {
	ctx := harness.Context(t, 2*time.Minute)
	env := newCtlEnv(t)
	ctl := env.start(t, "c1")
	ex := loadExample(t, "wordcount")
	startApp(t, ctx, env, ctl.Addr, ex, ex.Source)
	wc := followWordCounts(t, ctx, ex.Prefix+"word_counts", 4)

	lines := []string{"the quick brown fox", "jumps over the lazy dog", "The dog sleeps", "a fox and a dog"}
	want := map[string]int{}
	theSent := 0 // occurrences of "the" produced so far
	p := newProducer(t)
	n := 0
	sendLines := func(count int, line func(i int) string) {
		for range count {
			l := line(n)
			for _, w := range strings.Fields(strings.ToLower(l)) {
				if w == "the" {
					theSent++
				} else {
					want[w]++
				}
			}
			if err := p.SendAsync(ctx, topics.Record{Topic: ex.Prefix + "sentences", Key: fmt.Appendf(nil, "line-%d", n), Value: []byte(l)}, nil); err != nil {
				t.Fatal(err)
			}
			n++
		}
		if err := p.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	cycle := func(i int) string { return lines[i%len(lines)] }

	// Version 1: everything is counted.
	sendLines(100, cycle)
	before := theSent
	wc.waitFor(t, ctx, map[string]int{"the": before})
	wc.waitFor(t, ctx, want)
	t.Logf("v1: the=%d", before)

	// Version 2, applied while lines keep coming.
	src := ex.edited(t, func(body *hclwrite.Body) {
		ag := block(body, "agent", "count_words")
		f := block(ag.Body(), "filter", "")
		f.Body().SetAttributeRaw("when", hclwrite.Tokens{{Type: hclsyntax.TokenIdent, Bytes: []byte(`value != "" && value != "the"`)}})
	})
	sendLines(40, cycle)
	resp, err := ctlClient(t, ctl.Addr).Apply(ctx, connect.NewRequest(&weirv1.ApplyRequest{Source: src, Author: "test"}))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("applied version %d (created %v)", resp.Msg.GetVersion().GetVersion(), resp.Msg.GetCreated())
	for range 10 {
		sendLines(8, cycle)
		time.Sleep(200 * time.Millisecond)
	}
	during := theSent

	// Wait until the switch is done on every source partition: a probe line "the pN_k" on
	// partition N whose marker is counted without "the" moving for a while afterwards.
	for part := range 4 {
		for k := 0; ; k++ {
			if ctx.Err() != nil {
				t.Fatalf("partition %d never switched", part)
			}
			marker := fmt.Sprintf("p%d_%d", part, k)
			the0 := wc.get("the")
			theSent++
			want[marker]++
			send(t, ctx, p, topics.Record{Topic: ex.Prefix + "sentences", Partition: int32(part), PinPartition: true,
				Key: []byte(marker), Value: []byte("the " + marker)})
			wc.waitFor(t, ctx, map[string]int{marker: 1})
			time.Sleep(1500 * time.Millisecond)
			if wc.get("the") == the0 {
				break
			}
		}
	}
	switched := wc.get("the")
	t.Logf("switched: the=%d (%d sent before the apply, %d by its end)", switched, before, during)
	if switched < before || switched > theSent {
		t.Errorf("the=%d after the switch, want between %d and %d", switched, before, theSent)
	}

	// After the switch: "the" no longer moves, the other words count on exactly.
	sendLines(100, cycle)
	wc.waitFor(t, ctx, want)
	time.Sleep(time.Second)
	if got := wc.get("the"); got != switched {
		t.Errorf("the=%d after more lines, want it to stay at %d", got, switched)
	}
	wc.mu.Lock()
	for w, c := range wc.counts {
		if w != "the" && c != want[w] {
			t.Errorf("word %q: count %d, want %d", w, c, want[w])
		}
	}
	if wc.err != nil {
		t.Error(wc.err)
	}
	wc.mu.Unlock()

	// The group's committed offsets catch up (no lag): every line was taken by one version.
	admin := harness.Admin(t)
	for {
		lag, err := admin.Lag(ctx, cluster.ConsumerGroup(ex.App), ex.Prefix+"sentences")
		if err == nil {
			total := int64(0)
			for _, l := range lag {
				total += l.Lag
			}
			if total == 0 {
				break
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("group %s still lags: %v %v", cluster.ConsumerGroup(ex.App), lag, err)
		case <-time.After(300 * time.Millisecond):
		}
	}
}
