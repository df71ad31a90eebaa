package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/weirhq/weir/libs/agents"
	"github.com/weirhq/weir/libs/agents/pipeline"
	"github.com/weirhq/weir/libs/agents/testkit"
	"github.com/weirhq/weir/libs/config/app"
	"github.com/weirhq/weir/libs/topics"
)

func parse(t testing.TB, src string) *app.App {
	t.Helper()
	a, diags := app.Parse(map[string][]byte{"app.hcl": []byte(src)}, app.Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return a
}

const ordersApp = `
app "shop" {
  partitions = 4
}

model "Order" {
  field "user" {
    type = string
  }
  field "amount" {
    type = number
  }
  field "items" {
    type = list
    elem = string
  }
}

topic "orders" {
  value = model.Order
}

topic "users" {}

topic "big" {}

topic "items" {
  value = string
}

table "users" {
  global = true
  source = topic.users
}

agent "big" {
  from = topic.orders
  filter {
    when = value.amount >= 100
  }
  lookup "user" {
    table = table.users
    key   = value.user
  }
  set "name" {
    value = lookup.user == null ? "unknown" : lookup.user.name
  }
  map {
    key   = upper(value.user)
    value = { who = value.name, cents = floor(value.amount * 100) }
  }
  emit {
    to = topic.big
  }
}

agent "items" {
  from = topic.orders
  flat_map {
    value = value.items
  }
  emit {
    to    = topic.items
    value = upper(value)
  }
}
`

func TestPipelineSteps(t *testing.T) {
	a := parse(t, ordersApp)
	d, err := testkit.New(a)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, in := range []testkit.Input{
		{Topic: "users", Key: "ann", Value: map[string]any{"name": "Ann A."}},
		{Topic: "orders", Key: "o1", Value: map[string]any{"user": "ann", "amount": 120.5, "items": []any{"tea", "cup"}},
			Headers: map[string]string{"trace": "t1", agents.HeaderSeq: "99"}},
		{Topic: "orders", Key: "o2", Value: map[string]any{"user": "bob", "amount": 100}},
		{Topic: "orders", Key: "o3", Value: map[string]any{"user": "cy", "amount": 5}},
	} {
		if err := d.Send(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	recs := d.Records()
	got := map[string][]string{}
	for _, r := range recs {
		_, v, err := d.Plan().DecodeRecord(r.Topic, r.Key, r.Value)
		if err != nil {
			t.Fatal(err)
		}
		got[r.Topic] = append(got[r.Topic], fmt.Sprintf("%s=%v", r.Key, v))
		if want := topics.KeyPartition(r.Key, 4); r.Partition != want {
			t.Errorf("%s key %s in partition %d; want %d", r.Topic, r.Key, r.Partition, want)
		}
	}
	wantBig := map[string]bool{"ANN=map[cents:12050 who:Ann A.]": true, "BOB=map[cents:10000 who:unknown]": true}
	if len(got["big"]) != 2 || !wantBig[got["big"][0]] || !wantBig[got["big"][1]] {
		t.Errorf("big = %q", got["big"])
	}
	if fmt.Sprint(got["items"]) != "[o1=TEA o1=CUP]" {
		t.Errorf("items = %q", got["items"])
	}
	// Headers propagate, Weir's own are replaced, and every output of one input has its
	// own sequence number.
	seqs := map[string]bool{}
	for _, r := range recs {
		m := agents.Record{Headers: r.Headers}
		trace, _ := m.Header("trace")
		src, _ := m.Header(agents.HeaderSource)
		seq, _ := m.Header(agents.HeaderSeq)
		off, _ := m.Header(agents.HeaderOffset)
		task, _ := m.Header(agents.HeaderTask)
		if string(r.Key) == "ANN" || string(r.Key) == "o1" {
			if string(trace) != "t1" {
				t.Errorf("%s: trace header %q", r.Key, trace)
			}
			seqs[string(seq)] = true
		}
		if string(src) != "orders/"+strconv.Itoa(int(topics.KeyPartition(keyOf(r), 4))) || len(off) == 0 || len(task) == 0 {
			t.Errorf("%s: dedup headers source=%q offset=%q task=%q", r.Key, src, off, task)
		}
	}
	if len(seqs) != 3 || !seqs["0"] || !seqs["1"] || !seqs["2"] {
		t.Errorf("sequence numbers of o1's outputs = %v; want 0, 1 and 2", seqs)
	}
}

// keyOf returns the input key an output of ordersApp derives from.
func keyOf(r testkit.Record) []byte {
	switch string(r.Key) {
	case "ANN":
		return []byte("o1")
	case "BOB":
		return []byte("o2")
	}
	return r.Key
}

const aggApp = `
app "agg" {
  partitions = 3
}

topic "in" {}

topic "out" {}

table "count" {
  value   = number
  default = 0
}

table "sum" {
  value = number
}

table "min" {
  value = number
}

table "max" {
  value = number
}

table "avg" {
  value = number
}

table "last" {}

table "set" {
  value = list
}

agent "count" {
  from = topic.in
  group_by {
    key = value.k
  }
  aggregate "count" {
    into = table.count
  }
  emit {
    to = topic.out
  }
}

agent "sum" {
  from = topic.in
  group_by {
    key = value.k
  }
  aggregate "sum" {
    into  = table.sum
    value = value.n
  }
}

agent "min" {
  from = topic.in
  group_by {
    key = value.k
  }
  aggregate "min" {
    into  = table.min
    value = value.n
  }
}

agent "max" {
  from = topic.in
  group_by {
    key = value.k
  }
  aggregate "max" {
    into  = table.max
    value = value.n
  }
}

agent "avg" {
  from = topic.in
  group_by {
    key = value.k
  }
  aggregate "avg" {
    into  = table.avg
    value = value.n
  }
}

agent "last" {
  from = topic.in
  group_by {
    key = value.k
  }
  aggregate "last" {
    into  = table.last
    value = value.n
  }
}

agent "set" {
  from = topic.in
  group_by {
    key = value.k
  }
  aggregate "collect_set" {
    into  = table.set
    value = value.tag
  }
}
`

func TestAggregates(t *testing.T) {
	a := parse(t, aggApp)
	d, err := testkit.New(a)
	if err != nil {
		t.Fatal(err)
	}
	for i, in := range []struct {
		k   string
		n   any
		tag string
	}{{"a", 4.0, "x"}, {"b", 10.0, "y"}, {"a", -2.0, "y"}, {"a", 7.0, "x"}, {"a", nil, "z"}} {
		// Source keys differ from the grouping key: counts are only right if group_by
		// repartitions by value.k.
		if err := d.Send(context.Background(), testkit.Input{Topic: "in", Key: fmt.Sprintf("src-%d", i), Value: map[string]any{"k": in.k, "n": in.n, "tag": in.tag}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		table, key string
		want       any
	}{
		{"count", "a", 4.0}, {"count", "b", 1.0}, {"sum", "a", 9.0}, {"min", "a", -2.0}, {"max", "a", 7.0},
		{"avg", "a", 3.0}, {"avg", "b", 10.0}, {"last", "a", nil}, {"set", "a", []any{"x", "y", "z"}},
	} {
		got, ok, err := d.TableGet(c.table, c.key)
		if err != nil || !ok || fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("table %s[%s] = %v (found %v, err %v); want %v", c.table, c.key, got, ok, err, c.want)
		}
	}
	outs, err := d.Outputs()
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 5 {
		t.Fatalf("outputs = %v; want 5 counts", outs)
	}
	// Each count is emitted from the task owning the key: its partition is the key's.
	for _, r := range d.Records() {
		if want := topics.KeyPartition(r.Key, 3); r.Partition != want {
			t.Errorf("count for %s emitted to partition %d; want %d", r.Key, r.Partition, want)
		}
	}
}

const policyApp = `
app "policy" {}

topic "in" {}

topic "out" {}

topic "dead" {
  value = bytes
}

agent "dl" {
  from = topic.in
  filter {
    when = value.n > 0
  }
  emit {
    to    = topic.out
    value = { inverse = 1 / value.n }
  }
  on_error {
    retries     = 3
    backoff     = "100ms"
    max_backoff = "250ms"
    then        = "dead_letter"
    dead_letter = topic.dead
  }
}
`

func TestDeadLetterAfterRetries(t *testing.T) {
	d, err := testkit.New(parse(t, policyApp))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := d.Send(ctx, testkit.Input{Topic: "in", Key: "k", Value: map[string]any{"n": "x"}}); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(d.Retries()); got != "[100ms 200ms 250ms]" {
		t.Errorf("retry waits = %s; want [100ms 200ms 250ms]", got)
	}
	// A record that does not decode is not retried.
	if err := d.Send(ctx, testkit.Input{Topic: "dead", Key: "x", Value: "not read"}); err == nil {
		t.Error("sending to a topic nothing reads succeeded")
	}
	recs := d.Records()
	if len(recs) != 1 || recs[0].Topic != "dead" || string(recs[0].Value) != `{"n":"x"}` {
		t.Fatalf("records = %+v; want one dead letter", recs)
	}
	r := agents.Record{Headers: recs[0].Headers}
	for name, want := range map[string]string{
		agents.HeaderSourceTopic: "in", agents.HeaderSourcePartition: "0", agents.HeaderSourceOffset: "0",
		agents.HeaderAgent: "dl", agents.HeaderSeq: "0",
	} {
		if v, _ := r.Header(name); string(v) != want {
			t.Errorf("header %s = %q; want %q", name, v, want)
		}
	}
	if v, _ := r.Header(agents.HeaderError); len(v) == 0 {
		t.Error("no error header")
	}
}

func TestPoliciesAndPanics(t *testing.T) {
	src := `
app "p" {}

topic "in" {}

topic "bad" {}

agent "boom" {
  from    = topic.in
  handler = "boom"
  on_error {
    then = "skip"
  }
}

agent "stop" {
  from = topic.bad
  handler = "fail"
}
`
	calls := 0
	h := agents.Handlers{}
	if err := h.Register("boom", func(*agents.Context) error { calls++; panic("kaboom") }); err != nil {
		t.Fatal(err)
	}
	if err := h.Register("fail", func(c *agents.Context) error {
		if err := c.Set("nope", []byte("k"), []byte("v")); err == nil {
			return errors.New("writing an unknown table succeeded")
		}
		return errors.New("no")
	}); err != nil {
		t.Fatal(err)
	}
	if err := h.Register("fail", func(*agents.Context) error { return nil }); err == nil {
		t.Error("registering a name twice succeeded")
	}
	d, err := testkit.New(parse(t, src), testkit.WithHandlers(h))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := d.Send(ctx, testkit.Input{Topic: "in", Value: map[string]any{}}); err != nil {
		t.Fatalf("a panic with then = skip stopped the task: %v", err)
	}
	if calls != 1 {
		t.Errorf("handler called %d times; want 1", calls)
	}
	err = d.Send(ctx, testkit.Input{Topic: "bad", Value: 1})
	var ae *pipeline.AgentError
	if !errors.As(err, &ae) || ae.Agent != "stop" || ae.Err.Error() != "no" {
		t.Errorf("err = %v; want an AgentError of agent stop", err)
	}
}

func TestMissingHandler(t *testing.T) {
	src := "app \"p\" {}\n\ntopic \"in\" {}\n\nagent \"a\" {\n  from    = topic.in\n  handler = \"h\"\n}\n"
	if _, err := pipeline.Compile(parse(t, src), nil); err == nil {
		t.Error("compiling an app without its handler succeeded")
	}
}

// TestEmitKeyPassThrough: an emitted key is the input's key bytes when it is unchanged, a
// new encoding when it changed, and null stays null (not an empty key).
func TestEmitKeyPassThrough(t *testing.T) {
	p, err := pipeline.Compile(parse(t, `
app "keys" {
  partitions = 1
}

topic "in" {
  key = string
}

topic "out" {
  key = string
}

agent "pass" {
  from = topic.in
  emit {
    to = topic.out
  }
  emit {
    to  = topic.out
    key = key == null ? null : upper(key)
  }
}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []agents.Message
	task, err := p.NewTask(pipeline.TaskConfig{Emitter: agents.EmitterFunc(func(m agents.Message) error { got = append(got, m); return nil })})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, key := range [][]byte{[]byte("abc"), nil, {}} {
		got = nil
		if err := task.Process(ctx, agents.Record{Topic: "in", Key: key, Value: []byte(`1`)}); err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 {
			t.Fatalf("key %q: %d outputs, want 2", key, len(got))
		}
		if string(got[0].Key) != string(key) || (got[0].Key == nil) != (key == nil) {
			t.Errorf("key %q passed through as %q (nil %v)", key, got[0].Key, got[0].Key == nil)
		}
		if want := strings.ToUpper(string(key)); string(got[1].Key) != want || (got[1].Key == nil) != (key == nil) {
			t.Errorf("key %q upper-cased to %q, want %q", key, got[1].Key, want)
		}
	}
}
