package tables

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/weirhq/weir/libs/topics"
)

func TestReadYourWrites(t *testing.T) {
	s, log := openStore(t), &memLog{}
	task := activeTask(t, s, log, TaskConfig{})
	tb := table(t, task, "users")
	ctx := context.Background()

	must(t, tb.Set([]byte("alice"), []byte("1")))
	if v, ok := mustGet(t, tb, "alice"); !ok || v != "1" {
		t.Fatalf("pending read = %q %v", v, ok)
	}
	if _, ok, _ := s.Get(task.cfg.Topic, 0, "users", []byte("alice")); ok {
		t.Fatal("uncommitted write visible in the store")
	}
	must(t, task.Commit(ctx, nil, nil))
	if v, ok, _ := s.Get(task.cfg.Topic, 0, "users", []byte("alice")); !ok || string(v) != "1" {
		t.Fatalf("committed read = %q %v", v, ok)
	}
	must(t, tb.Delete([]byte("alice")))
	if _, ok := mustGet(t, tb, "alice"); ok {
		t.Fatal("pending delete not visible")
	}
	must(t, tb.Set([]byte("empty"), nil))
	if v, ok := mustGet(t, tb, "empty"); !ok || v != "" {
		t.Fatalf("nil value should be stored as empty, got %q %v", v, ok)
	}
	must(t, task.Commit(ctx, nil, nil))
	if _, ok, _ := s.Get(task.cfg.Topic, 0, "users", []byte("alice")); ok {
		t.Fatal("committed delete not applied")
	}
	if v, ok, _ := s.Get(task.cfg.Topic, 0, "users", []byte("empty")); !ok || len(v) != 0 {
		t.Fatalf("empty value = %q %v", v, ok)
	}
	// Another table of the same task is separate.
	if _, ok := mustGet(t, table(t, task, "users2"), "empty"); ok {
		t.Fatal("tables share keys")
	}
}

func TestIncrement(t *testing.T) {
	s, log := openStore(t), &memLog{}
	task := activeTask(t, s, log, TaskConfig{})
	tb := table(t, task, "counts")
	for i := range 5 {
		n, err := tb.Increment([]byte("k"), 2)
		must(t, err)
		if n != int64(2*(i+1)) {
			t.Fatalf("increment %d = %d", i, n)
		}
		if i == 2 {
			must(t, task.Commit(context.Background(), nil, nil))
		}
	}
	n, ok, err := Typed[int64]{tb, Int64Codec{}}.Get([]byte("k"))
	if err != nil || !ok || n != 10 {
		t.Fatalf("typed get = %d %v %v", n, ok, err)
	}
	if n, _ := tb.Increment([]byte("neg"), -3); n != -3 {
		t.Fatalf("negative increment = %d", n)
	}
	must(t, tb.Set([]byte("text"), []byte("abc")))
	if _, err := tb.Increment([]byte("text"), 1); err == nil {
		t.Fatal("incrementing a non-int64 value should fail")
	}
}

func TestTypedJSON(t *testing.T) {
	type user struct {
		Name string `json:"name"`
		Age  int    `json:"age"`
	}
	task := activeTask(t, openStore(t), &memLog{}, TaskConfig{})
	users := Typed[user]{table(t, task, "users"), JSONCodec[user]{}}
	must(t, users.Set([]byte("u1"), user{"Ann", 40}))
	u, ok, err := users.Get([]byte("u1"))
	if err != nil || !ok || u != (user{"Ann", 40}) {
		t.Fatalf("get = %+v %v %v", u, ok, err)
	}
	must(t, users.Table.Set([]byte("bad"), []byte("{")))
	if _, _, err := users.Get([]byte("bad")); err == nil {
		t.Fatal("decoding bad JSON should fail")
	}
}

func scanAll(t *testing.T, tb Table, prefix string) []string {
	t.Helper()
	var out []string
	must(t, tb.Scan([]byte(prefix), func(k, v []byte) bool {
		out = append(out, fmt.Sprintf("%s=%s", k, v))
		return true
	}))
	return out
}

