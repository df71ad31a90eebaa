package cluster

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// MaxTxnOps is etcd's default limit on the operations of one transaction (--max-txn-ops).
const MaxTxnOps = 128

// ErrNotLeader is returned when a guarded write finds that the guard no longer holds: the
// writer has been deposed and must stop writing.
var ErrNotLeader = errors.New("leadership guard failed: not the leader")

// Update is one task's change: Old is the record as last read or published (nil if the task has
// no key), New the record to write (nil deletes the task). ClearHandoff also deletes the task's
// released record in the same transaction (a completed, aborted or stale handoff).
type Update struct {
	Task         TaskKey
	Old          *Assignment
	New          *Assignment
	ClearHandoff bool
}

// Guard fences writes on leadership: a transaction applies only while Key still has
// CreateRevision Rev, as with concurrency.Election's Key() and Rev().
type Guard struct {
	Key string
	Rev int64
}

// Publisher writes assignment changes to etcd. Each task's record and its worker index entries
// change in one transaction, so a worker's index always matches the task keys; a call's tasks
// are packed into transactions of at most MaxTxnOps operations, which run up to Concurrency at a
// time. A call is not atomic as a whole: on error some transactions may have applied, each
// leaving its tasks consistent. A Publisher is safe for concurrent use if KV is.
type Publisher struct {
	KV          clientv3.KV
	Layout      Layout
	Guard       *Guard // nil: unguarded
	Concurrency int    // transactions in flight; 1 when zero
	MaxOps      int    // operations per transaction; MaxTxnOps when zero
}

// Publish applies updates and returns, for each, the revision of the transaction that wrote it
// (the task's epoch when it started a new one). Whenever New's active or lease differs from
// Old's (or there is no Old), the record gets a new epoch; otherwise New.Epoch is stored as given
// (0 also starts a new epoch).
func (p *Publisher) Publish(ctx context.Context, updates []Update) ([]int64, error) {
	txns, err := p.plan(updates)
	if err != nil {
		return nil, fmt.Errorf("publishing assignments: %w", err)
	}
	revs := make([]int64, len(updates))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, max(1, p.Concurrency))
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for _, tx := range txns {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			rev, err := p.commit(ctx, tx.ops)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if first == nil {
					first = err
					cancel()
				}
				return
			}
			for _, i := range tx.updates {
				revs[i] = rev
			}
		})
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	if first != nil {
		return revs, fmt.Errorf("publishing assignments: %w", first)
	}
	return revs, nil
}

func (p *Publisher) commit(ctx context.Context, ops []clientv3.Op) (int64, error) {
	txn := p.KV.Txn(ctx)
	if p.Guard != nil {
		txn = txn.If(clientv3.Compare(clientv3.CreateRevision(p.Guard.Key), "=", p.Guard.Rev))
	}
	resp, err := txn.Then(ops...).Commit()
	if err != nil {
		return 0, fmt.Errorf("committing transaction of %d operations: %w", len(ops), err)
	}
	if !resp.Succeeded {
		return 0, ErrNotLeader
	}
	return resp.Header.Revision, nil
}

// txn is one planned transaction: its operations and the updates they carry.
type txn struct {
	ops     []clientv3.Op
	updates []int
}

// plan turns updates into transactions, never splitting one task's operations.
func (p *Publisher) plan(updates []Update) ([]txn, error) {
	limit := p.MaxOps
	if limit <= 0 {
		limit = MaxTxnOps
	}
	seen := make(map[TaskKey]bool, len(updates))
	var (
		out []txn
		cur txn
	)
	for i, u := range updates {
		if seen[u.Task] {
			return nil, fmt.Errorf("task %s updated twice", u.Task)
		}
		seen[u.Task] = true
		ops, err := p.ops(u)
		if err != nil {
			return nil, err
		}
		if len(ops) > limit {
			return nil, fmt.Errorf("task %s needs %d operations, more than %d", u.Task, len(ops), limit)
		}
		if len(cur.ops)+len(ops) > limit {
			out = append(out, cur)
			cur = txn{}
		}
		cur.ops = append(cur.ops, ops...)
		cur.updates = append(cur.updates, i)
	}
	if len(cur.ops) > 0 {
		out = append(out, cur)
	}
	return out, nil
}

// ops lists one update's operations: the task key, an index entry per named worker, and
// deletes of index entries of workers no longer named.
func (p *Publisher) ops(u Update) ([]clientv3.Op, error) {
	var before, after []string
	if u.Old != nil {
		before = u.Old.Workers()
	}
	var ops []clientv3.Op
	if u.New == nil {
		ops = append(ops, clientv3.OpDelete(p.Layout.Assignment(u.Task)))
	} else {
		rec := *u.New
		if u.Old == nil || u.Old.Active != rec.Active || u.Old.Lease != rec.Lease {
			rec.Epoch = 0
		}
		if rec.State == "" {
			rec.State = Stable
		}
		value, err := json.Marshal(rec)
		if err != nil {
			return nil, fmt.Errorf("encoding assignment of %s: %w", u.Task, err)
		}
		ops = append(ops, clientv3.OpPut(p.Layout.Assignment(u.Task), string(value)))
		after = rec.Workers()
		for _, w := range after {
			ops = append(ops, clientv3.OpPut(p.Layout.WorkerIndex(w, u.Task), string(value)))
		}
	}
	for _, w := range before {
		if !slices.Contains(after, w) {
			ops = append(ops, clientv3.OpDelete(p.Layout.WorkerIndex(w, u.Task)))
		}
	}
	if u.ClearHandoff || u.New == nil {
		ops = append(ops, clientv3.OpDelete(p.Layout.Handoff(u.Task)))
	}
	return ops, nil
}

// Diff returns the updates that turn old into new (records keyed by task), sorted by task. An
// unchanged active (same worker, same lease) keeps its epoch from old; a changed one gets a new
// epoch when published.
func Diff(old, new map[TaskKey]Assignment) []Update {
	var out []Update
	for t, n := range new {
		o, ok := old[t]
		if ok {
			if o.Active == n.Active && o.Lease == n.Lease {
				n.Epoch = o.Epoch
			}
			if o.Equal(n) {
				continue
			}
			out = append(out, Update{Task: t, Old: &o, New: &n})
			continue
		}
		out = append(out, Update{Task: t, New: &n})
	}
	for t, o := range old {
		if _, ok := new[t]; !ok {
			out = append(out, Update{Task: t, Old: &o})
		}
	}
	slices.SortFunc(out, func(a, b Update) int { return compareTasks(a.Task, b.Task) })
	return out
}

func compareTasks(a, b TaskKey) int {
	return cmp.Or(cmp.Compare(a.App, b.App), cmp.Compare(a.Group, b.Group), cmp.Compare(a.Partition, b.Partition))
}
