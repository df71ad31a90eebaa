package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// App storage keys (the controller writes them; web and workers read them):
//
//	<prefix>/apps/<app>/versions/<n>   AppVersion, one per stored version (n = 1, 2, ...)
//	<prefix>/apps/<app>/current        AppHead: the current version number
//	<prefix>/apps/<app>/epoch-floor    EpochFloor: no task epoch of the app is below it
//	<prefix>/apps/<app>/paused         Paused: the assignment loop must unassign every task
//	<prefix>/controllers/<id>          ControllerRecord, put under the controller's lease

// AppVersionsPrefix is the prefix of every stored version of an app.
func (l Layout) AppVersionsPrefix(app string) string { return l.join("apps", app, "versions") + "/" }

// AppVersionKey is the key of version n of an app.
func (l Layout) AppVersionKey(app string, n int64) string {
	return l.join("apps", app, "versions", strconv.FormatInt(n, 10))
}

// AppHeadKey is the key of an app's current-version pointer; it exists while the app does.
func (l Layout) AppHeadKey(app string) string { return l.join("apps", app, "current") }

// EpochFloorKey is the key of an app's epoch floor, raised by a state reset.
func (l Layout) EpochFloorKey(app string) string { return l.join("apps", app, "epoch-floor") }

// PausedKey is the key of an app's paused marker: while it exists the assignment loop keeps
// every task of the app unassigned (no active, no standbys), so that its state can be wiped.
func (l Layout) PausedKey(app string) string { return l.join("apps", app, "paused") }

// ControllersPrefix is the prefix of the controller registry. The election prefix
// (Election) lies under it too; ParseController tells the two apart.
func (l Layout) ControllersPrefix() string { return l.join("controllers") + "/" }

// ControllerKey is the registry key of a controller, put under its lease.
func (l Layout) ControllerKey(id string) string { return l.join("controllers", id) }

// ParseController returns the controller id of a registry key, and false for any other key
// under ControllersPrefix (such as the election's).
func (l Layout) ParseController(key string) (string, bool) {
	seg, err := l.split(key, 2)
	if err != nil || seg[0] != "controllers" || seg[1] == "leader" {
		return "", false
	}
	return seg[1], true
}

// ValidateControllerID checks a controller id: not empty and not the election's name.
func ValidateControllerID(id string) error {
	switch id {
	case "":
		return errors.New("controller id is empty")
	case "leader":
		return errors.New(`controller id "leader" is reserved for the election prefix`)
	}
	return nil
}

// AppVersion is one stored version of an app: the source as applied and its normalized JSON.
type AppVersion struct {
	App        string          `json:"app"`
	Version    int64           `json:"version"`
	CreatedAt  time.Time       `json:"created_at"`
	Author     string          `json:"author,omitempty"`
	Origin     string          `json:"origin"` // "apply", "rollback to N"
	Files      []SourceFile    `json:"files"`
	Vars       []string        `json:"vars,omitempty"`
	VarFiles   []SourceFile    `json:"var_files,omitempty"`
	Normalized json.RawMessage `json:"normalized"`
	Digest     string          `json:"digest"` // SHA-256 of Normalized, hex
	ResetState bool            `json:"reset_state,omitempty"`
}

// SourceFile is one file of an app's source.
type SourceFile struct {
	Name    string `json:"name"`
	Content string `json:"content"`
}

// AppHead points at an app's current version.
type AppHead struct {
	Version   int64     `json:"version"`
	UpdatedAt time.Time `json:"updated_at"`
}

// EpochFloor is the lowest epoch any task of the app may have: the assignment loop never
// issues a lower one and workers refuse a lower one. A reset raises it. With ResetPositions,
// a task taken up at an epoch at or above Floor whose last applied commit marker has an
// epoch below Floor starts from the app's consumer-group offsets (which the reset committed)
// instead of the marker's input positions.
type EpochFloor struct {
	Floor          int64     `json:"floor"`
	RaisedAt       time.Time `json:"raised_at"`
	Reason         string    `json:"reason,omitempty"`
	ResetPositions bool      `json:"reset_positions,omitempty"`
}

// Paused marks an app whose tasks must stay unassigned (a state reset is in progress).
type Paused struct {
	Reason string    `json:"reason"`
	Since  time.Time `json:"since"`
	By     string    `json:"by,omitempty"` // controller id
}

// ControllerRecord is a controller's registry entry.
type ControllerRecord struct {
	ID        string    `json:"id"`
	Addr      string    `json:"addr"` // Connect address, host:port
	Version   string    `json:"version"`
	StartedAt time.Time `json:"started_at"`
}

// AppState is an app's controller records read at one revision. Head is nil when the app
// does not exist.
type AppState struct {
	Head       *AppHead
	HeadRev    int64 // ModRevision of the head key (0 when absent)
	Current    *AppVersion
	Topology   *Topology
	Floor      EpochFloor
	Paused     *Paused
	LastNumber int64 // highest stored version number (versions may outlive the head)
	Revision   int64
}

