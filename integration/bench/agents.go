package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"connectrpc.com/connect"
	clientv3 "go.etcd.io/etcd/client/v3"

	weirv1 "github.com/weirhq/weir/gen/weir/v1"
	"github.com/weirhq/weir/gen/weir/v1/weirv1connect"
	"github.com/weirhq/weir/integration/harness"
	"github.com/weirhq/weir/libs/agents"
	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/libs/topics"
	ctlcli "github.com/weirhq/weir/services/controller/cli"
)

// AgentsConfig sizes the agent throughput benchmark.
type AgentsConfig struct {
	Client        topics.ClientConfig
	EtcdEndpoints []string
	Records       int
	Runs          int
	// ID makes topic, app and etcd names unique to this invocation.
	ID string
	// WorkerBin is a built services/worker binary; Dir holds worker data.
	WorkerBin string
	Dir       string
	// CPUProfile, when set, receives a CPU profile of the raw loop's runs.
	CPUProfile string
	// Only, when not empty, runs just these variants (raw, stateless, stateful), to profile
	// one; the full comparison needs all three.
	Only []string
	// LogDir, when set, receives the controller's and the worker's full logs (controller.log,
	// worker.log), e.g. to see where an app's startup time goes.
	LogDir string
	Logger *slog.Logger
}

// benchValue is one input record's JSON value (about 100 bytes).
type benchValue struct {
	User string `json:"user"`
	Page string `json:"page"`
	Ms   int    `json:"ms"`
	Pad  string `json:"pad"`
}

// benchOut is the mapped record, in the raw loop and in the HCL apps.
type benchOut struct {
	User string `json:"user"`
	Page string `json:"page"`
	Ms   int    `json:"ms"`
}

const (
	agentsPartitions = 8
	agentsUsers      = 10_000
	agentsPages      = 50 // page "/p/0" is filtered out: 1 record in 50
)

type runResult struct {
	rps     float64
	cpuPerM float64 // CPU-seconds per million input records
	// cpuWindow (apps only) is the worker's CPU-seconds per million input records over the
	// timed window (first output → done) alone, without the startup's CPU: the records in
	// the window are estimated from the outputs not yet produced when it opened.
	cpuWindow float64
	startup   float64 // seconds from apply to the first output (apps only)
	// tail (apps only) is the part of the timed window after every output was in the
	// output topic, until the group's committed offsets showed no lag (the worker commits
	// them to the group at most once a second while busy).
	tail float64
}

