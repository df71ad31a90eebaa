//go:build integration

package integration

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/segmentio/kafka-go"
	"github.com/zclconf/go-cty/cty"
	clientv3 "go.etcd.io/etcd/client/v3"

	weirv1 "github.com/weirhq/weir/gen/weir/v1"
	"github.com/weirhq/weir/gen/weir/v1/weirv1connect"
	"github.com/weirhq/weir/integration/harness"
	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/libs/service/servicetest"
	"github.com/weirhq/weir/services/controller/cli"
)

// ctlEnv is one test's controller environment: a unique etcd prefix and the clients.
type ctlEnv struct {
	brokers   []string
	endpoints []string
	prefix    string
	layout    cluster.Layout
	etcd      *clientv3.Client
}

func newCtlEnv(t *testing.T) *ctlEnv {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: harness.EtcdEndpoints(t), DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	prefix := "/weir-test/" + harness.Name(t, "ctl")
	e := &ctlEnv{brokers: harness.KafkaBrokers(t), endpoints: harness.EtcdEndpoints(t), prefix: prefix, layout: cluster.Layout{Prefix: prefix}, etcd: cli}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := cli.Delete(ctx, e.layout.All(), clientv3.WithPrefix()); err != nil {
			t.Logf("cleaning up %s: %v", e.layout.All(), err)
		}
		cli.Close()
	})
	return e
}

// flags are the serve flags of a controller in this environment.
func (e *ctlEnv) flags(id string, extra ...string) []string {
	return append([]string{
		"serve", "--listen", "127.0.0.1:0", "--instance-id", id, "--etcd-prefix", e.prefix,
		"--etcd-endpoints", strings.Join(e.endpoints, ","),
		"--kafka-brokers", strings.Join(e.brokers, ","),
		"--session-ttl", "3s", "--release-wait", "5s",
	}, extra...)
}

// start runs a controller in-process and waits until it is ready.
func (e *ctlEnv) start(t *testing.T, id string, extra ...string) *servicetest.Process {
	t.Helper()
	return servicetest.Start(t, cli.RunContext, e.flags(id, extra...)...)
}

// ctlClients returns ControllerService clients for addr: Connect JSON over HTTP/1.1 and
// gRPC over h2c.
func ctlClients(t *testing.T, addr string) map[string]weirv1connect.ControllerServiceClient {
	base := "http://" + addr
	return map[string]weirv1connect.ControllerServiceClient{
		"connect": weirv1connect.NewControllerServiceClient(servicetest.HTTP1Client(t), base, connect.WithProtoJSON()),
		"grpc":    weirv1connect.NewControllerServiceClient(servicetest.H2CClient(t), base, connect.WithGRPC()),
	}
}

func ctlClient(t *testing.T, addr string) weirv1connect.ControllerServiceClient {
	return ctlClients(t, addr)["connect"]
}

// example is an example app made unique to a test: its app id gets a suffix, every topic a
// Kafka name under a prefix of its own, and replication is 1 (one local broker).
type example struct {
	App    string
	Prefix string
	Source *weirv1.AppSource
	path   string
	id     string
}

// loadExample rewrites examples/<name>/app.hcl for this test and deletes its topics at the
// end of the test.
func loadExample(t *testing.T, name string) *example {
	t.Helper()
	n := harness.Name(t, "x")
	id := n[len(n)-8:] // the random suffix
	ex := &example{App: name + "_" + id, Prefix: "t" + id + ".", path: filepath.Join(harness.Root(), "examples", name, "app.hcl"), id: id}
	src, err := os.ReadFile(ex.path)
	if err != nil {
		t.Fatal(err)
	}
	ex.Source = &weirv1.AppSource{Files: []*weirv1.SourceFile{{Name: "app.hcl", Content: ex.rewrite(t, src, nil)}}}
	t.Cleanup(func() { ex.cleanup(t) })
	return ex
}

// scratch names a test's hand-written apps and their topics after one random id: apps
// "<base>_<id>", topics under prefix "t<id>.", as loadExample names an example's.
type scratch struct {
	id, prefix string
}

func newScratch(t *testing.T) scratch {
	n := harness.Name(t, "s")
	id := n[len(n)-8:] // the random suffix
	return scratch{id: id, prefix: "t" + id + "."}
}

