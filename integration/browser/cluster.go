//go:build integration

// Package browser holds the web service's end-to-end rig and its headless-Chromium test.
// Cluster starts, on the harness's real Kafka and etcd: an app version and topology stored in
// etcd, workers serving TableService in-process over real Stores whose tables are written
// through tables.Task on real changelog partitions, assignments published with
// cluster.Publisher, and the web service. integration/web_test.go uses it too.
package browser

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/weirhq/weir/integration/harness"
	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/libs/config"
	"github.com/weirhq/weir/libs/config/app"
	"github.com/weirhq/weir/libs/service"
	"github.com/weirhq/weir/libs/tables"
	"github.com/weirhq/weir/libs/topics"
	"github.com/weirhq/weir/services/web/node"
	"github.com/weirhq/weir/services/worker/tableservice"
)

// Partitions is the partition count of the rig's app.
const Partitions = 4

// Group is the task group holding the app's tables.
const Group = "count"

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// Log is where the rig's components log (warnings only).
var Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

const appSource = `
app "%s" {
  partitions = 4
}

topic "views" {
  value = json
}

table "counts" {
  value   = number
  default = 0
}

table "per_minute" {
  value   = number
  default = 0

  window "tumbling" {
    size    = "1m"
    grace   = "0s"
    expires = "1h"
  }
}

agent "count" {
  from = topic.views

  group_by {
    key = value.page
  }
  aggregate "count" {
    into = table.counts
  }
}

agent "window_count" {
  from = topic.views

  group_by {
    key = value.page
  }
  aggregate "count" {
    into = table.per_minute
  }
}
`

// Cluster is the rig.
type Cluster struct {
	t         *testing.T
	Etcd      *clientv3.Client
	Layout    cluster.Layout
	App       *app.App
	Changelog string
	Kafka     tables.Kafka
	Workers   map[string]*Worker
	WebURL    string // http://host:port

	mu      sync.Mutex
	current map[cluster.TaskKey]cluster.Assignment
}

// Worker is one in-process worker: a Store, what it holds, and its TableService.
type Worker struct {
	ID    string
	Addr  string
	Store *tables.Store
	Svc   *tableservice.Service
	mu    sync.Mutex
	held  map[int]held
}

type held struct {
	role       cluster.Role
	epoch, lag int64
}

// Hold sets what the worker holds of partition p ("" role: nothing).
func (w *Worker) Hold(p int, role cluster.Role, epoch int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if role == "" {
		delete(w.held, p)
		return
	}
	w.held[p] = held{role: role, epoch: epoch}
}

func (w *Worker) owns(_, group string, p int) (cluster.Role, int64, int64, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	h, ok := w.held[p]
	if !ok || group != Group {
		return "", 0, 0, false
	}
	return h.role, h.epoch, h.lag, true
}

// Stats reports the held tasks for GetStats.
func (w *Worker) stats(app string) tableservice.StatsFunc {
	return func(context.Context) (tableservice.Stats, error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		var st tableservice.Stats
		for p, h := range w.held {
			state := cluster.Running
			if h.role != cluster.RoleActive {
				state = cluster.Following
			}
			st.Tasks = append(st.Tasks, tableservice.TaskStats{Task: cluster.TaskKey{App: app, Group: Group, Partition: p},
				Role: h.role, State: state, Epoch: h.epoch, Lag: h.lag, RecordsPerSecond: 25})
		}
		return st, nil
	}
}

