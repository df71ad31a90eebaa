package pipeline_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/libs/agents"
	"github.com/weirhq/weir/libs/agents/pipeline"
)

// The apps of `make bench-agents` (integration/bench/agents.go), to profile the executor's
// per-record cost without a broker.
const benchModel = `
app "bench" {
  partitions = 1
}

model "View" {
  field "user" {
    type = string
  }
  field "page" {
    type = string
  }
  field "ms" {
    type = number
  }
  field "pad" {
    type = string
  }
}

topic "views" {
  name  = "in"
  value = model.View
}

topic "out" {
  name  = "out"
  value = json
}
`

const benchStateless = benchModel + `
agent "pipe" {
  from = topic.views
  filter {
    when = value.page != "/p/0"
  }
  map {
    value = { user = value.user, page = value.page, ms = value.ms }
  }
  emit {
    to = topic.out
  }
}
`

const benchStateful = benchModel + `
table "counts" {
  value   = number
  default = 0
}

agent "pipe" {
  from = topic.views
  filter {
    when = value.page != "/p/0"
  }
  aggregate "count" {
    into = table.counts
  }
  emit {
    to = topic.out
  }
}
`

// benchTables is one in-memory table per name.
type benchTables map[string]*benchTable

func (b benchTables) Table(name string) (agents.Table, error) {
	t := b[name]
	if t == nil {
		t = &benchTable{m: map[string][]byte{}}
		b[name] = t
	}
	return t, nil
}

type benchTable struct{ m map[string][]byte }

func (t *benchTable) Get(k []byte) ([]byte, bool, error) { v, ok := t.m[string(k)]; return v, ok, nil }
func (t *benchTable) Set(k, v []byte) error {
	t.m[string(k)] = append([]byte(nil), v...)
	return nil
}
func (t *benchTable) Delete(k []byte) error { delete(t.m, string(k)); return nil }
func (t *benchTable) Scan([]byte, func(k, v []byte) error) error {
	return nil
}

func benchRecords(n int) []agents.Record {
	pad := strings.Repeat("x", 40)
	recs := make([]agents.Record, n)
	for i := range recs {
		user := "u" + strconv.Itoa(i%10_000)
		v, _ := json.Marshal(map[string]any{"user": user, "page": "/p/" + strconv.Itoa(i%50), "ms": i % 5000, "pad": pad})
		recs[i] = agents.Record{Topic: "in", Offset: int64(i), Key: []byte(user), Value: v, Timestamp: time.UnixMilli(int64(i))}
	}
	return recs
}

func benchProcess(b *testing.B, src string) {
	p, err := pipeline.Compile(parse(b, src), nil)
	if err != nil {
		b.Fatal(err)
	}
	var out int
	em := agents.EmitterFunc(func(m agents.Message) error { out += len(m.Value) + len(m.Headers); return nil })
	task, err := p.NewTask(pipeline.TaskConfig{Tables: benchTables{}, Emitter: em})
	if err != nil {
		b.Fatal(err)
	}
	recs := benchRecords(10_000)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := task.Process(ctx, recs[i%len(recs)]); err != nil {
			b.Fatal(err)
		}
	}
	if out == 0 {
		b.Fatal("no output")
	}
}

func BenchmarkProcessStateless(b *testing.B) { benchProcess(b, benchStateless) }
func BenchmarkProcessStateful(b *testing.B)  { benchProcess(b, benchStateful) }
