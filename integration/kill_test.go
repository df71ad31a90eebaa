//go:build integration

package integration

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"

	weirv1 "github.com/weirhq/weir/gen/weir/v1"
	"github.com/weirhq/weir/gen/weir/v1/weirv1connect"
	"github.com/weirhq/weir/integration/harness"
	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/libs/service/servicetest"
	"github.com/weirhq/weir/libs/topics"
)

// workerProc is one real worker process (services/worker), killable with -9 and stoppable.
type workerProc struct {
	id, dir string
	cmd     *exec.Cmd
	addr    string
	done    chan struct{}
	ready   chan struct{}
	logPath string
}

var readyAddrRE = regexp.MustCompile(`addr=("?)([^ "]+)`)

// startWorkerProc starts bin as a worker with the given id and data dir (and extra flags);
// its stderr goes to logPath. It waits until the worker logs that it is ready.
func startWorkerProc(t *testing.T, bin string, env *ctlEnv, id, dir, logPath string, extra ...string) *workerProc {
	t.Helper()
	w := &workerProc{id: id, dir: dir, done: make(chan struct{}), ready: make(chan struct{}), logPath: logPath}
	w.cmd = exec.Command(bin, append([]string{"serve", "--listen", "127.0.0.1:0", "--instance-id", id,
		"--etcd-prefix", env.prefix, "--etcd-endpoints", strings.Join(env.endpoints, ","),
		"--kafka-brokers", strings.Join(env.brokers, ","), "--data-dir", dir,
		"--lease-ttl", "3s", "--drain-timeout", "5s"}, extra...)...)
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	errPipe, err := w.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	w.cmd.Stdout = logf
	if err := w.cmd.Start(); err != nil {
		t.Fatalf("starting worker %s: %v", id, err)
	}
	go func() {
		defer close(w.done)
		sc := bufio.NewScanner(errPipe)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		isReady := false
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logf, line)
			if !isReady && (strings.Contains(line, "msg=ready") || strings.Contains(line, `"msg":"ready"`)) {
				if m := readyAddrRE.FindStringSubmatch(line); m != nil {
					w.addr = m[2]
					isReady = true
					close(w.ready)
				}
			}
		}
		w.cmd.Wait()
		logf.Close()
	}()
	t.Cleanup(func() { w.kill() })
	select {
	case <-w.ready:
	case <-w.done:
		t.Fatalf("worker %s exited before it was ready; log %s", id, logPath)
	case <-time.After(60 * time.Second):
		t.Fatalf("worker %s not ready within 60s; log %s", id, logPath)
	}
	return w
}