// app returns the name of the app base and removes its topics at the end of the test.
func (s scratch) app(t *testing.T, base string) string {
	ex := &example{App: base + "_" + s.id, Prefix: s.prefix}
	t.Cleanup(func() { ex.cleanup(t) })
	return ex.App
}

// rewrite renames the app and its topics; edit, if set, changes the file further.
func (ex *example) rewrite(t *testing.T, src []byte, edit func(*hclwrite.Body)) string {
	t.Helper()
	f, diags := hclwrite.ParseConfig(src, ex.path, hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	for _, b := range f.Body().Blocks() {
		switch b.Type() {
		case "app":
			b.SetLabels([]string{ex.App})
			if b.Body().GetAttribute("replication") != nil {
				b.Body().SetAttributeValue("replication", cty.NumberIntVal(1))
			}
		case "topic":
			b.Body().SetAttributeValue("name", cty.StringVal(ex.Prefix+b.Labels()[0]))
			if b.Body().GetAttribute("replication") != nil {
				b.Body().SetAttributeValue("replication", cty.NumberIntVal(1))
			}
		}
	}
	if edit != nil {
		edit(f.Body())
	}
	return string(f.Bytes())
}

// edited returns the example's source with edit applied.
func (ex *example) edited(t *testing.T, edit func(*hclwrite.Body)) *weirv1.AppSource {
	src, err := os.ReadFile(ex.path)
	if err != nil {
		t.Fatal(err)
	}
	return &weirv1.AppSource{Files: []*weirv1.SourceFile{{Name: "app.hcl", Content: ex.rewrite(t, src, edit)}}}
}

// block returns the first block of a type and label.
func block(body *hclwrite.Body, typ, label string) *hclwrite.Block {
	for _, b := range body.Blocks() {
		if b.Type() == typ && (label == "" || (len(b.Labels()) > 0 && b.Labels()[0] == label)) {
			return b
		}
	}
	return nil
}

// cleanup deletes every topic of the app: its declared topics and Weir's internal ones.
func (ex *example) cleanup(t *testing.T) {
	admin := harness.Admin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	md, err := kafkaTopicNames(ctx, harness.KafkaBrokers(t))
	if err != nil {
		t.Logf("listing topics for cleanup: %v", err)
		return
	}
	var names []string
	for _, n := range md {
		if strings.HasPrefix(n, ex.Prefix) || strings.HasPrefix(n, "weir."+ex.App+".") {
			names = append(names, n)
		}
	}
	if err := admin.DeleteTopics(ctx, names...); err != nil {
		t.Logf("deleting topics %v: %v", names, err)
	}
}

// kafkaTopicNames lists every topic of the harness broker.
func kafkaTopicNames(ctx context.Context, brokers []string) ([]string, error) {
	// A transport of its own: kafka-go serves Metadata from a transport's cache, and the
	// shared default transport's cache can predate topics created moments ago.
	t := &kafka.Transport{}
	defer t.CloseIdleConnections()
	c := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second, Transport: t}
	md, err := c.Metadata(ctx, &kafka.MetadataRequest{})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, tp := range md.Topics {
		out = append(out, tp.Name)
	}
	return out, nil
}

// connectCode returns an error's Connect code (CodeUnknown for other errors).
func connectCode(err error) connect.Code {
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce.Code()
	}
	return connect.CodeUnknown
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// controllerBinary builds bin/controller once per test binary into a temporary directory.
func controllerBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "weir-controller-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "controller")
		cmd := exec.Command("go", "build", "-o", binPath, "./services/controller")
		cmd.Dir = harness.Root()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = errors.New(string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("building the controller: %v", buildErr)
	}
	return binPath
}

// waitReady polls addr's /readyz until it answers 200.
func waitReady(t *testing.T, addr string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s not ready within %s", addr, within)
}

// applySource applies a one-file app through the controller at addr.
func applySource(t *testing.T, ctx context.Context, addr, src string) {
	t.Helper()
	if _, err := ctlClient(t, addr).Apply(ctx, connect.NewRequest(&weirv1.ApplyRequest{
		Source: &weirv1.AppSource{Files: []*weirv1.SourceFile{{Name: "app.hcl", Content: src}}}, Author: "test"})); err != nil {
		t.Fatal(err)
	}
}