// RunAgents pre-loads an input topic and measures a raw consume → decode → filter → map →
// encode → produce loop, a stateless HCL agent and a count-by-key HCL agent on one worker
// process, each the median of cfg.Runs runs.
func RunAgents(ctx context.Context, cfg AgentsConfig, out io.Writer) error {
	admin, err := topics.NewAdmin(cfg.Client)
	if err != nil {
		return err
	}
	in := "bench-agents-" + cfg.ID + "-in"
	if _, err := admin.EnsureTopics(ctx, topics.TopicSpec{Name: in, Partitions: agentsPartitions}); err != nil {
		return err
	}
	defer admin.DeleteTopics(context.Background(), in)
	expected, err := preload(ctx, cfg, in)
	if err != nil {
		return fmt.Errorf("pre-loading: %w", err)
	}
	fmt.Fprintf(out, "records=%d runs=%d\n", cfg.Records, cfg.Runs)

	var raw, stateless, stateful []runResult
	// Raw first, before the controller runs in this process, so getrusage sees only the loop.
	var prof *os.File
	if cfg.CPUProfile != "" {
		if prof, err = os.Create(cfg.CPUProfile); err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(prof); err != nil {
			return err
		}
	}
	for r := range cfg.Runs {
		if !cfg.runs("raw") {
			break
		}
		res, err := rawRun(ctx, cfg, admin, in, fmt.Sprintf("bench-agents-%s-raw-%d", cfg.ID, r))
		if err != nil {
			return fmt.Errorf("raw run %d: %w", r, err)
		}
		cfg.Logger.Info("run", "variant", "raw", "run", r, "rps", res.rps, "cpu_s_per_M", res.cpuPerM)
		raw = append(raw, res)
	}
	if prof != nil {
		pprof.StopCPUProfile()
		prof.Close()
	}

	env, err := startStack(ctx, cfg)
	if err != nil {
		return err
	}
	defer env.stop()
	for _, variant := range []string{"stateless", "stateful"} {
		for r := range cfg.Runs {
			if !cfg.runs(variant) {
				break
			}
			res, err := env.appRun(ctx, admin, in, variant, r, int64(expected))
			if err != nil {
				return fmt.Errorf("%s run %d: %w", variant, r, err)
			}
			cfg.Logger.Info("run", "variant", variant, "run", r, "rps", res.rps, "cpu_s_per_M", res.cpuPerM,
				"cpu_window_s_per_M", res.cpuWindow, "startup_s", res.startup, "tail_s", res.tail)
			if variant == "stateless" {
				stateless = append(stateless, res)
			} else {
				stateful = append(stateful, res)
			}
		}
	}
	mr, ms, mf := median(raw), median(stateless), median(stateful)
	fmt.Fprintf(out, "raw=%.0f stateless=%.0f stateful=%.0f records/s\n", mr.rps, ms.rps, mf.rps)
	fmt.Fprintf(out, "cpu_raw=%.2f cpu_stateless=%.2f cpu_stateful=%.2f CPU-s/M records\n", mr.cpuPerM, ms.cpuPerM, mf.cpuPerM)
	fmt.Fprintf(out, "stateless/raw=%.0f%% stateful/raw=%.0f%% startup_stateless=%.2fs startup_stateful=%.2fs\n",
		100*ms.rps/mr.rps, 100*mf.rps/mr.rps, ms.startup, mf.startup)
	fmt.Fprintf(out, "cpu_window_stateless=%.2f cpu_window_stateful=%.2f CPU-s/M records (worker, first output to done)\n",
		ms.cpuWindow, mf.cpuWindow)
	return nil
}

func (cfg AgentsConfig) runs(variant string) bool {
	return len(cfg.Only) == 0 || slices.Contains(cfg.Only, variant)
}

