//go:build integration

package integration

import (
	"bytes"
	"context"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/weirhq/weir/integration/harness"
)

// TestEtcdServes checks the etcd the stack provides does what Weir's coordination needs:
// leased keys that vanish with their lease, compare-and-swap transactions, and prefix watches.
func TestEtcdServes(t *testing.T) {
	ctx := harness.Context(t, 30*time.Second)
	cli, err := clientv3.New(clientv3.Config{Endpoints: harness.EtcdEndpoints(t), DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	prefix := "/weir-test/" + harness.Name(t, "etcd") + "/"

	watch := cli.Watch(ctx, prefix, clientv3.WithPrefix())
	lease, err := cli.Grant(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx, prefix+"worker", "w1", clientv3.WithLease(lease.ID)); err != nil {
		t.Fatal(err)
	}
	// Compare-and-swap: succeeds once, then fails because the key exists.
	for i, want := range []bool{true, false} {
		res, err := cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(prefix+"leader"), "=", 0)).
			Then(clientv3.OpPut(prefix+"leader", "me")).Commit()
		if err != nil {
			t.Fatal(err)
		}
		if res.Succeeded != want {
			t.Fatalf("txn %d succeeded=%v, want %v", i, res.Succeeded, want)
		}
	}
	// The watch sees the leased put, the leader put, and the lease expiry's delete.
	var events []string
	for len(events) < 3 {
		select {
		case wr := <-watch:
			for _, ev := range wr.Events {
				events = append(events, ev.Type.String()+" "+strings.TrimPrefix(string(ev.Kv.Key), prefix))
			}
		case <-ctx.Done():
			t.Fatalf("watch saw only %v", events)
		}
	}
	want := []string{"PUT worker", "PUT leader", "DELETE worker"}
	for i := range want {
		if events[i] != want[i] {
			t.Fatalf("watch events %v, want %v", events, want)
		}
	}
	cli.Delete(context.Background(), prefix, clientv3.WithPrefix())
}

// TestKeyVectorsComeFromTheJavaClient regenerates the committed murmur2/partition vectors with
// the fetched Kafka client jar, so the unit test's expectations are the real client's.
func TestKeyVectorsComeFromTheJavaClient(t *testing.T) {
	ctx := harness.Context(t, time.Minute)
	root := harness.Root()
	golden, err := os.ReadFile(filepath.Join(root, "libs", "topics", "testdata", "murmur2_java.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	var keys, want []string
	for _, line := range strings.Split(string(golden), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		keys = append(keys, strings.SplitN(line, "\t", 2)[0])
		want = append(want, line)
	}
	cp, err := exec.CommandContext(ctx, filepath.Join(root, "deployments", "local", "kafka.sh"), "classpath").Output()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, "java", "-cp", strings.TrimSpace(string(cp)), filepath.Join(root, "deployments", "local", "kafka", "KeyPartitions.java"))
	cmd.Stdin = strings.NewReader(strings.Join(keys, "\n") + "\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("running KeyPartitions.java: %v\n%s", err, stderr.String())
	}
	got := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(got) != len(want) {
		t.Fatalf("java printed %d lines for %d keys", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			k, _ := hex.DecodeString(keys[i])
			t.Errorf("key %q: java says %q, testdata says %q", k, got[i], want[i])
		}
	}
}