// ReadApp reads an app's head, current version, topology, epoch floor and paused marker in
// one transaction.
func ReadApp(ctx context.Context, kv clientv3.KV, l Layout, app string) (AppState, error) {
	resp, err := kv.Txn(ctx).Then(
		clientv3.OpGet(l.AppHeadKey(app)),
		clientv3.OpGet(l.Topology(app)),
		clientv3.OpGet(l.EpochFloorKey(app)),
		clientv3.OpGet(l.PausedKey(app)),
		clientv3.OpGet(l.AppVersionsPrefix(app), clientv3.WithPrefix(), clientv3.WithKeysOnly()),
	).Commit()
	if err != nil {
		return AppState{}, fmt.Errorf("reading app %q: %w", app, err)
	}
	st := AppState{Revision: resp.Header.Revision}
	get := func(i int) []byte {
		kvs := resp.Responses[i].GetResponseRange().Kvs
		if len(kvs) == 0 {
			return nil
		}
		return kvs[0].Value
	}
	if v := get(0); v != nil {
		var h AppHead
		if err := json.Unmarshal(v, &h); err != nil {
			return AppState{}, fmt.Errorf("decoding head of app %q: %w", app, err)
		}
		st.Head = &h
		st.HeadRev = resp.Responses[0].GetResponseRange().Kvs[0].ModRevision
	}
	if v := get(1); v != nil {
		t, err := DecodeTopology(v)
		if err != nil {
			return AppState{}, err
		}
		st.Topology = &t
	}
	if v := get(2); v != nil {
		if err := json.Unmarshal(v, &st.Floor); err != nil {
			return AppState{}, fmt.Errorf("decoding epoch floor of app %q: %w", app, err)
		}
	}
	if v := get(3); v != nil {
		var p Paused
		if err := json.Unmarshal(v, &p); err != nil {
			return AppState{}, fmt.Errorf("decoding paused marker of app %q: %w", app, err)
		}
		st.Paused = &p
	}
	for _, kv := range resp.Responses[4].GetResponseRange().Kvs {
		n, err := versionNumber(string(kv.Key))
		if err != nil {
			return AppState{}, err
		}
		st.LastNumber = max(st.LastNumber, n)
	}
	if st.Head != nil {
		v, err := ReadAppVersion(ctx, kv, l, app, st.Head.Version)
		if err != nil {
			return AppState{}, err
		}
		st.Current = &v
	}
	return st, nil
}

// ErrNotFound is returned for an app or version that does not exist.
var ErrNotFound = errors.New("not found")

// ReadAppVersion reads version n of an app.
func ReadAppVersion(ctx context.Context, kv clientv3.KV, l Layout, app string, n int64) (AppVersion, error) {
	resp, err := kv.Get(ctx, l.AppVersionKey(app, n))
	if err != nil {
		return AppVersion{}, fmt.Errorf("reading version %d of app %q: %w", n, app, err)
	}
	if len(resp.Kvs) == 0 {
		return AppVersion{}, fmt.Errorf("version %d of app %q: %w", n, app, ErrNotFound)
	}
	return DecodeAppVersion(resp.Kvs[0].Value)
}

// DecodeAppVersion decodes a stored version.
func DecodeAppVersion(value []byte) (AppVersion, error) {
	var v AppVersion
	if err := json.Unmarshal(value, &v); err != nil {
		return AppVersion{}, fmt.Errorf("decoding app version: %w", err)
	}
	return v, nil
}

// ReadAppVersions reads every stored version of an app, oldest first.
func ReadAppVersions(ctx context.Context, kv clientv3.KV, l Layout, app string) ([]AppVersion, error) {
	resp, err := kv.Get(ctx, l.AppVersionsPrefix(app), clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("reading versions of app %q: %w", app, err)
	}
	out := make([]AppVersion, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		v, err := DecodeAppVersion(kv.Value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", kv.Key, err)
		}
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b AppVersion) int { return int(a.Version - b.Version) })
	return out, nil
}

// ListApps returns the name and head of every app that has one, sorted by name.
func ListApps(ctx context.Context, kv clientv3.KV, l Layout) (map[string]AppHead, error) {
	resp, err := kv.Get(ctx, l.AppsPrefix(), clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("listing apps: %w", err)
	}
	out := map[string]AppHead{}
	for _, kv := range resp.Kvs {
		key := string(kv.Key)
		if !strings.HasSuffix(key, "/current") {
			continue
		}
		seg, err := l.split(key, 3)
		if err != nil || seg[0] != "apps" || seg[2] != "current" {
			continue
		}
		var h AppHead
		if err := json.Unmarshal(kv.Value, &h); err != nil {
			return nil, fmt.Errorf("decoding %s: %w", key, err)
		}
		out[seg[1]] = h
	}
	return out, nil
}