// median takes the median of each figure separately (zero without runs).
func median(rs []runResult) runResult {
	if len(rs) == 0 {
		return runResult{}
	}
	pick := func(f func(runResult) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	return runResult{
		rps:       pick(func(r runResult) float64 { return r.rps }),
		cpuPerM:   pick(func(r runResult) float64 { return r.cpuPerM }),
		cpuWindow: pick(func(r runResult) float64 { return r.cpuWindow }),
		startup:   pick(func(r runResult) float64 { return r.startup }),
	}
}

// preload writes cfg.Records JSON values keyed by user and returns how many pass the filter.
func preload(ctx context.Context, cfg AgentsConfig, topic string) (int, error) {
	p, err := topics.NewProducer(topics.ProducerConfig{ClientConfig: cfg.Client})
	if err != nil {
		return 0, err
	}
	defer p.Close()
	pad := strings.Repeat("x", 40)
	pass := 0
	for i := range cfg.Records {
		v := benchValue{User: "u" + strconv.Itoa(i%agentsUsers), Page: "/p/" + strconv.Itoa(i%agentsPages), Ms: i % 5000, Pad: pad}
		if v.Page != "/p/0" {
			pass++
		}
		b, _ := json.Marshal(v)
		if err := p.SendAsync(ctx, topics.Record{Topic: topic, Key: []byte(v.User), Value: b}, nil); err != nil {
			return 0, err
		}
	}
	return pass, p.Flush(ctx)
}

func rusageCPU() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// rawRun is the practical limit: the same work as the stateless agent in plain Go on the
// topics library, with acks=all, lz4 and the dedup headers.
func rawRun(ctx context.Context, cfg AgentsConfig, admin *topics.Admin, in, outTopic string) (runResult, error) {
	if _, err := admin.EnsureTopics(ctx, topics.TopicSpec{Name: outTopic, Partitions: agentsPartitions}); err != nil {
		return runResult{}, err
	}
	defer admin.DeleteTopics(context.Background(), outTopic)
	c, err := topics.NewConsumer(topics.ConsumerConfig{ClientConfig: cfg.Client})
	if err != nil {
		return runResult{}, err
	}
	p, err := topics.NewProducer(topics.ProducerConfig{ClientConfig: cfg.Client, Compression: "lz4"})
	if err != nil {
		return runResult{}, err
	}
	defer p.Close()
	cctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); c.Run(cctx) }()
	defer func() { cancel(); wg.Wait() }()

	var sendErr error
	var mu sync.Mutex
	done := func(_ topics.Record, err error) {
		if err != nil {
			mu.Lock()
			sendErr = errors.Join(sendErr, err)
			mu.Unlock()
		}
	}
	cpu0, start := rusageCPU(), time.Now()
	for i := range agentsPartitions {
		c.Assign(topics.TopicPartition{Topic: in, Partition: int32(i)}, topics.FirstOffset)
	}
	task := make([][]byte, agentsPartitions)
	source := make([][]byte, agentsPartitions)
	for i := range task {
		task[i] = []byte("bench/raw/" + strconv.Itoa(i))
		source[i] = []byte(in + "/" + strconv.Itoa(i))
	}
	seq0 := []byte("0")
	n := 0
	for n < cfg.Records {
		b, err := c.Poll(ctx)
		if err != nil {
			return runResult{}, fmt.Errorf("after %d records: %w", n, err)
		}
		for _, r := range b.Records {
			n++
			var v benchValue
			if err := json.Unmarshal(r.Value, &v); err != nil {
				return runResult{}, err
			}
			if v.Page == "/p/0" {
				continue
			}
			val, err := json.Marshal(benchOut{User: v.User, Page: v.Page, Ms: v.Ms})
			if err != nil {
				return runResult{}, err
			}
			rec := topics.Record{Topic: outTopic, Key: r.Key, Value: val, Time: r.Time, Headers: []topics.Header{
				{Key: agents.HeaderTask, Value: task[b.Partition]},
				{Key: agents.HeaderSource, Value: source[b.Partition]},
				{Key: agents.HeaderOffset, Value: strconv.AppendInt(nil, r.Offset, 10)},
				{Key: agents.HeaderSeq, Value: seq0},
			}}
			if err := p.SendAsync(ctx, rec, done); err != nil {
				return runResult{}, err
			}
		}
	}
	if err := p.Flush(ctx); err != nil {
		return runResult{}, err
	}
	el, cpu := time.Since(start).Seconds(), rusageCPU()-cpu0
	mu.Lock()
	defer mu.Unlock()
	if sendErr != nil {
		return runResult{}, sendErr
	}
	return runResult{rps: float64(cfg.Records) / el, cpuPerM: cpu / float64(cfg.Records) * 1e6}, nil
}

var agentsReadyLine = regexp.MustCompile(`msg=ready .*\baddr=(\S+)`)

// stack is an in-process controller and one worker process.
type stack struct {
	cfg     AgentsConfig
	prefix  string
	ctl     weirv1connect.ControllerServiceClient
	stopCtl context.CancelFunc
	ctlDone chan struct{}
	worker  *harness.Worker
	etcd    *clientv3.Client
}

// logFile opens name in cfg.LogDir, or returns nil without a LogDir.
func (s *stack) logFile(name string) (*os.File, error) {
	if s.cfg.LogDir == "" {
		return nil, nil
	}
	if err := os.MkdirAll(s.cfg.LogDir, 0o755); err != nil {
		return nil, fmt.Errorf("creating the log directory: %w", err)
	}
	f, err := os.Create(filepath.Join(s.cfg.LogDir, name))
	if err != nil {
		return nil, fmt.Errorf("creating %s: %w", name, err)
	}
	return f, nil
}

// readyAddr reads a service's stderr until its ready line, then drains the rest (keeping a
// tail for errors, and every line in full when log is not nil; log is closed at the end).
func readyAddr(r io.Reader, tail *harness.LogTail, log *os.File) <-chan string {
	ch := make(chan string, 1)
	go func() {
		if log != nil {
			defer log.Close()
		}
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		sent := false
		for sc.Scan() {
			tail.Add(sc.Text())
			if log != nil {
				fmt.Fprintln(log, sc.Text())
			}
			if m := agentsReadyLine.FindStringSubmatch(sc.Text()); m != nil && !sent {
				ch <- m[1]
				sent = true
			}
		}
		io.Copy(io.Discard, r)
		close(ch)
	}()
	return ch
}

