package tables

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/weirhq/weir/libs/topics"
)

var windowInput = topics.TopicPartition{Topic: "events", Partition: 0}

func mergeSum(a, b []byte) ([]byte, error) {
	x, err := DecodeInt64(a)
	if err != nil {
		return nil, err
	}
	y, err := DecodeInt64(b)
	if err != nil {
		return nil, err
	}
	return EncodeInt64(x + y), nil
}

// add returns an UpdateFunc adding n to an Int64 aggregate.
func add(n int64) UpdateFunc {
	return func(old []byte, ok bool) ([]byte, error) {
		var v int64
		if ok {
			var err error
			if v, err = DecodeInt64(old); err != nil {
				return nil, err
			}
		}
		return EncodeInt64(v + n), nil
	}
}

// windowRig is a task with windowed tables on a store in a directory that can be closed
// and reopened (a restart), with the changelog in memory.
type windowRig struct {
	t     *testing.T
	dir   string
	log   *memLog
	specs map[string]WindowSpec
	store *Store
	task  *Task
	ws    *Windows
	tabs  map[string]*WindowedTable
}

func newWindowRig(t *testing.T, specs map[string]WindowSpec) *windowRig {
	r := &windowRig{t: t, dir: t.TempDir(), log: &memLog{}, specs: specs}
	r.open()
	t.Cleanup(func() {
		if r.store != nil {
			r.store.Close()
		}
	})
	return r
}

// open opens the store and a task on it, as a restore from the local dir would leave it.
func (r *windowRig) open() {
	t := r.t
	t.Helper()
	s, err := Open(r.dir, Options{CacheBytes: 8 << 20, MemtableBytes: 4 << 20, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	r.store = s
	task := activeTask(t, s, r.log, TaskConfig{})
	st, ok, err := s.State(task.cfg.Topic, 0)
	must(t, err)
	if ok {
		task.end, task.seq = st.Next, st.Seq
		if st.Marker != nil {
			maps.Copy(task.positions, st.Marker.Positions)
		}
	}
	r.task = task
	r.ws, err = OpenWindows(task)
	must(t, err)
	r.tabs = map[string]*WindowedTable{}
	for name, sp := range r.specs {
		r.tabs[name], err = r.ws.Table(name, sp)
		must(t, err)
	}
}

// restart closes the task and the store, losing uncommitted changes (a crash when nothing
// was committed since), and opens them again.
func (r *windowRig) restart() {
	must(r.t, r.task.Close())
	must(r.t, r.store.Close())
	r.store = nil
	r.open()
}

func (r *windowRig) commit(pos int64) {
	r.t.Helper()
	must(r.t, r.task.Commit(context.Background(), map[topics.TopicPartition]int64{windowInput: pos}, nil))
}

func (r *windowRig) position() int64 { return r.task.Positions()[windowInput] }

func (r *windowRig) observe(ts int64) []ClosedWindow {
	r.t.Helper()
	cw, err := r.ws.Observe(ts)
	must(r.t, err)
	return cw
}

func (r *windowRig) update(table, key string, ts, n int64) UpdateResult {
	r.t.Helper()
	res, err := r.tabs[table].Update([]byte(key), ts, add(n))
	must(r.t, err)
	return res
}

// record observes ts and adds n under key, returning the windows closed.
func (r *windowRig) record(table, key string, ts, n int64) []ClosedWindow {
	r.t.Helper()
	cw := r.observe(ts)
	r.update(table, key, ts, n)
	return cw
}

func (r *windowRig) value(table, key string, start int64) (int64, bool) {
	r.t.Helper()
	wv, ok, err := r.tabs[table].Get([]byte(key), start)
	must(r.t, err)
	if !ok {
		return 0, false
	}
	n, err := DecodeInt64(wv.Value)
	must(r.t, err)
	return n, true
}

func closedInts(t *testing.T, cws []ClosedWindow) []closedInt {
	t.Helper()
	var out []closedInt
	for _, c := range cws {
		n, err := DecodeInt64(c.Value)
		must(t, err)
		out = append(out, closedInt{c.Table, string(c.Key), c.Start, c.End, n})
	}
	return out
}

type closedInt struct {
	Table      string
	Key        string
	Start, End int64
	N          int64
}

const ms = time.Millisecond
