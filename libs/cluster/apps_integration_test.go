//go:build integration

package cluster

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

func TestAppStoreCommitReadAndFence(t *testing.T) {
	cli, l := testClient(t)
	ctx := testContext(t)
	leader := l.Election() + "/1"
	put, err := cli.Put(ctx, leader, "c1")
	if err != nil {
		t.Fatal(err)
	}
	guard := &Guard{Key: leader, Rev: put.Header.Revision}

	st, err := ReadApp(ctx, cli, l, "orders")
	if err != nil || st.Head != nil || st.LastNumber != 0 {
		t.Fatalf("ReadApp of a missing app = %+v, %v", st, err)
	}
	commit := func(headRev int64, n int64, g *Guard) error {
		v := AppVersion{App: "orders", Version: n, CreatedAt: time.Now().UTC(), Origin: "apply",
			Files: []SourceFile{{Name: "app.hcl", Content: "app \"orders\" {}\n"}}, Normalized: json.RawMessage(`{"name":"orders","expr":"a && b"}`)}
		ops, err := l.PutVersionOps(v)
		if err != nil {
			return err
		}
		topo, err := l.PutTopologyOp(Topology{App: "orders", Groups: []Group{{Name: "g", Partitions: 2}}})
		if err != nil {
			return err
		}
		_, err = CommitApp(ctx, cli, l, g, AppWrite{App: "orders", HeadRev: headRev, Ops: append(ops, topo)})
		return err
	}
	if err := commit(0, 1, guard); err != nil {
		t.Fatal(err)
	}
	st, err = ReadApp(ctx, cli, l, "orders")
	if err != nil || st.Head == nil || st.Current.Version != 1 || st.Topology == nil || st.LastNumber != 1 {
		t.Fatalf("after version 1: %+v, %v", st, err)
	}
	if string(st.Current.Normalized) != `{"name":"orders","expr":"a && b"}` {
		t.Errorf("normalized JSON stored as %s", st.Current.Normalized)
	}
	// A write based on a stale read conflicts.
	if err := commit(0, 2, guard); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale write: %v, want ErrConflict", err)
	}
	if err := commit(st.HeadRev, 2, guard); err != nil {
		t.Fatal(err)
	}
	vs, err := ReadAppVersions(ctx, cli, l, "orders")
	if err != nil || len(vs) != 2 || vs[0].Version != 1 || vs[1].Version != 2 {
		t.Fatalf("ReadAppVersions = %v, %v", vs, err)
	}
	apps, err := ListApps(ctx, cli, l)
	if err != nil || len(apps) != 1 || apps["orders"].Version != 2 {
		t.Fatalf("ListApps = %v, %v", apps, err)
	}

	// Leadership passes on: the old guard's write fails and changes nothing.
	st, _ = ReadApp(ctx, cli, l, "orders")
	if _, err := cli.Delete(ctx, leader); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx, leader, "c2"); err != nil {
		t.Fatal(err)
	}
	if err := commit(st.HeadRev, 3, guard); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("deposed leader's write: %v, want ErrNotLeader", err)
	}
	if _, err := ReadAppVersion(ctx, cli, l, "orders", 3); !errors.Is(err, ErrNotFound) {
		t.Errorf("version 3 after a rejected write: %v", err)
	}

	// Delete removes every controller record of the app.
	if _, err := CommitApp(ctx, cli, l, nil, AppWrite{App: "orders", HeadRev: st.HeadRev, Ops: l.DeleteAppOps("orders")}); err != nil {
		t.Fatal(err)
	}
	resp, err := cli.Get(ctx, l.AppPrefix("orders"), clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil || resp.Count != 0 {
		t.Errorf("%d keys left after delete (%v)", resp.Count, err)
	}
}

func TestReadControllersSkipsElection(t *testing.T) {
	cli, l := testClient(t)
	ctx := testContext(t)
	lease, err := cli.Grant(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := json.Marshal(ControllerRecord{ID: "c1", Addr: "127.0.0.1:7070"})
	if _, err := cli.Put(ctx, l.ControllerKey("c1"), string(rec), clientv3.WithLease(lease.ID)); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx, l.Election()+"/694d", "c1"); err != nil {
		t.Fatal(err)
	}
	got, err := ReadControllers(ctx, cli, l)
	if err != nil || len(got) != 1 || got[0].Addr != "127.0.0.1:7070" {
		t.Fatalf("ReadControllers = %v, %v", got, err)
	}
	if _, err := cli.Revoke(ctx, lease.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := ReadControllers(ctx, cli, l); len(got) != 0 {
		t.Errorf("registry entry outlived its lease: %v", got)
	}
}