func startStack(ctx context.Context, cfg AgentsConfig) (*stack, error) {
	s := &stack{cfg: cfg, prefix: "/weir-bench/agents-" + cfg.ID, ctlDone: make(chan struct{})}
	etcd, err := clientv3.New(clientv3.Config{Endpoints: cfg.EtcdEndpoints, DialTimeout: 5 * time.Second})
	if err != nil {
		return nil, err
	}
	s.etcd = etcd
	brokers, endpoints := strings.Join(cfg.Client.Brokers, ","), strings.Join(cfg.EtcdEndpoints, ",")
	cctx, cancel := context.WithCancel(context.Background())
	s.stopCtl = cancel
	pr, pw := io.Pipe()
	ctlTail := &harness.LogTail{}
	ctlLog, err := s.logFile("controller.log")
	if err != nil {
		return nil, err
	}
	addrs := readyAddr(pr, ctlTail, ctlLog)
	go func() {
		defer close(s.ctlDone)
		ctlcli.RunContext(cctx, []string{"serve", "--listen", "127.0.0.1:0", "--instance-id", "bench-c1",
			"--etcd-prefix", s.prefix, "--etcd-endpoints", endpoints, "--kafka-brokers", brokers}, io.Discard, pw)
		pw.Close()
	}()
	select {
	case addr, ok := <-addrs:
		if !ok {
			s.stop()
			return nil, fmt.Errorf("controller exited before ready:\n%s", ctlTail)
		}
		s.ctl = weirv1connect.NewControllerServiceClient(http.DefaultClient, "http://"+addr, connect.WithProtoJSON())
	case <-time.After(30 * time.Second):
		s.stop()
		return nil, fmt.Errorf("controller not ready after 30s:\n%s", ctlTail)
	}

	logDir := cfg.LogDir
	if logDir == "" {
		logDir = cfg.Dir // removed with the rest at the end
	}
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		s.stop()
		return nil, fmt.Errorf("creating the log directory: %w", err)
	}
	s.worker, err = harness.StartWorker(harness.WorkerConfig{
		Bin: cfg.WorkerBin, ID: "bench-w1", EtcdPrefix: s.prefix, EtcdEndpoints: cfg.EtcdEndpoints, Brokers: cfg.Client.Brokers,
		DataDir: filepath.Join(cfg.Dir, "worker-data"), LogPath: filepath.Join(logDir, "worker.log"), ReadyTimeout: 30 * time.Second,
	})
	if err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

func (s *stack) stop() {
	if s.worker != nil {
		if err := s.worker.Stop(15 * time.Second); err != nil {
			s.cfg.Logger.Warn("stopping the worker", "err", err)
		}
	}
	if s.stopCtl != nil {
		s.stopCtl()
		select {
		case <-s.ctlDone:
		case <-time.After(15 * time.Second):
		}
	}
	if s.etcd != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s.etcd.Delete(ctx, cluster.Layout{Prefix: s.prefix}.All(), clientv3.WithPrefix())
		cancel()
		s.etcd.Close()
	}
}

// procCPU returns a process's user+system CPU seconds from /proc/PID/stat.
func procCPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	// After the command: state is field 3, utime 14, stime 15 (1-based over the whole line).
	ut, err1 := strconv.ParseFloat(f[11], 64)
	st, err2 := strconv.ParseFloat(f[12], 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return (ut + st) / 100, nil // USER_HZ is 100 on Linux
}

const appModel = `
model "View" {
  field "user" {
    type = string
  }
  field "page" {
    type = string
  }
  field "ms" {
    type = number
  }
  field "pad" {
    type = string
  }
}
`

