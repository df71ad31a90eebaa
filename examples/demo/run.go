package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"connectrpc.com/connect"
	"github.com/twmb/franz-go/pkg/kfake"
	"google.golang.org/protobuf/types/known/structpb"

	weirv1 "github.com/weirhq/weir/gen/weir/v1"
	"github.com/weirhq/weir/gen/weir/v1/weirv1connect"
	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/libs/config"
	"github.com/weirhq/weir/libs/devstack"
	"github.com/weirhq/weir/libs/topics"
	ctlnode "github.com/weirhq/weir/services/controller/node"
	"github.com/weirhq/weir/services/controller/server"
	webnode "github.com/weirhq/weir/services/web/node"
	workernode "github.com/weirhq/weir/services/worker/node"
)

const (
	appName   = "pageviews"
	tableName = "views_per_minute"
	viewTopic = "page_views"
	queryPage = "/home"
	// viewsPerSecond is the generator's steady rate.
	viewsPerSecond = 20
	// stopBudget bounds a clean stop; past it the demo exits with an error.
	stopBudget = 9 * time.Second
)

// run starts the stack, prints where to look, and stops everything when ctx ends.
func run(ctx context.Context, out io.Writer) error {
	dir, err := demoDir()
	if err != nil {
		return err
	}
	// Fresh every run: the etcd member, the broker's log and the workers' tables start empty.
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("clearing %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	logFile, err := os.Create(filepath.Join(dir, "demo.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	log := slog.New(slog.NewTextHandler(logFile, &slog.HandlerOptions{Level: slog.LevelInfo}))
	source, err := appSource()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "weir demo: starting (data and logs in %s)\n", dir)

	// Everything below stops in reverse order of start; stops are bounded by stopBudget.
	var stops []func()
	stopAll := func() {
		done := make(chan struct{})
		go func() {
			for i := len(stops) - 1; i >= 0; i-- {
				stops[i]()
			}
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(stopBudget):
			fmt.Fprintln(os.Stderr, "demo: stopping took longer than", stopBudget)
			os.Exit(1)
		}
	}
	defer stopAll()

	etcd, err := devstack.StartEtcd(ctx, devstack.EtcdConfig{Dir: filepath.Join(dir, "etcd"), LogLevel: "fatal"})
	if err != nil {
		return err
	}
	stops = append(stops, etcd.Close)

	brokers := topics.ParseBrokers(os.Getenv("KAFKA_BROKERS"))
	kafkaDesc := "Kafka at " + os.Getenv("KAFKA_BROKERS") + " (KAFKA_BROKERS)"
	if len(brokers) == 0 {
		kdir := filepath.Join(dir, "kafka")
		kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DataDir(kdir), kfake.ClusterID("weir-demo"))
		if err != nil {
			return fmt.Errorf("starting the dev broker (kfake): %w", err)
		}
		stops = append(stops, kc.Close)
		brokers = kc.ListenAddrs()
		kafkaDesc = fmt.Sprintf("in-process dev broker (kfake) at %s, data in %s", brokers[0], kdir)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = devstack.WaitKafka(wctx, brokers[0])
	cancel()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "weir demo: etcd at %s (embedded); %s\n", etcd.Endpoint(), kafkaDesc)

	svc := func(listen, sub string) config.Service {
		s := config.Defaults(listen)
		s.DataDir = filepath.Join(dir, sub)
		s.Kafka.Brokers = brokers
		s.Kafka.ClientID = "weir-demo"
		s.Etcd.Endpoints = []string{etcd.Endpoint()}
		return s
	}
	// The services run under their own contexts so that they stop in order: the generator,
	// workers and web first, then the controller.
	var (
		errMu    sync.Mutex
		firstErr error
	)
	failed := make(chan struct{})
	fail := func(what string, err error) {
		if err == nil || errors.Is(err, context.Canceled) {
			return
		}
		errMu.Lock()
		defer errMu.Unlock()
		if firstErr == nil {
			firstErr = fmt.Errorf("%s: %w", what, err)
			close(failed)
		}
	}
	start := func(what string, fn func(context.Context) error) {
		sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan struct{})
		go func() {
			defer close(done)
			fail(what, fn(sctx))
		}()
		stops = append(stops, func() { cancel(); <-done })
	}

	ctlAddr := pickAddr(ctlnode.DefaultListen)
	ctl, err := ctlnode.New(ctlnode.Config{
		Service: svc(ctlAddr, "controller"), ID: "demo-controller", EtcdPrefix: cluster.DefaultPrefix,
		SessionTTL: 5 * time.Second, MaxRequestBytes: server.DefaultMaxRequestBytes, ReleaseWait: 5 * time.Second,
	}, log.With("component", "controller"))
	if err != nil {
		return err
	}
	start("controller", ctl.Run)

	for i, listen := range []string{workernode.DefaultListen, "127.0.0.1:7073"} {
		cfg := workernode.Config{
			Service: svc(pickAddr(listen), "workers"), ID: fmt.Sprintf("demo-worker-%d", i+1), Capacity: 1,
			EtcdPrefix: cluster.DefaultPrefix, LeaseTTL: 3 * time.Second, DrainTimeout: 2 * time.Second,
			CommitInterval: 100 * time.Millisecond,
		}
		wlog := log.With("component", cfg.ID)
		start(cfg.ID, func(ctx context.Context) error { return workernode.Run(ctx, cfg, nil, wlog) })
	}

	web, err := webnode.New(webnode.Config{
		Service: svc(pickAddr(webnode.DefaultListen), "web"), ID: "demo-web", EtcdPrefix: cluster.DefaultPrefix,
		QueryTimeout: 5 * time.Second,
	}, log.With("component", "web"))
	if err != nil {
		return err
	}
	webBound := make(chan string, 1)
	start("web", func(ctx context.Context) error { return web.Run(ctx, webBound) })
	var webAddr string
	select {
	case webAddr = <-webBound:
	case <-failed:
		return firstErr
	case <-ctx.Done():
		return nil
	}

	if err := apply(ctx, ctlAddr, source, failed); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		errMu.Lock()
		defer errMu.Unlock()
		return errors.Join(err, firstErr)
	}
	fmt.Fprintf(out, "weir demo: applied examples/pageviews/app.hcl through the controller at %s\n", ctlAddr)

	p, err := topics.NewProducer(topics.ProducerConfig{ClientConfig: topics.ClientConfig{Brokers: brokers, ClientID: "weir-demo-generator"}})
	if err != nil {
		return err
	}
	start("generator", func(ctx context.Context) error { return generate(ctx, p, log) })

	if err := waitCounts(ctx, webAddr, failed); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	fmt.Fprintf(out, "weir demo: %d page views/s flowing into app %q on a controller, 2 workers and web\n", viewsPerSecond, appName)
	fmt.Fprintf(out, "Dashboard: http://%s/\n", webAddr)
	fmt.Fprintf(out, "Live counts: %s\n", curlCommand(webAddr))
	fmt.Fprintf(out, "Press Ctrl-C to stop (demo pid %d).\n", os.Getpid())

	select {
	case <-ctx.Done():
		fmt.Fprintln(out, "weir demo: stopping")
		stopAll()
		stops = nil
		fmt.Fprintln(out, "weir demo: stopped")
		return nil
	case <-failed:
		errMu.Lock()
		defer errMu.Unlock()
		return firstErr
	}
}

