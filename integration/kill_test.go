//go:build integration

package integration

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
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
	"github.com/weirhq/weir/libs/tables"
	"github.com/weirhq/weir/libs/topics"
	"github.com/weirhq/weir/services/worker/tableservice"
)

// workerProc is one real worker process (harness.Worker) as the tests run it: stopped when
// the test ends, with the failpoints it was armed with and those it reported firing.
type workerProc struct {
	*harness.Worker

	mu     sync.Mutex
	fired  []string // failpoints this process reported firing (libs/failpoint)
	killed bool     // killed by the test (not by a failpoint)
	armed  []string // WEIR_FAILPOINTS entries it was started with
}

var firedRE = regexp.MustCompile(`failpoint fired name=(\S+)`)

// firedPoints lists the failpoints the process fired so far.
func (w *workerProc) firedPoints() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.fired...)
}

// startWorkerProc starts bin as a worker of env with the given id and data dir (and extra
// flags), with a 3 s lease and a 5 s drain; its log goes to logPath. It waits until the
// worker is ready.
func startWorkerProc(t *testing.T, bin string, env *ctlEnv, id, dir, logPath string, extra ...string) *workerProc {
	t.Helper()
	return startWorkerProcEnv(t, bin, env, id, dir, logPath, nil, extra...)
}

