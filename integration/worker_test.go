//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/types/known/structpb"

	weirv1 "github.com/weirhq/weir/gen/weir/v1"
	"github.com/weirhq/weir/gen/weir/v1/weirv1connect"
	"github.com/weirhq/weir/integration/harness"
	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/libs/service/servicetest"
	"github.com/weirhq/weir/libs/topics"
)

var (
	workerBuild    sync.Once
	workerBinPath  string
	workerBuildErr error
)

// workerBinary builds the worker (services/worker) once per test binary into a temporary
// directory.
func workerBinary(t *testing.T) string {
	t.Helper()
	workerBuild.Do(func() {
		dir, err := os.MkdirTemp("", "weir-worker-bin-")
		if err != nil {
			workerBuildErr = err
			return
		}
		workerBinPath = filepath.Join(dir, "worker")
		cmd := exec.Command("go", "build", "-o", workerBinPath, "./services/worker")
		cmd.Dir = harness.Root()
		if out, err := cmd.CombinedOutput(); err != nil {
			workerBuildErr = errors.New(string(out))
		}
	})
	if workerBuildErr != nil {
		t.Fatalf("building the worker: %v", workerBuildErr)
	}
	return workerBinPath
}

// startWorkerProcs starts real worker processes (the services/worker binary) with the given
// ids, each with its own data dir; their logs go to the test's temporary directory.
func (e *ctlEnv) startWorkerProcs(t *testing.T, ids ...string) []*workerProc {
	t.Helper()
	bin := workerBinary(t)
	logs := t.TempDir()
	var out []*workerProc
	for _, id := range ids {
		out = append(out, startWorkerProc(t, bin, e, id, t.TempDir(), filepath.Join(logs, id+".log")))
	}
	return out
}