func TestScan(t *testing.T) {
	task := activeTask(t, openStore(t), &memLog{}, TaskConfig{})
	tb := table(t, task, "t")
	other := table(t, task, "t2")
	for _, k := range []string{"a1", "a3", "a5", "b1"} {
		must(t, tb.Set([]byte(k), []byte("c")))
	}
	must(t, other.Set([]byte("a2"), []byte("x")))
	must(t, task.Commit(context.Background(), nil, nil))
	// Pending: a new key between committed ones, an overwrite, a delete, a pending-only tail.
	must(t, tb.Set([]byte("a2"), []byte("p")))
	must(t, tb.Set([]byte("a3"), []byte("p")))
	must(t, tb.Delete([]byte("a5")))
	must(t, tb.Set([]byte("a9"), []byte("p")))
	must(t, tb.Set([]byte("a0"), []byte("p")))

	want := []string{"a0=p", "a1=c", "a2=p", "a3=p", "a9=p"}
	if got := scanAll(t, tb, "a"); !slices.Equal(got, want) {
		t.Fatalf("scan a = %v, want %v", got, want)
	}
	if got := scanAll(t, tb, ""); !slices.Equal(got, append(want, "b1=c")) {
		t.Fatalf("scan all = %v", got)
	}
	if got := scanAll(t, tb, "zz"); len(got) != 0 {
		t.Fatalf("scan zz = %v", got)
	}
	var first []string
	must(t, tb.Scan(nil, func(k, v []byte) bool { first = append(first, string(k)); return len(first) < 2 }))
	if !slices.Equal(first, []string{"a0", "a1"}) {
		t.Fatalf("early stop = %v", first)
	}
	// After commit the store alone gives the same answer.
	must(t, task.Commit(context.Background(), nil, nil))
	var committed []string
	must(t, task.store.Scan(task.cfg.Topic, 0, "t", []byte("a"), func(k, v []byte) bool {
		committed = append(committed, fmt.Sprintf("%s=%s", k, v))
		return true
	}))
	if !slices.Equal(committed, want) {
		t.Fatalf("committed scan = %v, want %v", committed, want)
	}
}

func TestDropPartition(t *testing.T) {
	s := openStore(t)
	log0, log1 := &memLog{}, &memLog{}
	t0 := activeTask(t, s, log0, TaskConfig{Partition: 0})
	t1 := activeTask(t, s, log1, TaskConfig{Partition: 1})
	for _, task := range []*Task{t0, t1} {
		tb := table(t, task, "t")
		for i := range 100 {
			must(t, tb.Set(fmt.Appendf(nil, "k%03d", i), []byte("v")))
		}
		must(t, task.Commit(context.Background(), map[topics.TopicPartition]int64{{Topic: "in", Partition: 0}: 5}, nil))
	}
	must(t, s.DropPartition(t0.cfg.Topic, 0))
	n0, n1 := 0, 0
	must(t, s.Scan(t0.cfg.Topic, 0, "t", nil, func(_, _ []byte) bool { n0++; return true }))
	must(t, s.Scan(t0.cfg.Topic, 1, "t", nil, func(_, _ []byte) bool { n1++; return true }))
	if n0 != 0 || n1 != 100 {
		t.Fatalf("after drop: partition 0 has %d keys, partition 1 has %d", n0, n1)
	}
	if _, ok, _ := s.State(t0.cfg.Topic, 0); ok {
		t.Fatal("partition 0 state survived the drop")
	}
	st, ok, err := s.State(t0.cfg.Topic, 1)
	if err != nil || !ok || st.Next != 101 || st.Marker.Positions[topics.TopicPartition{Topic: "in"}] != 5 {
		t.Fatalf("partition 1 state = %+v %v %v", st, ok, err)
	}
	if err := s.DropPartition("bad/topic", 0); err == nil {
		t.Fatal("dropping a bad topic name should fail")
	}
}
