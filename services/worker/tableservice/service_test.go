package tableservice_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/structpb"

	weirv1 "github.com/weirhq/weir/gen/weir/v1"
	"github.com/weirhq/weir/gen/weir/v1/weirv1connect"
	"github.com/weirhq/weir/libs/cluster"
	"github.com/weirhq/weir/libs/service"
	"github.com/weirhq/weir/libs/tables"
	"github.com/weirhq/weir/libs/topics"
	"github.com/weirhq/weir/services/worker/tableservice"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

const (
	counts    = "weir.shop.count.changelog"
	partCount = 4
)

// catalog is the routes of a small app: a partitioned count table, a windowed table, a
// number-keyed table and a global table.
func catalog(t *testing.T) cluster.Catalog {
	t.Helper()
	c, err := cluster.DecodeCatalog([]byte(`{
	  "name": "shop",
	  "tables": [
	    {"name": "counts", "key": "string", "value": "number", "global": false},
	    {"name": "by_id", "key": "number", "value": "json", "global": false},
	    {"name": "per_minute", "key": "string", "value": "number", "global": false,
	     "window": {"kind": "tumbling", "size": "1m", "grace": "0s", "expires": "1h"}},
	    {"name": "limits", "key": "string", "value": "model.Limit", "global": true}
	  ],
	  "task_groups": [{"name": "count", "partitions": 4, "tables": ["by_id", "counts", "per_minute"],
	    "changelog": "weir.shop.count.changelog"}]
	}`), 3)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// holdings is a settable ownership function.
type holdings struct {
	mu   sync.Mutex
	held map[int]cluster.Role
	lag  int64
}

func (h *holdings) set(p int, r cluster.Role) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r == "" {
		delete(h.held, p)
		return
	}
	h.held[p] = r
}

func (h *holdings) owns(app, group string, p int) (cluster.Role, int64, int64, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r, ok := h.held[p]
	if !ok || app != "shop" || group != "count" {
		return "", 0, 0, false
	}
	return r, 42, h.lag, true
}

type fakeGlobal map[string]string

func (g fakeGlobal) Get(k []byte) ([]byte, bool, error) {
	v, ok := g[string(k)]
	return []byte(v), ok, nil
}

func (g fakeGlobal) Scan(prefix []byte, fn func(k, v []byte) bool) error {
	for _, k := range []string{"a", "b"} {
		if v, ok := g[k]; ok && !fn([]byte(k), []byte(v)) {
			break
		}
	}
	return nil
}

func (g fakeGlobal) Lag() int64 { return 0 }

type rig struct {
	held   *holdings
	tables weirv1connect.TableServiceClient
	stats  weirv1connect.WorkerServiceClient
	url    string
}

func part(key string) int32 { return topics.KeyPartition([]byte(key), partCount) }