// appSource is the HCL app of a variant: stateless filter → map → emit, or stateful filter →
// count by the source key (user, so no repartition) into a table → emit the new count.
func appSource(app, in, outTopic, variant string) string {
	var agent string
	if variant == "stateless" {
		agent = `
agent "pipe" {
  from = topic.views
  filter {
    when = value.page != "/p/0"
  }
  map {
    value = { user = value.user, page = value.page, ms = value.ms }
  }
  emit {
    to = topic.out
  }
}
`
	} else {
		agent = `
table "counts" {
  value   = number
  default = 0
}

agent "pipe" {
  from = topic.views
  filter {
    when = value.page != "/p/0"
  }
  aggregate "count" {
    into = table.counts
  }
  emit {
    to = topic.out
  }
}
`
	}
	return fmt.Sprintf(`app %q {
  partitions  = %d
  replication = 1
}
%s
topic "views" {
  name  = %q
  value = model.View
}

topic "out" {
  name  = %q
  value = json
}
%s`, app, agentsPartitions, appModel, in, outTopic, agent)
}

// appRun applies a fresh app and waits until its group has no lag on the input and every
// expected output is in the output topic.
func (s *stack) appRun(ctx context.Context, admin *topics.Admin, in, variant string, run int, expected int64) (runResult, error) {
	app := fmt.Sprintf("bench_%s_%s_%d", s.cfg.ID, variant, run)
	outTopic := fmt.Sprintf("bench-agents-%s-%s-%d", s.cfg.ID, variant, run)
	if _, err := admin.EnsureTopics(ctx, topics.TopicSpec{Name: outTopic, Partitions: agentsPartitions}); err != nil {
		return runResult{}, err
	}
	defer admin.DeleteTopics(context.Background(), outTopic)
	src := &weirv1.AppSource{Files: []*weirv1.SourceFile{{Name: "app.hcl", Content: appSource(app, in, outTopic, variant)}}}
	pid := s.worker.Pid()
	cpu0, err := procCPU(pid)
	if err != nil {
		return runResult{}, err
	}
	start := time.Now()
	s.cfg.Logger.Info("applying", "app", app)
	if _, err := s.ctl.Apply(ctx, connect.NewRequest(&weirv1.ApplyRequest{Source: src, Author: "bench-agents"})); err != nil {
		return runResult{}, fmt.Errorf("apply: %w", err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := s.ctl.Delete(dctx, connect.NewRequest(&weirv1.DeleteRequest{App: app, DeleteTopics: true})); err != nil {
			s.cfg.Logger.Warn("deleting app", "app", app, "err", err)
		}
	}()
	group := cluster.ConsumerGroup(app)
	var first time.Time
	var cpuFirst float64
	var producedFirst int64
	var allOut time.Time // when every expected output was in the output topic
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(10 * time.Minute)
	for {
		select {
		case <-ctx.Done():
			return runResult{}, ctx.Err()
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			return runResult{}, fmt.Errorf("not done after 10 minutes")
		}
		outs, err := admin.ListOffsets(ctx, outTopic)
		if err != nil {
			continue
		}
		var produced int64
		for _, r := range outs {
			produced += r.End
		}
		if produced > 0 && first.IsZero() {
			first = time.Now()
			if cpuFirst, err = procCPU(pid); err != nil {
				return runResult{}, err
			}
			producedFirst = produced
			s.cfg.Logger.Info("first output", "app", app, "startup_s", first.Sub(start).Seconds())
		}
		if produced < expected {
			continue
		}
		if allOut.IsZero() {
			allOut = time.Now()
		}
		lag, err := admin.Lag(ctx, group, in)
		if err != nil {
			continue
		}
		var total int64
		for _, l := range lag {
			total += l.Lag
		}
		if total == 0 {
			break
		}
	}
	end := time.Now()
	cpu1, err := procCPU(pid)
	if err != nil {
		return runResult{}, err
	}
	res := runResult{
		rps:     float64(s.cfg.Records) / end.Sub(first).Seconds(),
		cpuPerM: (cpu1 - cpu0) / float64(s.cfg.Records) * 1e6,
		startup: first.Sub(start).Seconds(),
		tail:    end.Sub(allOut).Seconds(),
	}
	if inWindow := float64(expected-producedFirst) / float64(expected) * float64(s.cfg.Records); inWindow > 0 {
		res.cpuWindow = (cpu1 - cpuFirst) / inWindow * 1e6
	}
	return res, nil
}
