package lease

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// fakeLessor answers Grant and KeepAliveOnce with a fixed TTL, or err.
type fakeLessor struct {
	clientv3.Lease
	ttl int64
	err error
}

func (f *fakeLessor) Grant(ctx context.Context, ttl int64) (*clientv3.LeaseGrantResponse, error) {
	return &clientv3.LeaseGrantResponse{ID: 7, TTL: f.ttl}, nil
}

func (f *fakeLessor) KeepAliveOnce(ctx context.Context, id clientv3.LeaseID) (*clientv3.LeaseKeepAliveResponse, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &clientv3.LeaseKeepAliveResponse{ID: id, TTL: f.ttl}, nil
}

func (f *fakeLessor) Revoke(ctx context.Context, id clientv3.LeaseID) (*clientv3.LeaseRevokeResponse, error) {
	return &clientv3.LeaseRevokeResponse{}, nil
}

func grant(t *testing.T, f *fakeLessor) (*Keeper, *time.Time) {
	t.Helper()
	before := time.Now()
	k, err := Grant(context.Background(), f, 3*time.Second, 500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if d := k.Deadline(); d.Before(before.Add(2500*time.Millisecond)) || d.After(time.Now().Add(2500*time.Millisecond)) {
		t.Fatalf("deadline %v after grant, want the grant's send time + 3s - 500ms", d)
	}
	now := time.Now()
	k.now = func() time.Time { return now }
	return k, &now
}

func TestKeeperDeadlineFollowsAcknowledgedSendTime(t *testing.T) {
	f := &fakeLessor{ttl: 3}
	k, now := grant(t, f)
	*now = now.Add(time.Second)
	sent := *now
	if err := k.keepAlive(context.Background()); err != nil {
		t.Fatal(err)
	}
	if want := sent.Add(2500 * time.Millisecond); !k.Deadline().Equal(want) {
		t.Fatalf("deadline %v, want %v", k.Deadline(), want)
	}
	if !k.Alive() {
		t.Fatal("not alive before the deadline")
	}
}

func TestKeeperLossIsFinal(t *testing.T) {
	f := &fakeLessor{ttl: 3}
	k, now := grant(t, f)
	*now = k.Deadline() // e.g. resumed from SIGSTOP right at the deadline
	if k.Alive() {
		t.Fatal("alive at the deadline")
	}
	select {
	case <-k.Lost():
	default:
		t.Fatal("Lost not closed")
	}
	// A keep-alive that would succeed (the server has not expired the lease yet) revives nothing.
	if err := k.keepAlive(context.Background()); err != nil {
		t.Fatal(err)
	}
	if k.Alive() {
		t.Fatal("alive again after a late keep-alive")
	}
	if err := k.Run(context.Background()); !errors.Is(err, ErrLost) {
		t.Fatalf("Run = %v, want ErrLost", err)
	}
}

func TestKeeperLeaseNotFound(t *testing.T) {
	f := &fakeLessor{ttl: 3}
	k, _ := grant(t, f)
	f.err = rpctypes.ErrLeaseNotFound
	if err := k.keepAlive(context.Background()); !errors.Is(err, ErrLost) {
		t.Fatalf("keepAlive = %v, want ErrLost", err)
	}
	if k.Alive() {
		t.Fatal("alive after the server forgot the lease")
	}
}

func TestKeeperTransientErrorKeepsDeadline(t *testing.T) {
	f := &fakeLessor{ttl: 3}
	k, _ := grant(t, f)
	d := k.Deadline()
	f.err = errors.New("unavailable")
	if err := k.keepAlive(context.Background()); err == nil || errors.Is(err, ErrLost) {
		t.Fatalf("keepAlive = %v, want a transient error", err)
	}
	if !k.Alive() || !k.Deadline().Equal(d) {
		t.Fatal("a failed keep-alive changed the lease")
	}
}

func TestGrantValidates(t *testing.T) {
	for _, c := range []struct{ ttl, margin time.Duration }{{time.Second, 0}, {3 * time.Second, 1500 * time.Millisecond}, {3 * time.Second, -1}} {
		if _, err := Grant(context.Background(), &fakeLessor{ttl: 3}, c.ttl, c.margin); err == nil {
			t.Errorf("Grant(ttl %v, margin %v) accepted", c.ttl, c.margin)
		}
	}
}
