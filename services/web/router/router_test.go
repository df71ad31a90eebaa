package router_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/structpb"

	weirv1 "github.com/weirhq/weir/gen/weir/v1"
	"github.com/weirhq/weir/gen/weir/v1/weirv1connect"
	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/libs/topics"
	"github.com/weirhq/weir/services/web/router"
)

// fakeWorker serves TableService.Get: it answers with its own id for the partitions it
// owns and refuses the others, naming the owner it believes in.
type fakeWorker struct {
	weirv1connect.UnimplementedTableServiceHandler
	id    string
	mu    sync.Mutex
	owns  map[int]bool
	owner string // named in refusals
	calls atomic.Int64
}

func (w *fakeWorker) Get(_ context.Context, req *connect.Request[weirv1.TableGetRequest]) (*connect.Response[weirv1.TableGetResponse], error) {
	w.calls.Add(1)
	p := int(topics.KeyPartition(req.Msg.Key.Encoded, 4))
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.owns[p] {
		err := connect.NewError(connect.CodeFailedPrecondition, fmt.Errorf("worker %s does not hold partition %d", w.id, p))
		d, _ := connect.NewErrorDetail(&weirv1.NotOwner{Worker: w.id, Owner: w.owner, Partition: int32(p)})
		err.AddDetail(d)
		return nil, err
	}
	return connect.NewResponse(&weirv1.TableGetResponse{Found: true, Value: structpb.NewStringValue(w.id),
		Read: &weirv1.ReadInfo{Worker: w.id, Role: "active", Partition: int32(p)}}), nil
}

func (w *fakeWorker) set(owner string, parts ...int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.owner, w.owns = owner, map[int]bool{}
	for _, p := range parts {
		w.owns[p] = true
	}
}

func serve(t *testing.T, w *fakeWorker) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle(weirv1connect.NewTableServiceHandler(w))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// fakeDir is a Directory whose answers the test scripts: each Replicas call pops the next
// answer for the task, repeating the last.
type fakeDir struct {
	mu      sync.Mutex
	answers map[int][]router.Replicas
	reads   atomic.Int64
	workers []router.Replica
}

func (d *fakeDir) Replicas(_ context.Context, t cluster.TaskKey) (router.Replicas, error) {
	d.reads.Add(1)
	d.mu.Lock()
	defer d.mu.Unlock()
	as := d.answers[t.Partition]
	if len(as) == 0 {
		return router.Replicas{}, nil
	}
	a := as[0]
	if len(as) > 1 {
		d.answers[t.Partition] = as[1:]
	}
	return a, nil
}

func (d *fakeDir) Workers(context.Context) ([]router.Replica, error) { return d.workers, nil }

func active(id, addr string) router.Replicas {
	return router.Replicas{Active: router.Replica{Worker: id, Addr: addr}}
}

type rig struct {
	w1, w2     *fakeWorker
	a1, a2     string
	dir        *fakeDir
	rt         *router.Router
	route      cluster.TableRoute
	key        []byte
	keyPart    int
	otherParts []int
}

func newRig(t *testing.T) *rig {
	t.Helper()
	return newRigWith(t, router.Config{Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, MaxAttempts: 6})
}

// newRigWith builds the rig with cfg's limits (its directory and clients are the rig's).
func newRigWith(t *testing.T, cfg router.Config) *rig {
	t.Helper()
	r := &rig{w1: &fakeWorker{id: "w1"}, w2: &fakeWorker{id: "w2"}, dir: &fakeDir{answers: map[int][]router.Replicas{}}}
	r.a1, r.a2 = serve(t, r.w1), serve(t, r.w2)
	r.route = cluster.TableRoute{App: "shop", Table: "counts", Group: "g", Partitions: 4, KeyType: "string"}
	var err error
	if r.key, err = r.route.EncodeKey("page-17"); err != nil {
		t.Fatal(err)
	}
	r.keyPart = r.route.Partition(r.key)
	cfg.Directory, cfg.Clients = r.dir, router.NewClients("", time.Second)
	rt, err := router.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.rt = rt
	return r
}

