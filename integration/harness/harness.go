// Package harness gives integration tests a real Kafka broker and a real etcd server.
//
// When KAFKA_BROKERS / ETCD_ENDPOINTS are set (as `make test` does, starting one broker and
// one etcd for the whole run), tests use them. Otherwise the first test that asks starts its
// own through the deployments/local scripts, on free loopback ports and in a temporary
// directory, and Main stops it when the test binary ends. Every test gets unique topic names,
// so tests never see each other's data.
package harness

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weirhq/weir/libs/topics"
)

// Main runs the tests of a package and stops any server the harness started. Use it from
// TestMain: func TestMain(m *testing.M) { harness.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	stopAll()
	os.Exit(code)
}

var (
	mu      sync.Mutex
	stops   []func()
	kafka   []string
	etcd    []string
	kafkaEr error
	etcdEr  error
)

func stopAll() {
	mu.Lock()
	defer mu.Unlock()
	for i := len(stops) - 1; i >= 0; i-- {
		stops[i]()
	}
	stops = nil
}

// Root is the repository root (found from this source file).
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// KafkaBrokers returns the addresses of a running real Kafka broker.
func KafkaBrokers(t testing.TB) []string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if kafka == nil && kafkaEr == nil {
		if env := os.Getenv("KAFKA_BROKERS"); env != "" {
			kafka = topics.ParseBrokers(env)
		} else {
			kafka, kafkaEr = startKafka()
		}
	}
	if kafkaEr != nil {
		t.Fatalf("no Kafka broker for this test: %v", kafkaEr)
	}
	return kafka
}

// EtcdEndpoints returns the client endpoints of a running real etcd server.
func EtcdEndpoints(t testing.TB) []string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if etcd == nil && etcdEr == nil {
		if env := os.Getenv("ETCD_ENDPOINTS"); env != "" {
			etcd = strings.Split(env, ",")
		} else {
			etcd, etcdEr = startEtcd()
		}
	}
	if etcdEr != nil {
		t.Fatalf("no etcd for this test: %v", etcdEr)
	}
	return etcd
}

func startKafka() ([]string, error) {
	port, err := freePortPair()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "weir-kafka-")
	if err != nil {
		return nil, err
	}
	env := append(os.Environ(), fmt.Sprintf("KAFKA_PORT=%d", port), "KAFKA_DIR="+dir)
	script := filepath.Join(Root(), "deployments", "local", "kafka.sh")
	if out, err := runScript(env, script, "up"); err != nil {
		return nil, fmt.Errorf("starting Kafka with %s up: %w\n%s", script, err, out)
	}
	stops = append(stops, func() {
		runScript(env, script, "down")
		os.RemoveAll(dir)
	})
	return []string{fmt.Sprintf("127.0.0.1:%d", port)}, nil
}

func startEtcd() ([]string, error) {
	port, err := freePortPair()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "weir-etcd-")
	if err != nil {
		return nil, err
	}
	env := append(os.Environ(), fmt.Sprintf("ETCD_PORT=%d", port), "ETCD_DIR="+dir)
	script := filepath.Join(Root(), "deployments", "local", "etcd.sh")
	if out, err := runScript(env, script, "up"); err != nil {
		return nil, fmt.Errorf("starting etcd with %s up: %w\n%s", script, err, out)
	}
	stops = append(stops, func() {
		runScript(env, script, "down")
		os.RemoveAll(dir)
	})
	return []string{fmt.Sprintf("127.0.0.1:%d", port)}, nil
}

func runScript(env []string, script string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, script, args...)
	cmd.Env = env
	cmd.Dir = Root()
	return cmd.CombinedOutput()
}

// freePortPair finds a free loopback port whose successor is free too (the servers use
// port+1 for their controller or peer listener).
func freePortPair() (int, error) {
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		l2, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port+1))
		l.Close()
		if err == nil {
			l2.Close()
			return port, nil
		}
	}
	return 0, fmt.Errorf("no free pair of loopback ports found")
}

var unsafeChars = regexp.MustCompile(`[^a-zA-Z0-9._-]+`)

// Name returns a name unique to this test run, readable in broker listings: the test's name
// and a random suffix.
func Name(t testing.TB, prefix string) string {
	b := make([]byte, 4)
	rand.Read(b)
	n := unsafeChars.ReplaceAllString(prefix+"-"+t.Name(), "-")
	if len(n) > 180 {
		n = n[:180]
	}
	return strings.ToLower(n) + "-" + hex.EncodeToString(b)
}

// Client is the Kafka client config for the harness broker.
func Client(t testing.TB) topics.ClientConfig {
	return topics.ClientConfig{Brokers: KafkaBrokers(t), ClientID: "weir-test"}
}

// Admin returns an Admin for the harness broker.
func Admin(t testing.TB) *topics.Admin {
	t.Helper()
	a, err := topics.NewAdmin(Client(t))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// Topic creates a uniquely named topic from spec (its Name is the prefix) and deletes it when
// the test ends.
func Topic(t testing.TB, spec topics.TopicSpec) string {
	t.Helper()
	spec.Name = Name(t, spec.Name)
	a := Admin(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := a.EnsureTopics(ctx, spec); err != nil {
		t.Fatalf("creating topic %s: %v", spec.Name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := a.DeleteTopics(ctx, spec.Name); err != nil {
			t.Logf("deleting topic %s: %v", spec.Name, err)
		}
	})
	return spec.Name
}

// Context returns a context that ends with the test or after d.
func Context(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// KafkaTool runs one of Kafka's own tool classes from the fetched jars (through
// deployments/local/kafka.sh run) and returns its combined output.
func KafkaTool(ctx context.Context, class string, args ...string) ([]byte, error) {
	script := filepath.Join(Root(), "deployments", "local", "kafka.sh")
	cmd := exec.CommandContext(ctx, script, append([]string{"run", class}, args...)...)
	cmd.Dir = Root()
	return cmd.CombinedOutput()
}

// Broker is a private Kafka broker for tests that stop and start it; other tests keep using
// the shared one.
type Broker struct {
	Addr   string
	env    []string
	script string
}

// PrivateKafka starts a broker of the test's own on free loopback ports; it is stopped and
// its data removed when the test ends.
func PrivateKafka(t testing.TB) *Broker {
	t.Helper()
	port, err := freePortPair()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	b := &Broker{
		Addr:   fmt.Sprintf("127.0.0.1:%d", port),
		env:    append(os.Environ(), fmt.Sprintf("KAFKA_PORT=%d", port), "KAFKA_DIR="+dir, "KAFKA_HEAP=512m"),
		script: filepath.Join(Root(), "deployments", "local", "kafka.sh"),
	}
	t.Cleanup(func() { runScript(b.env, b.script, "down") })
	b.Start(t)
	return b
}

// Start starts the broker (again) and waits until it answers metadata requests.
func (b *Broker) Start(t testing.TB) {
	t.Helper()
	if out, err := runScript(b.env, b.script, "up"); err != nil {
		t.Fatalf("starting private broker: %v\n%s", err, out)
	}
}

// Stop shuts the broker down (SIGTERM, then SIGKILL after 30 s).
func (b *Broker) Stop(t testing.TB) {
	t.Helper()
	if out, err := runScript(b.env, b.script, "down"); err != nil {
		t.Fatalf("stopping private broker: %v\n%s", err, out)
	}
}