// waitAssigned waits until every task of the app has an active worker and no handoff is in
// progress, and returns the assignment.
func (e *ctlEnv) waitAssigned(t *testing.T, ctx context.Context, app string, workers int) cluster.Assignments {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		as, err := cluster.ReadAssignments(ctx, e.etcd, e.layout, app)
		if err != nil {
			t.Fatal(err)
		}
		owners := map[string]bool{}
		settled := len(as.Tasks) > 0
		for _, a := range as.Tasks {
			owners[a.Active] = true
			if a.Active == "" || len(a.Warmups) > 0 || a.State != cluster.Stable {
				settled = false
			}
		}
		if settled && len(owners) == workers {
			return as
		}
		select {
		case <-ctx.Done():
			st, _ := e.etcd.Get(context.Background(), e.layout.StatusPrefix(), clientv3.WithPrefix())
			var status []string
			if st != nil {
				for _, kv := range st.Kvs {
					status = append(status, string(kv.Key)+" = "+string(kv.Value))
				}
			}
			t.Fatalf("app %s not assigned over %d workers: %+v\nstatus:\n%s", app, workers, as.Tasks, strings.Join(status, "\n"))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// readUntil consumes every partition of topic from the start, handing records to fn until it
// returns true.
func readUntil(t *testing.T, ctx context.Context, topic string, partitions int, fn func(topics.Record) bool) {
	t.Helper()
	c, err := topics.NewConsumer(topics.ConsumerConfig{ClientConfig: harness.Client(t)})
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(cctx) }()
	defer func() { cancel(); <-done }()
	for p := range partitions {
		c.Assign(topics.TopicPartition{Topic: topic, Partition: int32(p)}, topics.FirstOffset)
	}
	for {
		b, err := c.Poll(ctx)
		if err != nil {
			t.Fatalf("reading %s: %v", topic, err)
		}
		for _, r := range b.Records {
			if fn(r) {
				return
			}
		}
	}
}

// TestWorkerWordCount runs the word-count example on a controller and two workers over the
// real broker: every word's emitted counts are exactly 1, 2, …, n (group_by repartitions by
// the word, a field other than the source key; nothing is lost or counted twice), and the
// committed group offsets show no lag.
func TestWorkerWordCount(t *testing.T) {
	ctx := harness.Context(t, 3*time.Minute)
	env := newCtlEnv(t)
	ctl := env.start(t, "c1")
	ex := loadExample(t, "wordcount")
	if _, err := ctlClient(t, ctl.Addr).Apply(ctx, connect.NewRequest(&weirv1.ApplyRequest{Source: ex.Source, Author: "test"})); err != nil {
		t.Fatal(err)
	}
	procs := env.startWorkerProcs(t, "w1", "w2")
	as := env.waitAssigned(t, ctx, ex.App, 2)
	t.Logf("%d tasks assigned over 2 workers", len(as.Tasks))

	lines := []string{"the quick brown fox", "jumps over the lazy dog", "The dog sleeps", "a fox and a dog"}
	want := map[string]int{}
	p := newProducer(t)
	for i := range 200 {
		line := lines[i%len(lines)]
		for _, w := range strings.Fields(strings.ToLower(line)) {
			want[w]++
		}
		if err := p.SendAsync(ctx, topics.Record{Topic: ex.Prefix + "sentences", Key: fmt.Appendf(nil, "line-%d", i), Value: []byte(line)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	next := map[string]int{}
	remaining := len(want)
	readUntil(t, ctx, ex.Prefix+"word_counts", 4, func(r topics.Record) bool {
		var word string
		if err := json.Unmarshal(r.Key, &word); err != nil {
			word = string(r.Key)
		}
		var n float64
		if err := json.Unmarshal(r.Value, &n); err != nil {
			t.Fatalf("count of %q is not a number: %q", word, r.Value)
		}
		if int(n) != next[word]+1 {
			t.Fatalf("word %q: emitted count %v after %d (a record lost or counted twice)", word, n, next[word])
		}
		next[word] = int(n)
		if next[word] == want[word] {
			remaining--
		}
		return remaining == 0
	})
	for w, n := range want {
		if next[w] != n {
			t.Errorf("word %q: count %d, want %d", w, next[w], n)
		}
	}
	// The table is readable from its owner over the worker's TableService (committed state);
	// the other worker refuses and names the owner.
	qctx, qcancel := context.WithTimeout(ctx, 20*time.Second)
	defer qcancel()
	for {
		var found, refused int
		var got float64
		for _, w := range procs {
			c := weirv1connect.NewTableServiceClient(servicetest.HTTP1Client(t), "http://"+w.Addr, connect.WithProtoJSON())
			res, err := c.Get(ctx, connect.NewRequest(&weirv1.TableGetRequest{App: ex.App, Table: "word_counts",
				Key: &weirv1.TableKey{Value: structpb.NewStringValue("the")}}))
			switch {
			case err == nil && res.Msg.Found:
				found++
				got = res.Msg.Value.GetNumberValue()
			case connect.CodeOf(err) == connect.CodeFailedPrecondition:
				refused++
			case err != nil:
				t.Fatalf("TableService.Get on %s: %v", w.Addr, err)
			}
		}
		if found == 1 && refused == 1 && int(got) == want["the"] {
			break
		}
		select {
		case <-qctx.Done():
			t.Fatalf("table query: found %d, refused %d, value %v (want %d)", found, refused, got, want["the"])
		case <-time.After(200 * time.Millisecond):
		}
	}
	// The records of the repartition topic that were consumed and committed are deleted:
	// its partitions' log start offsets move up (a purge runs at most every 5 s per task).
	var repartition []string
	names, err := kafkaTopicNames(ctx, env.brokers)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if strings.HasPrefix(name, "weir."+ex.App+".") && strings.Contains(name, ".repartition-") {
			repartition = append(repartition, name)
		}
	}
	if len(repartition) == 0 {
		t.Fatalf("no repartition topic of %s among %v", ex.App, names)
	}
	pctx, pcancel := context.WithTimeout(ctx, 30*time.Second)
	defer pcancel()
	for {
		offs, err := harness.Admin(t).ListOffsets(ctx, repartition...)
		if err != nil {
			t.Fatal(err)
		}
		var start, end int64
		for _, r := range offs {
			start += r.Start
			end += r.End
		}
		if end > 0 && start == end {
			t.Logf("repartition topics %v purged: log start = end = %d records", repartition, end)
			break
		}
		select {
		case <-pctx.Done():
			t.Fatalf("repartition topics %v not purged: log start offsets sum %d, ends sum %d", repartition, start, end)
		case <-time.After(500 * time.Millisecond):
		}
	}

	// The workers commit the app's consumer group (memberless), so Kafka's tools see no lag.
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
