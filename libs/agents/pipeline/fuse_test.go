package pipeline_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/weirhq/weir/libs/agents"
	"github.com/weirhq/weir/libs/agents/pipeline"
	"github.com/weirhq/weir/libs/topics"
)

const fuseApp = `
app "fuse" {
  partitions = 1
}

topic "in" {}

topic "out" {}

agent "pipe" {
  from = topic.in
  on_error {
    then = "skip"
  }
  map {
    key   = "${key}-${value.n}"
    value = { k = key, n = value.n * 2, s = value.s, list = [value.s, 1], nested = { a = value.s } }
  }
  emit {
    to = topic.out%s
  }
}
`

// runFuse processes recs with the fuse app (emit extra appended to the emit block) and
// returns what was emitted and the error of each record.
func runFuse(t *testing.T, extra string, recs []agents.Record) ([]agents.Message, []string) {
	t.Helper()
	p, err := pipeline.Compile(parse(t, fmt.Sprintf(fuseApp, extra)), nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []agents.Message
	em := agents.EmitterFunc(func(m agents.Message) error {
		m.Headers = append([]topics.Header(nil), m.Headers...)
		out = append(out, m)
		return nil
	})
	var failed []string
	task, err := p.NewTask(pipeline.TaskConfig{Emitter: em, OnError: func(agent, then string) { failed = append(failed, agent+"/"+then) }})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := task.Process(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	return out, failed
}

// TestMapEmitFusedSameOutput checks that a map step whose object goes straight to an emit
// (encoded without building the object) emits exactly what the two steps emit apart (an
// emit with a value expression of its own is not fused), including the records that fail.
func TestMapEmitFusedSameOutput(t *testing.T) {
	var recs []agents.Record
	for i, v := range []string{
		`{"n": 1, "s": "a"}`, `{"n": 2.5, "s": "<b>&\u2028"}`, `{"n": "x", "s": "c"}`, `{"s": "no n"}`,
		`{"n": 1e300, "s": "big"}`, `{"n": -0, "s": null}`, `not json`, `{"n": 3, "s": {"deep": [1, 2]}}`,
	} {
		recs = append(recs, agents.Record{Topic: "in", Offset: int64(i), Key: []byte(fmt.Sprintf("k%d", i)), Value: []byte(v), Timestamp: time.UnixMilli(int64(i))})
	}
	fused, ferrs := runFuse(t, "", recs)
	apart, aerrs := runFuse(t, "\n    value = value", recs)
	if len(fused) != len(apart) || len(fused) < 4 {
		t.Fatalf("fused emitted %d records, apart %d (want the same, at least 4)", len(fused), len(apart))
	}
	for i := range fused {
		f, a := fused[i], apart[i]
		if string(f.Key) != string(a.Key) || !bytes.Equal(f.Value, a.Value) || f.Topic != a.Topic || !f.Timestamp.Equal(a.Timestamp) ||
			fmt.Sprint(f.Headers) != fmt.Sprint(a.Headers) {
			t.Errorf("record %d:\n fused: %s %s %v\n apart: %s %s %v", i, f.Key, f.Value, f.Headers, a.Key, a.Value, a.Headers)
		}
	}
	if fmt.Sprint(ferrs) != fmt.Sprint(aerrs) || len(ferrs) == 0 {
		t.Errorf("failures: fused %v, apart %v (want the same, some)", ferrs, aerrs)
	}
}
