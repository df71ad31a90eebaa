package tables

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/weirhq/weir/libs/agents"
	"github.com/weirhq/weir/libs/topics"
)

// agentsTable adapts a Table to agents.Table (as the worker runtime does).
type agentsTable struct{ tb Table }

func (a agentsTable) Get(k []byte) ([]byte, bool, error) { return a.tb.Get(k) }
func (a agentsTable) Set(k, v []byte) error              { return a.tb.Set(k, v) }
func (a agentsTable) Delete(k []byte) error              { return a.tb.Delete(k) }
func (a agentsTable) Scan(p []byte, fn func(k, v []byte) error) error {
	var ferr error
	err := a.tb.Scan(p, func(k, v []byte) bool { ferr = fn(k, v); return ferr == nil })
	if ferr != nil {
		return ferr
	}
	return err
}

// The identities a consuming task remembers are part of its committed state: a task
// restored from its changelog alone (a fresh worker) drops the replays of the window
// closes and timer firings it consumed before its last commit, and processes again those
// it consumed after it (their effects were lost with the crash).
func TestIdentityDedupSurvivesRestoreFromChangelog(t *testing.T) {
	ctx := context.Background()
	const ms = int64(1_700_000_000_000)
	closeRec := func(key string, start, off int64) agents.Record {
		id := CloseIdentity("up-changelog/0", "counts", []byte(key), start)
		h := append(agents.IdentityHeaders("up/g/0", id, 0), agents.WindowHeaders(start, start+60_000)...)
		return agents.Record{Topic: "closes", Offset: off, Headers: h}
	}
	fire := func(at int64, seq int, off int64) agents.Record {
		id := agents.TimerIdentity("up/timers", "tick", time.UnixMilli(at))
		return agents.Record{Topic: "closes", Offset: off, Headers: agents.IdentityHeaders("up/timers", id, seq)}
	}
	newDedup := func(task *Task) *agents.Dedup {
		d := agents.NewDedup(task.Dedup())
		d.TrackIdentities(agentsTable{table(t, task, "weir.dedup")}, time.Hour)
		return d
	}
	consume := func(d *agents.Dedup, recs ...agents.Record) (kept []int64) {
		for _, r := range recs {
			dup, err := d.Seen(&r)
			must(t, err)
			if !dup {
				kept = append(kept, r.Offset)
			}
		}
		return kept
	}

	log := &memLog{}
	first := activeTask(t, openStore(t), log, TaskConfig{Topic: "c"})
	d := newDedup(first)
	if got := consume(d, closeRec("a", ms, 0), fire(ms, 0, 1), fire(ms, 1, 2)); len(got) != 3 {
		t.Fatalf("first deliveries: kept %v", got)
	}
	must(t, first.Commit(ctx, map[topics.TopicPartition]int64{{Topic: "closes"}: 3}, d.Changed()))
	// Consumed after the commit, then the worker crashes: not committed.
	if got := consume(d, closeRec("b", ms, 3)); len(got) != 1 {
		t.Fatalf("close b: kept %v", got)
	}

	// A fresh worker restores the task from the changelog alone and resumes at offset 3.
	store := openStore(t)
	replay(t, store, log.records)
	second := activeTask(t, store, &memLog{}, TaskConfig{Topic: "c"})
	d = newDedup(second)
	got := consume(d,
		closeRec("b", ms, 3), // its first consumption was lost with the crash: processed again
		// The producers crashed too and replay what they emitted after their last commits.
		closeRec("a", ms, 4), fire(ms, 0, 5), fire(ms, 1, 6), closeRec("b", ms, 7),
		closeRec("a", ms+60_000, 8))
	if want := []int64{3, 8}; !slices.Equal(got, want) {
		t.Fatalf("after the restore: kept %v, want %v", got, want)
	}
	if d.Dropped() != 4 {
		t.Fatalf("dropped %d, want 4", d.Dropped())
	}
}
