package runtime

import (
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/weirhq/weir/libs/agents"
	"github.com/weirhq/weir/libs/tables"
	"github.com/weirhq/weir/libs/topics"
)

// ownTables is a task's own tables: one table "counts".
type ownTables map[string]string

func (o ownTables) Table(name string) (agents.Table, error) {
	if name != "counts" {
		return nil, errors.New("no table " + name)
	}
	return ownTable(o), nil
}

type ownTable map[string]string

func (o ownTable) Get(k []byte) ([]byte, bool, error) {
	v, ok := o[string(k)]
	return []byte(v), ok, nil
}
func (o ownTable) Set(k, v []byte) error { o[string(k)] = string(v); return nil }
func (o ownTable) Delete(k []byte) error { delete(o, string(k)); return nil }
func (o ownTable) Scan([]byte, func(k, v []byte) error) error {
	return nil
}

// TestWithGlobals: a task reads its own tables and the app's global tables through one
// Tables; a global table is read-only, and a timer's Tables reach global tables only.
func TestWithGlobals(t *testing.T) {
	store, err := tables.Open(t.TempDir(), tables.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	cc := topics.ClientConfig{Brokers: []string{"127.0.0.1:1"}}
	admin, err := topics.NewAdmin(cc)
	if err != nil {
		t.Fatal(err)
	}
	decode := func(r *topics.Record) ([]byte, []byte, bool, error) { return r.Key, r.Value, false, nil }
	g, err := tables.OpenGlobal(store, tables.Kafka{Admin: admin, Consumer: topics.ConsumerConfig{ClientConfig: cc}},
		tables.GlobalConfig{SourceTopic: "limits", Table: "limits", Scope: "app", Decode: decode})
	if err != nil {
		t.Fatal(err)
	}
	gt := &GlobalTable{App: "app", Table: "limits", Topic: "limits"}
	gt.cur.Store(g)
	set := globalSet{"limits": gt}
	ts := withGlobals{own: ownTables{}, globals: set}

	counts, err := ts.Table("counts")
	if err != nil {
		t.Fatal(err)
	}
	if err := counts.Set([]byte("a"), []byte("1")); err != nil {
		t.Fatalf("writing the task's own table: %v", err)
	}
	limits, err := ts.Table("limits")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := limits.Get([]byte("a")); ok || err != nil {
		t.Fatalf("Get on an empty global table = %v %v", ok, err)
	}
	for _, werr := range []error{limits.Set([]byte("a"), []byte("1")), limits.Delete([]byte("a"))} {
		if werr == nil || !strings.Contains(werr.Error(), "read-only") || !strings.Contains(werr.Error(), "limits") {
			t.Errorf("writing a global table: %v, want a read-only error naming it", werr)
		}
	}
	if _, err := ts.Table("missing"); err == nil {
		t.Error("an unknown table opened")
	}
	if _, err := set.Table("counts"); err == nil || !strings.Contains(err.Error(), "not a global table") {
		t.Errorf("a timer opening a partitioned table: %v", err)
	}
}