// startWorkerProcEnv is startWorkerProc with extra environment variables (e.g. failpoints).
func startWorkerProcEnv(t *testing.T, bin string, env *ctlEnv, id, dir, logPath string, extraEnv []string, extra ...string) *workerProc {
	t.Helper()
	w := &workerProc{}
	hw, err := harness.StartWorker(harness.WorkerConfig{
		Bin: bin, ID: id, EtcdPrefix: env.prefix, EtcdEndpoints: env.endpoints, Brokers: env.brokers, DataDir: dir,
		LogPath: logPath, Env: extraEnv, Args: append([]string{"--lease-ttl", "3s", "--drain-timeout", "5s"}, extra...),
		OnLine: func(line string) {
			if m := firedRE.FindStringSubmatch(line); m != nil {
				w.mu.Lock()
				w.fired = append(w.fired, m[1])
				w.mu.Unlock()
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	w.Worker = hw
	t.Cleanup(func() {
		w.kill()
		if t.Failed() {
			t.Logf("worker %s: last warnings and errors in %s:\n%s", id, logPath, hw.Problems(60))
		}
	})
	return w
}

// kill kills the process with -9 (see harness.Worker.Kill), as the test's doing.
func (w *workerProc) kill() {
	if !w.Alive() {
		return
	}
	w.mu.Lock()
	w.killed = true
	w.mu.Unlock()
	w.Kill()
}

// envInt reads a positive integer from the environment, else def.
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// The failpoints of the commit path (libs/failpoint): three crash points and the zombie hold.
var killFailpoints = []string{"commit.after-flush", "commit.after-append", "commit.after-apply", "commit.before-append"}

const zombiePoint = "commit.before-append"

// TestKillExactState runs a three-agent counting app on 3 real worker processes while
// producing input at a steady pace and injecting faults, once with 1 standby per task and
// once with none (cold recovery): kill -9s of workers holding actives (restarted alternately
// with the same id and data dir and with a fresh id and an empty dir), kills by the process
// itself at each failpoint of the commit path (after the output flush, after the changelog
// append, after the Pebble apply), a SIGSTOP past the lease followed by SIGCONT, and a zombie
// (a failpoint holds an active between its lease check and its append until its successor
// fenced, so a stale batch lands and must be repaired). Changelogs compact aggressively. At
// the end, the three tables (counts; the latest count seen downstream; the number of count
// records received downstream, which double-counts unless replays are deduplicated) must
// equal the reference exactly, read from their owners and as rebuilt into an empty store
// from the changelogs alone.
//
// WEIR_KILL_RECORDS (records per configuration), WEIR_KILL_COUNT (scheduled kills),
// WEIR_KILL_RATE (records/s) and WEIR_KILL_STANDBYS (run only this configuration) tune it.
func TestKillExactState(t *testing.T) {
	configs := []int{1, 0}
	if v, err := strconv.Atoi(os.Getenv("WEIR_KILL_STANDBYS")); err == nil && v >= 0 {
		configs = []int{v}
	}
	bin := workerBinary(t)
	for _, standbys := range configs {
		t.Run(fmt.Sprintf("standbys=%d", standbys), func(t *testing.T) { runKillTest(t, bin, standbys) })
	}
}

func runKillTest(t *testing.T, bin string, standbys int) {
	records := envInt("WEIR_KILL_RECORDS", 100000)
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
	ctx := harness.Context(t, produceFor+8*time.Minute)

	sc := newScratch(t)
	appName, prefix := sc.app(t, "kill"), sc.prefix
	input, countsOut := prefix+"input", prefix+"counts_out"
	src := fmt.Sprintf(`
app %q {
  partitions       = 4
  standby_replicas = %d
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

table "received" {
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

agent "c_received" {
  from = topic.counts_out
  aggregate "count" {
    into = table.received
  }
}
`, appName, standbys, input, countsOut)
	tableNames := []string{"counts", "latest", "received"}

	env := newCtlEnv(t)
	ctl := env.start(t, "c1")
	applySource(t, ctx, ctl.Addr, src)

	logDir := t.TempDir()
	var mu sync.Mutex
	procs := map[string]*workerProc{} // by worker id, the live incarnation
	var incarnations []*workerProc
	nextID := 0
	spawn := func(wid, dir string, failpoints []string) *workerProc {
		nextID++
		var extra []string
		if len(failpoints) > 0 {
			extra = []string{"WEIR_FAILPOINTS=" + strings.Join(failpoints, ",")}
		}
		w := startWorkerProcEnv(t, bin, env, wid, dir, filepath.Join(logDir, fmt.Sprintf("%02d-%s.log", nextID, wid)), extra)
		w.armed = failpoints
		mu.Lock()
		procs[wid] = w
		incarnations = append(incarnations, w)
		mu.Unlock()
		return w
	}
	// The first two processes carry one kill failpoint each, the third the zombie; every
	// restart is armed with the failpoints that have not fired yet. Failpoints are armed by
	// time (ACTION@+DURATION: the first pass that long after the process started), since the
	// rate of passes depends on how many actives a process holds.
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	spawn("w1", t.TempDir(), []string{"commit.after-flush=kill@+12s"})
	spawn("w2", t.TempDir(), []string{"commit.after-append=kill@+18s"})
	spawn("w3", t.TempDir(), []string{zombiePoint + "=zombie:8s@+8s"})
	env.waitAssigned(t, ctx, appName, 3)
	fired := func() map[string]int {
		out := map[string]int{}
		mu.Lock()
		defer mu.Unlock()
		for _, w := range incarnations {
			for _, fp := range w.firedPoints() {
				out[fp]++
			}
		}
		return out
	}
	armed := func() []string {
		f := fired()
		var out []string
		for _, fp := range killFailpoints {
			switch {
			case f[fp] > 0:
			case fp == zombiePoint:
				out = append(out, fmt.Sprintf("%s=zombie:8s@+%ds", fp, 6+rng.IntN(4)))
			default:
				out = append(out, fmt.Sprintf("%s=kill@+%ds", fp, 8+rng.IntN(6)))
			}
		}
		return out
	}

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
	t.Logf("app %s (%d standbys) on 3 worker processes; changelogs %v compacting aggressively", appName, standbys, changelogs)

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

	start := time.Now()
	kills, fpKills, stops, restarts := 0, 0, 0, 0
	// restart brings a dead worker back, alternately with the same id and data dir and with a
	// fresh id and an empty dir, armed with the failpoints that have not fired yet.
	restart := func(w *workerProc, why string) {
		mu.Lock()
		delete(procs, w.ID)
		mu.Unlock()
		restarts++
		if restarts%2 == 1 {
			t.Logf("%.1fs: %s; restart with the same id and data dir", time.Since(start).Seconds(), why)
			spawn(w.ID, w.Dir, armed())
			return
		}
		nid := fmt.Sprintf("w%d", 3+restarts/2)
		t.Logf("%.1fs: %s; restart as %s with an empty dir", time.Since(start).Seconds(), why, nid)
		spawn(nid, t.TempDir(), armed())
	}
	// supervise restarts the workers that killed themselves at a failpoint.
	supervise := func() {
		mu.Lock()
		var dead []*workerProc
		for _, w := range procs {
			w.mu.Lock()
			byTest := w.killed
			w.mu.Unlock()
			if !w.Alive() && !byTest {
				dead = append(dead, w)
			}
		}
		mu.Unlock()
		sort.Slice(dead, func(i, j int) bool { return dead[i].ID < dead[j].ID })
		for _, w := range dead {
			fpKills++
			restart(w, fmt.Sprintf("%s killed itself at failpoint %v", w.ID, w.firedPoints()))
		}
	}
	// sleepSupervised waits until at, restarting failpoint victims meanwhile.
	sleepSupervised := func(at time.Time) {
		for time.Now().Before(at) {
			supervise()
			select {
			case <-time.After(min(200*time.Millisecond, time.Until(at))):
			case <-ctx.Done():
				t.Fatal(ctx.Err())
			}
		}
		supervise()
	}
	// zombieArmed: the process will turn zombie (its fault is its own): spare it if possible.
	zombieArmed := func(w *workerProc) bool {
		for _, a := range w.armed {
			if strings.HasPrefix(a, zombiePoint+"=") {
				return true
			}
		}
		return false
	}
	// pickActive picks a live worker holding an active, not a zombie, preferably not one
	// armed to become one.
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
		zombieFired := fired()[zombiePoint] > 0
		mu.Lock()
		defer mu.Unlock()
		var cands []*workerProc
		for wid, w := range procs {
			if holders[wid] && w.Alive() && !slices.Contains(w.firedPoints(), zombiePoint) {
				cands = append(cands, w)
			}
		}
		sort.Slice(cands, func(i, j int) bool { return cands[i].ID < cands[j].ID })
		if spared := slices.DeleteFunc(slices.Clone(cands), zombieArmed); len(spared) > 0 && !zombieFired {
			cands = spared
		}
		if len(cands) == 0 {
			return nil
		}
		return cands[rng.IntN(len(cands))]
	}

	// Scheduled faults, spread over the production time: K kill -9s, and one SIGSTOP after
	// the first; the failpoints fire on their own meanwhile.
	faults := killCount + 1
	for f := 0; f < faults; f++ {
		sleepSupervised(start.Add(produceFor * time.Duration(f+1) / time.Duration(faults+1)))
		var w *workerProc
		for w == nil {
			if w = pickActive(); w == nil {
				sleepSupervised(time.Now().Add(200 * time.Millisecond))
			}
		}
		if f == 1 { // the pause: past the 3 s lease, then resume
			t.Logf("%.1fs: SIGSTOP %s for 7s", time.Since(start).Seconds(), w.ID)
			w.Signal(syscall.SIGSTOP)
			sleepSupervised(time.Now().Add(7 * time.Second))
			w.Signal(syscall.SIGCONT)
			stops++
			continue
		}
		w.kill()
		kills++
		sleepSupervised(time.Now().Add(time.Second))
		restart(w, "kill -9 "+w.ID)
	}
	for {
		select {
		case err := <-produced:
			if err != nil {
				t.Fatalf("producing: %v", err)
			}
		case <-time.After(200 * time.Millisecond):
			supervise()
			continue
		}
		break
	}
	t.Logf("%.1fs: produced %d records over %d keys", time.Since(start).Seconds(), records, len(want))

	// Every failpoint fired at least once (the zombie needs commits with changes, so it must
	// have fired while input was flowing).
	fpDeadline := time.Now().Add(2 * time.Minute)
	extraRNG, extra := rand.New(rand.NewPCG(3, 4)), 0
	for {
		supervise()
		f := fired()
		var missing []string
		for _, fp := range killFailpoints {
			if f[fp] == 0 {
				missing = append(missing, fp)
			}
		}
		if len(missing) == 0 {
			break
		}
		if slices.Contains(missing, zombiePoint) || time.Now().After(fpDeadline) {
			t.Fatalf("failpoints that never fired: %v (fired: %v); worker logs in %s", missing, f, logDir)
		}
		// A commit-path failpoint passes only on commits with changes: a process restarted
		// late in the run may still be waiting for its arming time when production ends, so
		// keep a trickle of input flowing (counted in the reference) until it fires.
		for range 20 {
			k := fmt.Sprintf("k%04d", extraRNG.IntN(keys))
			want[k]++
			if err := p.SendAsync(ctx, topics.Record{Topic: input, Key: []byte(k), Value: []byte(strconv.Itoa(records + extra))}, nil); err != nil {
				t.Fatalf("producing: %v", err)
			}
			extra++
		}
		if err := p.Flush(ctx); err != nil {
			t.Fatalf("producing: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if extra > 0 {
		t.Logf("%.1fs: %d more records sent while waiting for the failpoints", time.Since(start).Seconds(), extra)
		records += extra
	}

	// Wait until all input is consumed: the app group's lag is 0 on both topics.
	group := cluster.ConsumerGroup(appName)
	lagCtx, lagCancel := context.WithTimeout(ctx, 3*time.Minute)
	defer lagCancel()
	for {
		supervise()
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

	// Read the tables from their owners (committed state over the TableService).
	scanTable := func(table string) (map[string]int, error) {
		out := map[string]int{}
		mu.Lock()
		var live []*workerProc
		for _, w := range procs {
			if w.Alive() {
				live = append(live, w)
			}
		}
		mu.Unlock()
		for part := range 4 {
			served := false
			for _, w := range live {
				c := weirv1connect.NewTableServiceClient(servicetest.HTTP1Client(t), "http://"+w.Addr, connect.WithProtoJSON())
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
						return nil, fmt.Errorf("scan %s/%d on %s: %w", table, part, w.ID, err)
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
	diff := func(table string, got map[string]int) []string {
		var bad []string
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
		return bad
	}
	compare := func() ([]string, error) {
		var bad []string
		for _, table := range tableNames {
			got, err := scanTable(table)
			if err != nil {
				return nil, err
			}
			bad = append(bad, diff(table, got)...)
		}
		sort.Strings(bad)
		return bad, nil
	}
	var bad []string
	deadline := time.Now().Add(30 * time.Second)
	for {
		var err error
		bad, err = compare()
		if err == nil && len(bad) == 0 {
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

	// A fresh store (new dir, nothing local) rebuilt from the changelogs alone, by the code
	// every restore and standby runs, holds the same tables.
	rebuilt, err := rebuildTables(ctx, t, changelogs, 4, tableNames)
	if err != nil {
		t.Fatalf("rebuilding the tables from the changelogs: %v", err)
	}
	var rebuildBad []string
	for _, table := range tableNames {
		rebuildBad = append(rebuildBad, diff(table, rebuilt[table])...)
	}
	sort.Strings(rebuildBad)

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

	// Repairs: the tables package logs each stale batch it repairs (the workers' counters die
	// with them, their logs do not).
	repairs := 0
	mu.Lock()
	logs := slices.Clone(incarnations)
	mu.Unlock()
	for _, w := range logs {
		b, err := os.ReadFile(w.LogPath)
		if err != nil {
			t.Fatal(err)
		}
		// Found as a gap before an append, or skipped by a restore and repaired in its fence.
		repairs += strings.Count(string(b), "repairing a foreign batch") + strings.Count(string(b), "repairing skipped batches in the fence")
	}
	f := fired()
	summary := fmt.Sprintf("records=%d kills=%d mismatches=%d standbys=%d scheduled_kills=%d failpoint_kills=%d pauses=%d zombies=%d repairs=%d owner_mismatches=%d rebuild_mismatches=%d",
		records, kills+fpKills, len(bad)+len(rebuildBad), standbys, kills, fpKills, stops, f[zombiePoint], repairs, len(bad), len(rebuildBad))
	t.Log(summary)
	fmt.Println(summary)
	for _, fp := range killFailpoints {
		t.Logf("failpoint %s fired %d times", fp, f[fp])
	}
	if repairs == 0 {
		t.Errorf("no stale batch was repaired although the zombie fired %d times; worker logs in %s", f[zombiePoint], logDir)
	}
	if len(bad)+len(rebuildBad) > 0 {
		all := append(bad, rebuildBad...)
		if len(all) > 40 {
			all = all[:40]
		}
		t.Errorf("tables are not exact (%d mismatches at the owners, %d rebuilt), first: %s\nworker logs in %s", len(bad), len(rebuildBad), strings.Join(all, "; "), logDir)
	}
	if t.Failed() {
		keep := filepath.Join(os.TempDir(), "weir-kill-logs-"+sc.id)
		if err := os.CopyFS(keep, os.DirFS(logDir)); err == nil {
			t.Logf("worker logs kept in %s", keep)
		}
	}
}

// rebuildTables restores every partition of the changelogs into a new, empty store (as a
// fresh worker does) and returns each table's numeric values by key.
func rebuildTables(ctx context.Context, t *testing.T, changelogs []string, partitions int, tableNames []string) (map[string]map[string]int, error) {
	store, err := tables.Open(t.TempDir(), tables.Options{})
	if err != nil {
		return nil, err
	}
	defer store.Close()
	k := tablesKafka(t)
	rctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var sbs []*tables.Standby
	errs := make(chan error, len(changelogs)*partitions)
	for _, cl := range changelogs {
		for p := range partitions {
			sb, err := tables.OpenStandby(store, k, tables.StandbyConfig{Topic: cl, Partition: int32(p), Logger: tablesLog})
			if err != nil {
				cancel()
				wg.Wait()
				return nil, err
			}
			sbs = append(sbs, sb)
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := sb.Run(rctx); err != nil {
					errs <- err
				}
			}()
		}
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		caughtUp := true
		for _, sb := range sbs {
			if sb.Lag() != 0 {
				caughtUp = false
			}
		}
		if caughtUp {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			wg.Wait()
			return nil, fmt.Errorf("the rebuild did not catch up within 2 minutes")
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		return nil, err
	}
	out := map[string]map[string]int{}
	for _, table := range tableNames {
		out[table] = map[string]int{}
		for _, cl := range changelogs {
			for p := range partitions {
				var derr error
				err := store.Scan(cl, int32(p), table, nil, func(key, value []byte) bool {
					v, _ := tableservice.DecodeValue(value)
					if v == nil {
						derr = fmt.Errorf("%s[%s] in %s/%d is not a number: %q", table, key, cl, p, value)
						return false
					}
					out[table][string(key)] = int(v.GetNumberValue())
					return true
				})
				if err = errors.Join(err, derr); err != nil {
					return nil, err
				}
			}
		}
	}
	return out, nil
}