// newRig fills a real Store, serves it and returns clients.
func newRig(t *testing.T, token string) *rig {
	t.Helper()
	dir := t.TempDir()
	f := newFiller(t, dir)
	for _, k := range []string{"apple", "apricot", "banana", "cherry", "date", "fig", "grape"} {
		f.put(counts, part(k), "counts", []byte(k), []byte(`7`))
	}
	f.put(counts, part("apple"), "counts", []byte("\x00avg\x00apple"), []byte(`1`)) // Weir's own
	f.put(counts, part("blob"), "counts", []byte("blob"), []byte{0xff, 0x01})       // not JSON
	f.put(counts, part("42"), "by_id", []byte("42"), []byte(`{"name":"x"}`))
	f.window(counts, part("home"), "per_minute", []byte("home"), 60_000, 120_000, "3")
	f.window(counts, part("home"), "per_minute", []byte("home"), 120_000, 180_000, "5")
	f.streamTime(counts, part("home"), 150_000)
	store := f.open(dir)

	h := &holdings{held: map[int]cluster.Role{}}
	for p := range partCount {
		h.set(p, cluster.RoleActive)
	}
	svc, err := tableservice.New(tableservice.Config{
		Worker: "w1", Store: store, Owns: h.owns, Token: token, Logger: quiet,
		Stats: func(context.Context) (tableservice.Stats, error) {
			return tableservice.Stats{Tasks: []tableservice.TaskStats{{
				Task: cluster.TaskKey{App: "shop", Group: "count", Partition: 1}, Role: cluster.RoleActive,
				State: cluster.Running, Epoch: 42, Lag: 3, RecordsPerSecond: 12.5,
				Restore: &tables.Progress{Phase: "active", Target: 10, Position: 10},
			}}}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	svc.PutApp(catalog(t))
	svc.RegisterGlobal("shop", "limits", fakeGlobal{"a": `{"max":1}`, "b": `{"max":2}`})
	srv, err := service.New(service.Config{Name: "worker", Listen: "127.0.0.1:0", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	svc.Mount(srv)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan string, 1)
	go func() { done <- srv.Run(ctx, ready) }()
	t.Cleanup(func() { cancel(); <-done })
	addr := <-ready
	url := "http://" + addr
	opts := connect.WithInterceptors(service.WithBearer(token))
	return &rig{held: h, url: url,
		tables: weirv1connect.NewTableServiceClient(http.DefaultClient, url, opts),
		stats:  weirv1connect.NewWorkerServiceClient(http.DefaultClient, url, opts)}
}

func key(v any) *weirv1.TableKey {
	pv, err := structpb.NewValue(v)
	if err != nil {
		panic(err)
	}
	return &weirv1.TableKey{Value: pv}
}

func wantCode(t *testing.T, err error, code connect.Code) *connect.Error {
	t.Helper()
	var ce *connect.Error
	if !errors.As(err, &ce) || ce.Code() != code {
		t.Fatalf("error = %v, want code %v", err, code)
	}
	return ce
}

func TestGet(t *testing.T) {
	r := newRig(t, "")
	ctx := t.Context()
	resp, err := r.tables.Get(ctx, connect.NewRequest(&weirv1.TableGetRequest{App: "shop", Table: "counts", Key: key("apple")}))
	if err != nil {
		t.Fatal(err)
	}
	m := resp.Msg
	if !m.Found || m.Value.GetNumberValue() != 7 || m.Read.Role != "active" || m.Read.Epoch != 42 ||
		m.Read.Worker != "w1" || m.Read.Partition != part("apple") || m.Read.Group != "count" {
		t.Errorf("Get(apple) = %v", m)
	}
	resp, err = r.tables.Get(ctx, connect.NewRequest(&weirv1.TableGetRequest{App: "shop", Table: "counts", Key: key("nope")}))
	if err != nil || resp.Msg.Found {
		t.Errorf("Get(nope) = %v, %v; want not found", resp, err)
	}
	resp, err = r.tables.Get(ctx, connect.NewRequest(&weirv1.TableGetRequest{App: "shop", Table: "counts", Key: key("blob")}))
	if err != nil || resp.Msg.Value != nil || string(resp.Msg.Raw) != "\xff\x01" {
		t.Errorf("Get(blob) = %v, %v; want the raw bytes", resp, err)
	}
	// A number key given as a number or as text encodes the same way ("42").
	for _, k := range []any{42, "42"} {
		resp, err = r.tables.Get(ctx, connect.NewRequest(&weirv1.TableGetRequest{App: "shop", Table: "by_id", Key: key(k)}))
		if err != nil || resp.Msg.Value.GetStructValue().GetFields()["name"].GetStringValue() != "x" {
			t.Errorf("Get(by_id, %v) = %v, %v", k, resp, err)
		}
	}
	resp, err = r.tables.Get(ctx, connect.NewRequest(&weirv1.TableGetRequest{App: "shop", Table: "limits", Key: key("b")}))
	if err != nil || resp.Msg.Read.Role != "global" || resp.Msg.Value.GetStructValue().GetFields()["max"].GetNumberValue() != 2 {
		t.Errorf("Get(limits, b) = %v, %v", resp, err)
	}
}

func TestNotOwnerAndStandby(t *testing.T) {
	r := newRig(t, "")
	ctx := t.Context()
	p := int(part("apple"))
	get := func(stale bool) (*connect.Response[weirv1.TableGetResponse], error) {
		return r.tables.Get(ctx, connect.NewRequest(&weirv1.TableGetRequest{App: "shop", Table: "counts", Key: key("apple"), AllowStale: stale}))
	}

	r.held.set(p, "")
	_, err := get(true)
	ce := wantCode(t, err, connect.CodeFailedPrecondition)
	d := notOwnerDetail(t, ce)
	if d.Worker != "w1" || d.Partition != int32(p) || d.HeldAs != "" || d.Group != "count" {
		t.Errorf("NotOwner = %v", d)
	}

	r.held.set(p, cluster.RoleStandby)
	r.held.lag = 17
	_, err = get(false)
	ce = wantCode(t, err, connect.CodeFailedPrecondition)
	if d := notOwnerDetail(t, ce); d.HeldAs != "standby" {
		t.Errorf("NotOwner = %v, want held_as standby", d)
	}
	resp, err := get(true)
	if err != nil || resp.Msg.Read.Role != "standby" || resp.Msg.Read.Lag != 17 || resp.Msg.Value.GetNumberValue() != 7 {
		t.Errorf("stale Get = %v, %v; want the standby's answer with its lag", resp, err)
	}
}

func notOwnerDetail(t *testing.T, ce *connect.Error) *weirv1.NotOwner {
	t.Helper()
	for _, d := range ce.Details() {
		if v, err := d.Value(); err == nil {
			if n, ok := v.(*weirv1.NotOwner); ok {
				return n
			}
		}
	}
	t.Fatalf("error %v has no NotOwner detail", ce)
	return nil
}

func TestScanPages(t *testing.T) {
	r := newRig(t, "")
	ctx := t.Context()
	// Every key of every partition, three at a time.
	var got []string
	for p := range int32(partCount) {
		cursor := ""
		for pages := 0; ; pages++ {
			resp, err := r.tables.Scan(ctx, connect.NewRequest(&weirv1.TableScanRequest{
				App: "shop", Table: "counts", Partition: p, Limit: 1, Cursor: cursor}))
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range resp.Msg.Entries {
				if e.Partition != p {
					t.Errorf("entry %v: partition %d, want %d", e, e.Partition, p)
				}
				got = append(got, e.Key.GetStringValue())
			}
			if cursor = resp.Msg.NextCursor; cursor == "" {
				break
			}
			if pages > 20 {
				t.Fatal("scan does not end")
			}
		}
	}
	if len(got) != 8 { // 7 fruit + blob; the 0x00 key is skipped
		t.Errorf("scanned %q, want 8 keys", got)
	}
	for _, k := range got {
		if k == "" || k[0] == 0 {
			t.Errorf("scan returned Weir's own key %q", k)
		}
	}
	// A prefix within one partition.
	resp, err := r.tables.Scan(ctx, connect.NewRequest(&weirv1.TableScanRequest{App: "shop", Table: "counts", Partition: part("apple"), Prefix: "ap"}))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range resp.Msg.Entries {
		if s := e.Key.GetStringValue(); s[:2] != "ap" {
			t.Errorf("prefix scan returned %q", s)
		}
	}
	// A global table scans whole.
	resp, err = r.tables.Scan(ctx, connect.NewRequest(&weirv1.TableScanRequest{App: "shop", Table: "limits"}))
	if err != nil || len(resp.Msg.Entries) != 2 || resp.Msg.Read.Role != "global" {
		t.Errorf("global scan = %v, %v", resp, err)
	}
}

func TestWindows(t *testing.T) {
	r := newRig(t, "")
	ctx := t.Context()
	resp, err := r.tables.GetWindows(ctx, connect.NewRequest(&weirv1.TableWindowsRequest{App: "shop", Table: "per_minute", Key: key("home")}))
	if err != nil {
		t.Fatal(err)
	}
	m := resp.Msg
	if len(m.Windows) != 2 || m.Windows[0].StartMs != 60_000 || m.Windows[0].EndMs != 120_000 ||
		m.Windows[1].Value.GetNumberValue() != 5 || !m.HasStreamTime || m.StreamTimeMs != 150_000 {
		t.Errorf("GetWindows = %v", m)
	}
	resp, err = r.tables.GetWindows(ctx, connect.NewRequest(&weirv1.TableWindowsRequest{App: "shop", Table: "per_minute", Key: key("home"), FromMs: 100_000, ToMs: 130_000}))
	if err != nil || len(resp.Msg.Windows) != 1 || resp.Msg.Windows[0].StartMs != 120_000 {
		t.Errorf("GetWindows in range = %v, %v", resp, err)
	}
	sc, err := r.tables.Scan(ctx, connect.NewRequest(&weirv1.TableScanRequest{App: "shop", Table: "per_minute", Partition: part("home")}))
	if err != nil || len(sc.Msg.Entries) != 2 || !sc.Msg.Entries[0].Windowed || sc.Msg.Entries[0].Key.GetStringValue() != "home" ||
		sc.Msg.Entries[1].WindowEndMs != 180_000 {
		t.Errorf("windowed Scan = %v, %v", sc, err)
	}
}

func TestBadInput(t *testing.T) {
	r := newRig(t, "")
	ctx := t.Context()
	get := func(m *weirv1.TableGetRequest) error {
		_, err := r.tables.Get(ctx, connect.NewRequest(m))
		return err
	}
	for name, tc := range map[string]struct {
		err  error
		code connect.Code
	}{
		"no app":          {get(&weirv1.TableGetRequest{Table: "counts", Key: key("a")}), connect.CodeInvalidArgument},
		"unknown app":     {get(&weirv1.TableGetRequest{App: "nope", Table: "counts", Key: key("a")}), connect.CodeNotFound},
		"unknown table":   {get(&weirv1.TableGetRequest{App: "shop", Table: "nope", Key: key("a")}), connect.CodeNotFound},
		"no key":          {get(&weirv1.TableGetRequest{App: "shop", Table: "counts"}), connect.CodeInvalidArgument},
		"null key":        {get(&weirv1.TableGetRequest{App: "shop", Table: "counts", Key: key(nil)}), connect.CodeInvalidArgument},
		"object for text": {get(&weirv1.TableGetRequest{App: "shop", Table: "counts", Key: key(map[string]any{"a": 1})}), connect.CodeInvalidArgument},
		"not a number":    {get(&weirv1.TableGetRequest{App: "shop", Table: "by_id", Key: key("abc")}), connect.CodeInvalidArgument},
		"internal key":    {get(&weirv1.TableGetRequest{App: "shop", Table: "counts", Key: &weirv1.TableKey{Encoded: []byte("\x00avg")}}), connect.CodeInvalidArgument},
		"get windowed":    {get(&weirv1.TableGetRequest{App: "shop", Table: "per_minute", Key: key("home")}), connect.CodeInvalidArgument},
	} {
		t.Run(name, func(t *testing.T) { wantCode(t, tc.err, tc.code) })
	}
	scan := func(m *weirv1.TableScanRequest) error {
		_, err := r.tables.Scan(ctx, connect.NewRequest(m))
		return err
	}
	wantCode(t, scan(&weirv1.TableScanRequest{App: "shop", Table: "counts", Partition: 9}), connect.CodeInvalidArgument)
	wantCode(t, scan(&weirv1.TableScanRequest{App: "shop", Table: "counts", Partition: -1}), connect.CodeInvalidArgument)
	wantCode(t, scan(&weirv1.TableScanRequest{App: "shop", Table: "counts", Limit: 5000}), connect.CodeInvalidArgument)
	wantCode(t, scan(&weirv1.TableScanRequest{App: "shop", Table: "counts", Cursor: "!!"}), connect.CodeInvalidArgument)
	wantCode(t, scan(&weirv1.TableScanRequest{App: "shop", Table: "counts", Prefix: "a\x00"}), connect.CodeInvalidArgument)
	_, err := r.tables.GetWindows(ctx, connect.NewRequest(&weirv1.TableWindowsRequest{App: "shop", Table: "per_minute", Key: key("home"), FromMs: 10, ToMs: 5}))
	wantCode(t, err, connect.CodeInvalidArgument)
	_, err = r.tables.GetWindows(ctx, connect.NewRequest(&weirv1.TableWindowsRequest{App: "shop", Table: "counts", Key: key("home")}))
	wantCode(t, err, connect.CodeInvalidArgument)
}

func TestAuthAndStats(t *testing.T) {
	r := newRig(t, "s3cret")
	ctx := t.Context()
	anon := weirv1connect.NewTableServiceClient(http.DefaultClient, r.url)
	_, err := anon.Get(ctx, connect.NewRequest(&weirv1.TableGetRequest{App: "shop", Table: "counts", Key: key("apple")}))
	wantCode(t, err, connect.CodeUnauthenticated)
	wrong := weirv1connect.NewTableServiceClient(http.DefaultClient, r.url, connect.WithInterceptors(service.WithBearer("nope")))
	_, err = wrong.Get(ctx, connect.NewRequest(&weirv1.TableGetRequest{App: "shop", Table: "counts", Key: key("apple")}))
	wantCode(t, err, connect.CodeUnauthenticated)
	if _, err := r.tables.Get(ctx, connect.NewRequest(&weirv1.TableGetRequest{App: "shop", Table: "counts", Key: key("apple")})); err != nil {
		t.Errorf("with the token: %v", err)
	}
	st, err := r.stats.GetStats(ctx, connect.NewRequest(&weirv1.GetStatsRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	m := st.Msg
	if m.Worker != "w1" || len(m.Tasks) != 1 || m.Tasks[0].Lag != 3 || m.Tasks[0].RecordsPerSecond != 12.5 ||
		m.Tasks[0].Restore.GetTarget() != 10 || len(m.Globals) != 1 || m.Globals[0].Table != "limits" {
		t.Errorf("GetStats = %v", m)
	}
}
