package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// KeyValue is one key as Follow reports it; Deleted marks a deletion (Value is then empty).
type KeyValue struct {
	Key            string
	Value          []byte
	CreateRevision int64
	ModRevision    int64
	Lease          int64
	Deleted        bool
}

// Batch is what Follow delivers: with Reset, the complete contents of the prefix at Revision
// (the receiver drops every key it holds that is not listed); otherwise the changes of one watch
// response, in order, up to Revision.
type Batch struct {
	Reset    bool
	Revision int64
	Changes  []KeyValue
}

// KVWatcher is what Follow needs of an etcd client.
type KVWatcher interface {
	clientv3.KV
	clientv3.Watcher
}

// Follow lists prefix, delivers it as a Reset batch, then watches it from the next revision and
// delivers every change. A watch that breaks resumes from the last delivered revision + 1; a
// watch whose revision was compacted re-lists (a new Reset batch). Transient errors are retried
// with backoff and reported to onError (which may be nil). Follow returns when ctx ends (nil) or
// when fn returns an error (that error). fn runs on Follow's goroutine, one batch at a time.
func Follow(ctx context.Context, c KVWatcher, prefix string, fn func(Batch) error, onError func(error)) error {
	b := backoff{min: 100 * time.Millisecond, max: 2 * time.Second}
	report := func(err error) {
		if onError != nil && ctx.Err() == nil {
			onError(err)
		}
	}
	var rev int64 // last delivered revision; 0: list first
	for ctx.Err() == nil {
		if rev == 0 {
			resp, err := c.Get(ctx, prefix, clientv3.WithPrefix())
			if err != nil {
				report(fmt.Errorf("listing %s: %w", prefix, err))
				b.wait(ctx)
				continue
			}
			batch := Batch{Reset: true, Revision: resp.Header.Revision, Changes: make([]KeyValue, 0, len(resp.Kvs))}
			for _, kv := range resp.Kvs {
				batch.Changes = append(batch.Changes, KeyValue{Key: string(kv.Key), Value: kv.Value,
					CreateRevision: kv.CreateRevision, ModRevision: kv.ModRevision, Lease: kv.Lease})
			}
			if err := fn(batch); err != nil {
				return err
			}
			rev = resp.Header.Revision
		}
		next, err := watch(ctx, c, prefix, rev, fn, b.reset)
		var herr handlerError
		switch {
		case errors.As(err, &herr):
			return herr.err
		case errors.Is(err, errCompacted):
			report(fmt.Errorf("watching %s from revision %d: %w; listing again", prefix, rev+1, err))
			next = 0
		case err != nil:
			report(fmt.Errorf("watching %s: %w", prefix, err))
			b.wait(ctx)
		}
		rev = next
	}
	return nil
}

var errCompacted = errors.New("revision compacted")

// handlerError carries an error of Follow's handler out of watch.
type handlerError struct{ err error }

func (e handlerError) Error() string { return e.err.Error() }

// watch watches prefix from rev+1 until the watch ends, delivering each response; it returns the
// last delivered revision.
func watch(ctx context.Context, c clientv3.Watcher, prefix string, rev int64, fn func(Batch) error, ok func()) (int64, error) {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	for resp := range c.Watch(wctx, prefix, clientv3.WithPrefix(), clientv3.WithRev(rev+1)) {
		if resp.CompactRevision != 0 {
			return rev, errCompacted
		}
		if err := resp.Err(); err != nil {
			return rev, err
		}
		ok()
		if len(resp.Events) == 0 {
			continue
		}
		batch := Batch{Revision: resp.Header.Revision, Changes: make([]KeyValue, 0, len(resp.Events))}
		for _, ev := range resp.Events {
			kv := ev.Kv
			batch.Changes = append(batch.Changes, KeyValue{Key: string(kv.Key), Value: kv.Value,
				CreateRevision: kv.CreateRevision, ModRevision: kv.ModRevision, Lease: kv.Lease,
				Deleted: ev.Type == clientv3.EventTypeDelete})
		}
		if err := fn(batch); err != nil {
			return rev, handlerError{err}
		}
		rev = batch.Revision
	}
	if ctx.Err() != nil {
		return rev, nil
	}
	return rev, errors.New("watch channel closed")
}

// backoff waits between retries, doubling from min to max; reset starts over.
type backoff struct {
	min, max, cur time.Duration
}

func (b *backoff) reset() { b.cur = 0 }

func (b *backoff) wait(ctx context.Context) {
	b.cur = min(max(b.min, 2*b.cur), b.max)
	t := time.NewTimer(b.cur)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