// demoDir is $WEIR_CACHE/demo, or .weir-demo in the working directory.
func demoDir() (string, error) {
	if c := os.Getenv("WEIR_CACHE"); c != "" {
		return filepath.Abs(filepath.Join(c, "demo"))
	}
	return filepath.Abs(".weir-demo")
}

// appSource reads the page-views example, from the working directory (the repository root,
// as `make demo` runs) or next to this source file.
func appSource() (*weirv1.AppSource, error) {
	candidates := []string{filepath.Join("examples", "pageviews", "app.hcl")}
	if _, file, _, ok := runtime.Caller(0); ok {
		candidates = append(candidates, filepath.Join(filepath.Dir(file), "..", "pageviews", "app.hcl"))
	}
	for _, c := range candidates {
		b, err := os.ReadFile(c)
		if err == nil {
			return &weirv1.AppSource{Files: []*weirv1.SourceFile{{Name: "app.hcl", Content: string(b)}}}, nil
		}
	}
	return nil, fmt.Errorf("examples/pageviews/app.hcl not found: run the demo from the repository root")
}

// pickAddr returns preferred if it is free, else a free loopback port.
func pickAddr(preferred string) string {
	if l, err := net.Listen("tcp", preferred); err == nil {
		l.Close()
		return preferred
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "127.0.0.1:0"
	}
	defer l.Close()
	return l.Addr().String()
}