// ReadControllers lists the registered controllers.
func ReadControllers(ctx context.Context, kv clientv3.KV, l Layout) ([]ControllerRecord, error) {
	resp, err := kv.Get(ctx, l.ControllersPrefix(), clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("listing controllers: %w", err)
	}
	var out []ControllerRecord
	for _, kv := range resp.Kvs {
		if _, ok := l.ParseController(string(kv.Key)); !ok {
			continue
		}
		var c ControllerRecord
		if err := json.Unmarshal(kv.Value, &c); err != nil {
			return nil, fmt.Errorf("decoding %s: %w", kv.Key, err)
		}
		out = append(out, c)
	}
	return out, nil
}

func versionNumber(key string) (int64, error) {
	i := strings.LastIndexByte(key, '/')
	n, err := strconv.ParseInt(key[i+1:], 10, 64)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("parsing version key %q: bad version number", key)
	}
	return n, nil
}

// AppWrite is one guarded change of an app's records, committed in one transaction: it
// applies only while the guard holds and the app's head is still at HeadRev (0: the head
// must not exist), so neither a deposed leader nor a concurrent write of the same app can
// interleave.
type AppWrite struct {
	App     string
	HeadRev int64
	Ops     []clientv3.Op
}

// ErrConflict is returned when an app changed since it was read.
var ErrConflict = errors.New("the app changed concurrently; read it again")

// PutVersionOps returns the operations that store v and make it current.
func (l Layout) PutVersionOps(v AppVersion) ([]clientv3.Op, error) {
	// Without HTML escaping, the stored normalized JSON is the compacted original ("&&" in an
	// expression stays "&&").
	var value bytes.Buffer
	enc := json.NewEncoder(&value)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encoding version %d of app %q: %w", v.Version, v.App, err)
	}
	head, err := json.Marshal(AppHead{Version: v.Version, UpdatedAt: v.CreatedAt})
	if err != nil {
		return nil, fmt.Errorf("encoding head of app %q: %w", v.App, err)
	}
	return []clientv3.Op{
		clientv3.OpPut(l.AppVersionKey(v.App, v.Version), value.String()),
		clientv3.OpPut(l.AppHeadKey(v.App), string(head)),
	}, nil
}

// PutTopologyOp returns the operation that writes an app's topology.
func (l Layout) PutTopologyOp(t Topology) (clientv3.Op, error) {
	if err := t.Validate(); err != nil {
		return clientv3.Op{}, err
	}
	value, err := json.Marshal(t)
	if err != nil {
		return clientv3.Op{}, fmt.Errorf("encoding topology of app %q: %w", t.App, err)
	}
	return clientv3.OpPut(l.Topology(t.App), string(value)), nil
}

// PutJSONOp returns a put of v, encoded as JSON, at key.
func PutJSONOp(key string, v any) (clientv3.Op, error) {
	value, err := json.Marshal(v)
	if err != nil {
		return clientv3.Op{}, fmt.Errorf("encoding %s: %w", key, err)
	}
	return clientv3.OpPut(key, string(value)), nil
}

// DeleteAppOps returns the operations that remove an app's controller records: versions,
// head, topology, epoch floor and paused marker. Assignments and handoffs are left to the
// assignment loop, which drops the tasks of an app whose topology is gone (and their worker
// index entries with them).
func (l Layout) DeleteAppOps(app string) []clientv3.Op {
	return []clientv3.Op{
		clientv3.OpDelete(l.AppVersionsPrefix(app), clientv3.WithPrefix()),
		clientv3.OpDelete(l.AppHeadKey(app)),
		clientv3.OpDelete(l.Topology(app)),
		clientv3.OpDelete(l.EpochFloorKey(app)),
		clientv3.OpDelete(l.PausedKey(app)),
	}
}

// CommitApp commits w, fenced by guard (nil: unguarded). It returns the revision of the
// write, ErrNotLeader if the guard failed, or ErrConflict if the app's head moved.
func CommitApp(ctx context.Context, kv clientv3.KV, l Layout, guard *Guard, w AppWrite) (int64, error) {
	if len(w.Ops)+1 > MaxTxnOps {
		return 0, fmt.Errorf("writing app %q: %d operations exceed etcd's limit of %d", w.App, len(w.Ops), MaxTxnOps)
	}
	cmps := []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(l.AppHeadKey(w.App)), "=", w.HeadRev)}
	var elseOps []clientv3.Op
	if guard != nil {
		cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(guard.Key), "=", guard.Rev))
		elseOps = append(elseOps, clientv3.OpGet(guard.Key))
	}
	resp, err := kv.Txn(ctx).If(cmps...).Then(w.Ops...).Else(elseOps...).Commit()
	if err != nil {
		return 0, fmt.Errorf("writing app %q: %w", w.App, err)
	}
	if resp.Succeeded {
		return resp.Header.Revision, nil
	}
	if guard != nil {
		kvs := resp.Responses[0].GetResponseRange().Kvs
		if len(kvs) == 0 || kvs[0].CreateRevision != guard.Rev {
			return 0, fmt.Errorf("writing app %q: %w", w.App, ErrNotLeader)
		}
	}
	return 0, fmt.Errorf("writing app %q: %w", w.App, ErrConflict)
}