// NewCluster starts the rig with the given workers (nothing assigned yet).
func NewCluster(t *testing.T, workers ...string) *Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	endpoints := harness.EtcdEndpoints(t)
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	c := &Cluster{t: t, Etcd: cli, Layout: cluster.Layout{Prefix: "/" + harness.Name(t, "weir")}, Workers: map[string]*Worker{},
		current: map[cluster.TaskKey]cluster.Assignment{}}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = cli.Delete(ctx, c.Layout.All(), clientv3.WithPrefix())
	})

	name := strings.ReplaceAll(harness.Name(t, "web"), "-", "_")
	src := fmt.Sprintf(appSource, name)
	a, diags := app.Parse(map[string][]byte{"app.hcl": []byte(src)}, app.Options{})
	if diags.HasErrors() {
		t.Fatalf("parsing the rig's app: %v", diags)
	}
	c.App = a
	c.Changelog = a.TaskGroups()[0].Changelog
	admin := harness.Admin(t)
	if _, err := admin.EnsureTopics(ctx, topics.TopicSpec{Name: c.Changelog, Partitions: Partitions, Cleanup: topics.CleanupCompact,
		Configs: map[string]string{"message.timestamp.type": "LogAppendTime"}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = admin.DeleteTopics(ctx, c.Changelog)
	})
	prod, err := topics.NewProducer(topics.ProducerConfig{ClientConfig: harness.Client(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { prod.Close() })
	c.Kafka = tables.Kafka{Producer: prod, Admin: admin, Consumer: topics.ConsumerConfig{ClientConfig: harness.Client(t), Logger: Log}}

	version := c.storeApp(ctx, src)
	cat, err := version.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range workers {
		c.Workers[id] = c.startWorker(ctx, id, cat)
	}
	c.registerController(ctx, "controller-1")
	c.startWeb(endpoints)
	return c
}

// storeApp writes version 1 of the app and its topology, as `controller apply` does.
func (c *Cluster) storeApp(ctx context.Context, src string) cluster.AppVersion {
	t := c.t
	norm, err := c.App.NormalizedJSON()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(norm)
	v := cluster.AppVersion{App: c.App.Name, Version: 1, CreatedAt: time.Now().UTC(), Author: "web-test", Origin: "apply",
		Files: []cluster.SourceFile{{Name: "app.hcl", Content: src}}, Normalized: norm, Digest: hex.EncodeToString(sum[:])}
	ops, err := c.Layout.PutVersionOps(v)
	if err != nil {
		t.Fatal(err)
	}
	topo := cluster.Topology{App: c.App.Name, Standbys: 1}
	for _, g := range c.App.TaskGroups() {
		topo.Groups = append(topo.Groups, cluster.Group{Name: g.Name, Partitions: g.Partitions})
	}
	op, err := c.Layout.PutTopologyOp(topo)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Etcd.Txn(ctx).Then(append(ops, op)...).Commit(); err != nil {
		t.Fatal(err)
	}
	return v
}

func (c *Cluster) startWorker(ctx context.Context, id string, cat cluster.Catalog) *Worker {
	t := c.t
	store, err := tables.Open(t.TempDir(), tables.Options{CacheBytes: 8 << 20, MemtableBytes: 4 << 20, Logger: Log})
	if err != nil {
		t.Fatal(err)
	}
	w := &Worker{ID: id, Store: store, held: map[int]held{}}
	svc, err := tableservice.New(tableservice.Config{Worker: id, Version: "test", Store: store, Owns: w.owns,
		Stats: w.stats(c.App.Name), Etcd: c.Etcd, Layout: c.Layout, Logger: Log})
	if err != nil {
		t.Fatal(err)
	}
	svc.PutApp(cat)
	w.Svc = svc
	srv, err := service.New(service.Config{Name: "worker", Listen: "127.0.0.1:0", InstanceID: id, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	svc.Mount(srv)
	sctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan string, 1)
	go func() { done <- srv.Run(sctx, ready) }()
	t.Cleanup(func() {
		cancel()
		<-done
		_ = store.Close()
	})
	w.Addr = <-ready
	srv.SetReady(true)
	op, err := cluster.PutJSONOp(c.Layout.Worker(id), cluster.WorkerRecord{ID: id, Addr: w.Addr, Capacity: 8, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Etcd.Do(ctx, op); err != nil {
		t.Fatal(err)
	}
	return w
}

// registerController writes a controller's registry record and makes it the elected leader
// (the election key concurrency.Election would write), so the health views show one.
func (c *Cluster) registerController(ctx context.Context, id string) {
	rec, err := cluster.PutJSONOp(c.Layout.ControllerKey(id), cluster.ControllerRecord{ID: id, Addr: "127.0.0.1:7070", Version: "test", StartedAt: time.Now().UTC()})
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.Etcd.Txn(ctx).Then(rec, clientv3.OpPut(c.Layout.Election()+"/694d1", id)).Commit(); err != nil {
		c.t.Fatal(err)
	}
}

func (c *Cluster) startWeb(endpoints []string) {
	t := c.t
	svc := config.Defaults("127.0.0.1:0")
	svc.Etcd.Endpoints = endpoints
	n, err := node.New(node.Config{Service: svc, ID: "web-test", EtcdPrefix: c.Layout.Prefix, QueryTimeout: 10 * time.Second}, Log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	listening := make(chan string, 1)
	go func() { done <- n.Run(ctx, listening) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("web: %v", err)
		}
	})
	select {
	case addr := <-listening:
		c.WebURL = "http://" + addr
	case err := <-done:
		t.Fatalf("web stopped: %v", err)
	}
}

// Assign publishes assignments (active and standbys per partition) and returns each task's
// epoch.
func (c *Cluster) Assign(ctx context.Context, as map[int]cluster.Assignment) map[int]int64 {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	next := map[cluster.TaskKey]cluster.Assignment{}
	for k, v := range c.current {
		next[k] = v
	}
	for p, a := range as {
		if a.State == "" {
			a.State = cluster.Stable
		}
		next[c.Task(p)] = a
	}
	pub := &cluster.Publisher{KV: c.Etcd, Layout: c.Layout}
	updates := cluster.Diff(c.current, next)
	revs, err := pub.Publish(ctx, updates)
	if err != nil {
		c.t.Fatal(err)
	}
	epochs := map[int]int64{}
	for i, u := range updates {
		if u.New == nil {
			continue
		}
		a := *u.New
		if a.Epoch == 0 {
			a.Epoch = revs[i]
		}
		next[u.Task] = a
		epochs[u.Task.Partition] = a.Epoch
	}
	c.current = next
	return epochs
}

// Task is the rig's task of partition p.
func (c *Cluster) Task(p int) cluster.TaskKey {
	return cluster.TaskKey{App: c.App.Name, Group: Group, Partition: p}
}

// OpenTask starts a tables.Task of partition p on worker w's store at epoch.
func (c *Cluster) OpenTask(ctx context.Context, w *Worker, p int, epoch int64) *tables.Task {
	c.t.Helper()
	task, err := tables.OpenTask(ctx, w.Store, c.Kafka, tables.TaskConfig{Topic: c.Changelog, Partition: int32(p), Epoch: epoch,
		Incarnation: w.ID, Logger: Log})
	if err != nil {
		c.t.Fatalf("starting task %d on %s: %v", p, w.ID, err)
	}
	return task
}

// Partition is the partition of a string key of the app's tables.
func Partition(key string) int { return int(topics.KeyPartition([]byte(key), Partitions)) }