func (r *rig) get(ctx context.Context) (string, int, error) {
	t := cluster.TaskKey{App: "shop", Group: "g", Partition: r.keyPart}
	var got string
	n, err := r.rt.Read(ctx, t, false, func(ctx context.Context, c weirv1connect.TableServiceClient, _ router.Replica) error {
		resp, err := c.Get(ctx, connect.NewRequest(&weirv1.TableGetRequest{App: "shop", Table: "counts", Key: &weirv1.TableKey{Encoded: r.key}}))
		if err == nil {
			got = resp.Msg.Value.GetStringValue()
		}
		return err
	})
	return got, n, err
}

// TestKeyToPartitionToOwner checks that a key goes to the owner of the partition the
// producer's hashing puts it in.
func TestKeyToPartitionToOwner(t *testing.T) {
	r := newRig(t)
	if want := int(topics.KeyPartition([]byte("page-17"), 4)); r.keyPart != want {
		t.Fatalf("partition of page-17 = %d, want murmur2's %d", r.keyPart, want)
	}
	r.w1.set("w2", r.keyPart)
	r.w2.set("w1", (r.keyPart+1)%4)
	r.dir.answers[r.keyPart] = []router.Replicas{active("w1", r.a1)}
	got, n, err := r.get(t.Context())
	if err != nil || got != "w1" || n != 1 {
		t.Fatalf("read = %q after %d tries, %v; want w1 at the first try", got, n, err)
	}
	if r.w2.calls.Load() != 0 {
		t.Errorf("w2 was asked %d times, want 0", r.w2.calls.Load())
	}
}

// TestRetryOnHandoff: etcd still names the old owner when the read arrives; the old owner
// refuses naming the new one; the router reads the assignment again and follows it.
func TestRetryOnHandoff(t *testing.T) {
	r := newRig(t)
	r.w1.set("w2")            // moved away
	r.w2.set("w2", r.keyPart) // the new owner
	r.dir.answers[r.keyPart] = []router.Replicas{active("w1", r.a1), active("w1", r.a1), active("w2", r.a2)}
	got, n, err := r.get(t.Context())
	if err != nil || got != "w2" {
		t.Fatalf("read = %q, %v; want w2's answer", got, err)
	}
	if n != 3 || r.w1.calls.Load() != 2 || r.w2.calls.Load() != 1 {
		t.Errorf("tries %d, w1 asked %d, w2 asked %d; want 3, 2, 1", n, r.w1.calls.Load(), r.w2.calls.Load())
	}
}

// TestRetryOnUnreachableOwner: the old owner is gone (connection refused) until the
// assignment names the new one.
func TestRetryOnUnreachableOwner(t *testing.T) {
	r := newRig(t)
	r.w2.set("w2", r.keyPart)
	dead := "127.0.0.1:1"
	r.dir.answers[r.keyPart] = []router.Replicas{active("w0", dead), {}, active("w2", r.a2)}
	got, n, err := r.get(t.Context())
	if err != nil || got != "w2" || n != 3 {
		t.Fatalf("read = %q after %d tries, %v; want w2 after 3", got, n, err)
	}
}

func TestGivesUpWithReason(t *testing.T) {
	r := newRig(t)
	r.w1.set("w1") // refuses, naming itself: a worker that is not ready yet
	r.dir.answers[r.keyPart] = []router.Replicas{active("w1", r.a1)}
	_, n, err := r.get(t.Context())
	if connect.CodeOf(err) != connect.CodeUnavailable || n != 6 || !strings.Contains(err.Error(), "does not hold partition") {
		t.Fatalf("error %v after %d tries; want UNAVAILABLE with the refusal after 6", err, n)
	}
	r.dir.answers[r.keyPart] = []router.Replicas{{}}
	_, _, err = r.get(t.Context())
	if connect.CodeOf(err) != connect.CodeUnavailable || !strings.Contains(err.Error(), "no active owner") {
		t.Fatalf("unassigned: error %v; want UNAVAILABLE naming the reason", err)
	}
}