func (w *workerProc) alive() bool {
	select {
	case <-w.done:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL (after SIGCONT, in case it is stopped) and waits for the exit.
func (w *workerProc) kill() {
	if !w.alive() {
		return
	}
	w.cmd.Process.Signal(syscall.SIGCONT)
	w.cmd.Process.Kill()
	<-w.done
}

// envInt reads a positive integer from the environment, else def.
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// TestKillExactState runs a two-agent counting app on 3 real worker processes while
// producing input at a steady pace and injecting faults: kill -9s of workers holding actives
// (restarted alternately with the same id and data dir and with a fresh id and an empty dir)
// and a SIGSTOP past the lease followed by SIGCONT. Changelogs compact aggressively. At the
// end, both tables (counts, and the latest count seen downstream) must equal the number of
// input records per key exactly.
func TestKillExactState(t *testing.T) {
	records := envInt("WEIR_KILL_RECORDS", 200000)
	killCount := envInt("WEIR_KILL_COUNT", 3)
	const keys = 1000
	rate := 3000.0 // records/s
	if records > 200000 {
		rate = 6000
	}
	if v, err := strconv.ParseFloat(os.Getenv("WEIR_KILL_RATE"), 64); err == nil && v > 0 {
		rate = v
	}
	produceFor := time.Duration(float64(records) / rate * float64(time.Second))
	ctx := harness.Context(t, produceFor+6*time.Minute)

	n := harness.Name(t, "k")
	id := n[len(n)-8:]
	appName := "kill_" + id
	prefix := "t" + id + "."
	input, countsOut := prefix+"input", prefix+"counts_out"
	src := fmt.Sprintf(`
app %q {
  partitions       = 4
  standby_replicas = 1
}

topic "input" {
  name  = %q
  key   = string
  value = string
}

topic "counts_out" {
  name  = %q
  key   = string
  value = json
}

table "counts" {
  value   = number
  default = 0
}

table "latest" {
  value   = number
  default = 0
}

agent "a_count" {
  from = topic.input
  aggregate "count" {
    into = table.counts
  }
  emit {
    to = topic.counts_out
  }
}

agent "b_latest" {
  from = topic.counts_out
  aggregate "last" {
    into  = table.latest
    value = value
  }
}
`, appName, input, countsOut)
	ex := &example{App: appName, Prefix: prefix}
	t.Cleanup(func() { ex.cleanup(t) })

	bin := workerBinary(t)

	env := newCtlEnv(t)
	ctl := env.start(t, "c1")
	if _, err := ctlClient(t, ctl.Addr).Apply(ctx, connect.NewRequest(&weirv1.ApplyRequest{
		Source: &weirv1.AppSource{Files: []*weirv1.SourceFile{{Name: "app.hcl", Content: src}}}, Author: "test"})); err != nil {
		t.Fatal(err)
	}

	logDir := t.TempDir()
	var mu sync.Mutex
	procs := map[string]*workerProc{} // by worker id, the live incarnation
	var incarnations []*workerProc
	nextID := 0
	spawn := func(wid, dir string) *workerProc {
		nextID++
		w := startWorkerProc(t, bin, env, wid, dir, filepath.Join(logDir, fmt.Sprintf("%02d-%s.log", nextID, wid)))
		mu.Lock()
		procs[wid] = w
		incarnations = append(incarnations, w)
		mu.Unlock()
		return w
	}
	for i := 1; i <= 3; i++ {
		spawn(fmt.Sprintf("w%d", i), t.TempDir())
	}
	env.waitAssigned(t, ctx, appName, 3)

	// Compact the changelogs aggressively. The app language has no changelog configs, so set
	// them on the topics the controller created.
	admin := harness.Admin(t)
	all, err := kafkaTopicNames(ctx, env.brokers)
	if err != nil {
		t.Fatal(err)
	}
	var changelogs []string
	for _, name := range all {
		if strings.HasPrefix(name, "weir."+appName+".") && strings.HasSuffix(name, ".changelog") {
			changelogs = append(changelogs, name)
		}
	}
	sort.Strings(changelogs)
	if len(changelogs) != 2 {
		t.Fatalf("changelogs of %s: %v, want 2", appName, changelogs)
	}
	for _, cl := range changelogs {
		if _, err := admin.EnsureTopics(ctx, topics.TopicSpec{Name: cl, Partitions: 4, Cleanup: topics.CleanupCompact,
			Configs: map[string]string{"message.timestamp.type": "LogAppendTime", "segment.ms": "1000", "min.cleanable.dirty.ratio": "0.01",
				// The app provisions min.compaction.lag.ms=1h; 15 s still exceeds the idle-marker
				// interval + fetch + repair time (docs/state.md) and lets compaction run here.
				"min.compaction.lag.ms": "15000"}}); err != nil {
			t.Fatalf("setting compaction configs of %s: %v", cl, err)
		}
	}
	t.Logf("app %s on 3 worker processes; changelogs %v compacting aggressively", appName, changelogs)

	// Produce at a steady pace.
	want := make(map[string]int, keys)
	p := newProducer(t)
	produced := make(chan error, 1)
	go func() {
		rng := rand.New(rand.NewPCG(1, 2))
		start := time.Now()
		const chunk = 100
		for i := 0; i < records; i += chunk {
			if d := time.Until(start.Add(time.Duration(float64(i) / rate * float64(time.Second)))); d > 0 {
				time.Sleep(d)
			}
			for j := i; j < min(i+chunk, records); j++ {
				k := fmt.Sprintf("k%04d", rng.IntN(keys))
				want[k]++
				if err := p.SendAsync(ctx, topics.Record{Topic: input, Key: []byte(k), Value: []byte(strconv.Itoa(j))}, nil); err != nil {
					produced <- err
					return
				}
			}
		}
		produced <- p.Flush(ctx)
	}()

	// Faults, spread over the production time: K kill -9s, and one SIGSTOP after the first.
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	pickActive := func() *workerProc {
		as, err := cluster.ReadAssignments(ctx, env.etcd, env.layout, appName)
		if err != nil {
			t.Fatal(err)
		}
		holders := map[string]bool{}
		for _, a := range as.Tasks {
			if a.Active != "" {
				holders[a.Active] = true
			}
		}
		mu.Lock()
		defer mu.Unlock()
		var cands []*workerProc
		for wid, w := range procs {
			if holders[wid] && w.alive() {
				cands = append(cands, w)
			}
		}
		sort.Slice(cands, func(i, j int) bool { return cands[i].id < cands[j].id })
		if len(cands) == 0 {
			return nil
		}
		return cands[rng.IntN(len(cands))]
	}
	faults := killCount + 1
	start := time.Now()
	kills, stops, fresh := 0, 0, 0
	for f := 0; f < faults; f++ {
		at := start.Add(produceFor * time.Duration(f+1) / time.Duration(faults+1))
		select {
		case <-time.After(time.Until(at)):
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
		var w *workerProc
		for w == nil {
			if w = pickActive(); w == nil {
				time.Sleep(200 * time.Millisecond)
			}
		}
		if f == 1 { // the pause: past the 3 s lease, then resume
			t.Logf("%.1fs: SIGSTOP %s for 7s", time.Since(start).Seconds(), w.id)
			w.cmd.Process.Signal(syscall.SIGSTOP)
			time.Sleep(7 * time.Second)
			w.cmd.Process.Signal(syscall.SIGCONT)
			stops++
			continue
		}
		w.cmd.Process.Kill()
		<-w.done
		kills++
		time.Sleep(time.Second)
		mu.Lock()
		delete(procs, w.id)
		mu.Unlock()
		if kills%2 == 1 {
			t.Logf("%.1fs: kill -9 %s; restart with the same id and data dir", time.Since(start).Seconds(), w.id)
			spawn(w.id, w.dir)
		} else {
			fresh++
			nid := fmt.Sprintf("w%d", 3+fresh)
			t.Logf("%.1fs: kill -9 %s; restart as %s with an empty dir", time.Since(start).Seconds(), w.id, nid)
			spawn(nid, t.TempDir())
		}
	}
	if err := <-produced; err != nil {
		t.Fatalf("producing: %v", err)
	}
	t.Logf("%.1fs: produced %d records over %d keys", time.Since(start).Seconds(), records, len(want))

	// Wait until all input is consumed: the app group's lag is 0 on both topics.
	group := cluster.ConsumerGroup(appName)
	lagCtx, lagCancel := context.WithTimeout(ctx, 3*time.Minute)
	defer lagCancel()
	for {
		var total int64
		var lerr error
		for _, tp := range []string{input, countsOut} {
			lag, err := admin.Lag(lagCtx, group, tp)
			if err != nil {
				lerr = err
				break
			}
			for _, l := range lag {
				total += l.Lag
			}
		}
		if lerr == nil && total == 0 {
			break
		}
		select {
		case <-lagCtx.Done():
			t.Fatalf("group %s still lags (%d): %v", group, total, lerr)
		case <-time.After(500 * time.Millisecond):
		}
	}
	t.Logf("%.1fs: group %s has no lag", time.Since(start).Seconds(), group)

	// Read both tables from their owners (committed state over the TableService).
	scanTable := func(table string) (map[string]int, error) {
		out := map[string]int{}
		mu.Lock()
		var live []*workerProc
		for _, w := range procs {
			if w.alive() {
				live = append(live, w)
			}
		}
		mu.Unlock()
		for part := range 4 {
			served := false
			for _, w := range live {
				c := weirv1connect.NewTableServiceClient(servicetest.HTTP1Client(t), "http://"+w.addr, connect.WithProtoJSON())
				cursor := ""
				ok := true
				page := map[string]int{}
				for {
					res, err := c.Scan(ctx, connect.NewRequest(&weirv1.TableScanRequest{App: appName, Table: table, Partition: int32(part), Limit: 1000, Cursor: cursor}))
					if connect.CodeOf(err) == connect.CodeFailedPrecondition {
						ok = false
						break
					}
					if err != nil {
						return nil, fmt.Errorf("scan %s/%d on %s: %w", table, part, w.id, err)
					}
					for _, e := range res.Msg.Entries {
						page[e.Key.GetStringValue()] = int(e.Value.GetNumberValue())
					}
					if cursor = res.Msg.NextCursor; cursor == "" {
						break
					}
				}
				if ok {
					for k, v := range page {
						out[k] = v
					}
					served = true
					break
				}
			}
			if !served {
				return nil, fmt.Errorf("no worker serves %s partition %d", table, part)
			}
		}
		return out, nil
	}
	compare := func() (int, []string, error) {
		var bad []string
		for _, table := range []string{"counts", "latest"} {
			got, err := scanTable(table)
			if err != nil {
				return 0, nil, err
			}
			for k, n := range want {
				if got[k] != n {
					bad = append(bad, fmt.Sprintf("%s[%s]=%d want %d", table, k, got[k], n))
				}
			}
			for k := range got {
				if _, ok := want[k]; !ok {
					bad = append(bad, fmt.Sprintf("%s[%s]=%d not produced", table, k, got[k]))
				}
			}
		}
		sort.Strings(bad)
		return len(bad), bad, nil
	}
	var mismatches int
	var bad []string
	deadline := time.Now().Add(30 * time.Second)
	for {
		var err error
		mismatches, bad, err = compare()
		if err == nil && mismatches == 0 {
			break
		}
		if time.Now().After(deadline) {
			if err != nil {
				t.Fatalf("reading the tables: %v", err)
			}
			break
		}
		time.Sleep(time.Second)
	}

	// Compaction ran: the changelogs hold fewer records than their offset ranges span (the
	// log cleaner runs every second on the local broker; give it up to a minute).
	countRecords := func(cl string) (span, read int64) {
		ranges, err := admin.ListOffsets(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		remaining := 0
		for _, r := range ranges {
			span += r.End - r.Start
			if r.End > r.Start {
				remaining++
			}
		}
		doneParts := map[int32]bool{}
		if remaining > 0 {
			readUntil(t, ctx, cl, 4, func(r topics.Record) bool {
				rg := ranges[topics.TopicPartition{Topic: cl, Partition: r.Partition}]
				if r.Offset < rg.End {
					read++
				}
				if r.Offset >= rg.End-1 && !doneParts[r.Partition] {
					doneParts[r.Partition] = true
					remaining--
				}
				return remaining == 0
			})
		}
		return span, read
	}
	for _, cl := range changelogs {
		if info, err := admin.DescribeTopic(ctx, cl); err == nil {
			t.Logf("changelog %s: segment.ms=%s min.cleanable.dirty.ratio=%s min.compaction.lag.ms=%s", cl,
				info.Configs["segment.ms"], info.Configs["min.cleanable.dirty.ratio"], info.Configs["min.compaction.lag.ms"])
		}
		cdeadline := time.Now().Add(60 * time.Second)
		for {
			span, read := countRecords(cl)
			if read < span {
				t.Logf("changelog %s: %d offsets, %d records left after compaction", cl, span, read)
				break
			}
			if time.Now().After(cdeadline) {
				t.Errorf("changelog %s was not compacted: %d records in %d offsets", cl, read, span)
				break
			}
			time.Sleep(2 * time.Second)
		}
	}

	summary := fmt.Sprintf("records=%d kills=%d pauses=%d mismatches=%d", records, kills, stops, mismatches)
	t.Log(summary)
	fmt.Println(summary)
	if mismatches > 0 {
		if len(bad) > 40 {
			bad = bad[:40]
		}
		t.Errorf("tables are not exact (%d mismatches), first: %s\nworker logs in %s", mismatches, strings.Join(bad, "; "), logDir)
		keep := filepath.Join(os.TempDir(), "weir-kill-logs-"+id)
		if err := os.CopyFS(keep, os.DirFS(logDir)); err == nil {
			t.Logf("worker logs kept in %s", keep)
		}
	}
}