// apply applies the app over the controller's Connect API, retrying until a leader is
// elected and serves.
func apply(ctx context.Context, ctlAddr string, src *weirv1.AppSource, failed <-chan struct{}) error {
	c := weirv1connect.NewControllerServiceClient(http.DefaultClient, "http://"+ctlAddr, connect.WithProtoJSON())
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		_, err := c.Apply(ctx, connect.NewRequest(&weirv1.ApplyRequest{Source: src, Author: "make demo"}))
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("applying examples/pageviews/app.hcl: %w", err)
		case <-failed:
			return fmt.Errorf("applying examples/pageviews/app.hcl: %w", err)
		case <-time.After(300 * time.Millisecond):
		}
	}
}

var pages = []string{"/home", "/pricing", "/docs", "/blog", "/signup", "/about"}

// generate produces page views at viewsPerSecond until ctx ends: /home gets about a third of
// them, the other pages share the rest.
func generate(ctx context.Context, p *topics.Producer, log *slog.Logger) error {
	defer p.Close()
	tick := time.NewTicker(time.Second / viewsPerSecond)
	defer tick.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		page := pages[n%len(pages)]
		if n%3 == 0 {
			page = queryPage
		}
		user := fmt.Sprintf("u%d", n%37)
		value := fmt.Sprintf(`{"user":%q,"page":%q,"at":%q}`, user, page, time.Now().UTC().Format(time.RFC3339Nano))
		err := p.SendAsync(ctx, topics.Record{Topic: viewTopic, Key: []byte(user), Value: []byte(value)}, func(_ topics.Record, err error) {
			if err != nil && ctx.Err() == nil {
				log.Warn("generator: producing a page view", "err", err)
			}
		})
		if err != nil && ctx.Err() == nil {
			log.Warn("generator: producing a page view", "err", err)
		}
	}
}

func curlBody() string {
	return fmt.Sprintf(`{"app":%q,"table":%q,"key":%q}`, appName, tableName, queryPage)
}

func curlCommand(webAddr string) string {
	return fmt.Sprintf(`curl -s -X POST -H 'Content-Type: application/json' -d '%s' http://%s/weir.v1.QueryService/GetTableValue`, curlBody(), webAddr)
}

// waitCounts waits until web answers the printed query with a count, so the curl works the
// moment it is shown.
func waitCounts(ctx context.Context, webAddr string, failed <-chan struct{}) error {
	c := weirv1connect.NewQueryServiceClient(http.DefaultClient, "http://"+webAddr, connect.WithProtoJSON())
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	var last error
	for {
		res, err := c.GetTableValue(ctx, connect.NewRequest(&weirv1.GetTableValueRequest{
			App: appName, Table: tableName, Key: structpb.NewStringValue(queryPage),
		}))
		if err == nil && res.Msg.Found && len(res.Msg.Windows) > 0 {
			return nil
		}
		if err == nil {
			err = errors.New("no count yet")
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the first counts from web at %s: %v", webAddr, last)
		case <-failed:
			return fmt.Errorf("waiting for the first counts: a service failed (last query error: %v)", last)
		case <-time.After(500 * time.Millisecond):
		}
	}
}