// TestRetriesUntilTheNewOwnerStarts: without a cap on tries, a read goes on past the old
// default of 12 while the new owner is still starting its task (it refuses, naming itself).
func TestRetriesUntilTheNewOwnerStarts(t *testing.T) {
	r := newRigWith(t, router.Config{Backoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond})
	r.w1.set("w1")            // not ready yet: refuses, naming itself as the owner
	r.w2.set("w2", r.keyPart) // ready
	var script []router.Replicas
	for range 30 {
		script = append(script, active("w1", r.a1))
	}
	r.dir.answers[r.keyPart] = append(script, active("w2", r.a2))
	got, n, err := r.get(t.Context())
	if err != nil || got != "w2" || n != 31 {
		t.Fatalf("read = %q after %d tries, %v; want w2 after 31", got, n, err)
	}
}

// TestGivesUpBeforeTheDeadline: a read that no worker answers ends with UNAVAILABLE and the
// last refusal before its deadline (the caller's, or the router's Timeout without one),
// not with DEADLINE_EXCEEDED.
func TestGivesUpBeforeTheDeadline(t *testing.T) {
	for _, withDeadline := range []bool{true, false} {
		r := newRigWith(t, router.Config{Backoff: time.Millisecond, MaxBackoff: 100 * time.Millisecond, Timeout: 400 * time.Millisecond})
		r.w1.set("w1")
		r.dir.answers[r.keyPart] = []router.Replicas{active("w1", r.a1)}
		ctx := t.Context()
		if withDeadline {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, 300*time.Millisecond)
			defer cancel()
		}
		_, n, err := r.get(ctx)
		if connect.CodeOf(err) != connect.CodeUnavailable || !strings.Contains(err.Error(), "does not hold partition") ||
			!strings.Contains(err.Error(), "deadline") || n < 3 {
			t.Errorf("deadline given %v: error %v after %d tries; want UNAVAILABLE with the refusal after several tries", withDeadline, err, n)
		}
	}
}

func TestOtherErrorsAreNotRetried(t *testing.T) {
	r := newRig(t)
	t0 := cluster.TaskKey{App: "shop", Group: "g", Partition: 0}
	r.dir.answers[0] = []router.Replicas{active("w1", r.a1)}
	n, err := r.rt.Read(t.Context(), t0, false, func(context.Context, weirv1connect.TableServiceClient, router.Replica) error {
		return connect.NewError(connect.CodeNotFound, errors.New("no such table"))
	})
	if connect.CodeOf(err) != connect.CodeNotFound || n != 1 {
		t.Fatalf("error %v after %d tries; want NOT_FOUND at once", err, n)
	}
}

func TestReadAnyTriesEveryWorker(t *testing.T) {
	r := newRig(t)
	r.dir.workers = []router.Replica{{Worker: "w0", Addr: "127.0.0.1:1"}, {Worker: "w1", Addr: r.a1}}
	var got []string
	for range 4 {
		_, err := r.rt.ReadAny(t.Context(), "global table", func(ctx context.Context, c weirv1connect.TableServiceClient, at router.Replica) error {
			_, err := c.Get(ctx, connect.NewRequest(&weirv1.TableGetRequest{Key: &weirv1.TableKey{Encoded: []byte("x")}}))
			if connect.CodeOf(err) == connect.CodeFailedPrecondition {
				err = nil // answered
			}
			if err == nil {
				got = append(got, at.Worker)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, w := range got {
		if w != "w1" {
			t.Errorf("answered by %s, want only the reachable w1", w)
		}
	}
}
