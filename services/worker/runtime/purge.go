package runtime

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/weirhq/weir/libs/topics"
)

// purger deletes the records of an active's repartition topic-partitions that the task has
// consumed and committed (Kafka DeleteRecords up to the committed position). The task is
// the only reader of its repartition partitions, and a restart resumes from the committed
// positions, so those records are never read again. At most one purge runs at a time, at
// most once per interval, in a goroutine the active waits for when it stops.
type purger struct {
	admin    *topics.Admin
	topics   map[string]bool // the group's repartition topics
	interval time.Duration
	last     time.Time
	running  atomic.Bool
	denied   atomic.Bool // the broker refused DeleteRecords: purging is off for this run
	mu       sync.Mutex
	done     map[topics.TopicPartition]int64 // purged up to, per partition
	wg       sync.WaitGroup
}

func newPurger(admin *topics.Admin, repartition []string, interval time.Duration) *purger {
	if len(repartition) == 0 {
		return nil
	}
	p := &purger{admin: admin, topics: map[string]bool{}, interval: interval, done: map[topics.TopicPartition]int64{}}
	for _, name := range repartition {
		p.topics[name] = true
	}
	return p
}

// committed is called after each commit with the committed positions (from the task's
// goroutine); it starts a purge when one is due.
func (p *purger) committed(ctx context.Context, log *slog.Logger, positions map[topics.TopicPartition]int64) {
	if p == nil || time.Since(p.last) < p.interval || p.running.Load() || p.denied.Load() {
		return
	}
	todo := map[topics.TopicPartition]int64{}
	p.mu.Lock()
	for tp, off := range positions {
		if p.topics[tp.Topic] && off > p.done[tp] {
			todo[tp] = off
		}
	}
	p.mu.Unlock()
	if len(todo) == 0 {
		return
	}
	p.last = time.Now()
	p.running.Store(true)
	p.wg.Go(func() {
		defer p.running.Store(false)
		if _, err := p.admin.DeleteRecords(ctx, todo); err != nil {
			switch {
			case ctx.Err() != nil:
			case errors.Is(err, kafka.TopicAuthorizationFailed):
				p.denied.Store(true)
				log.Warn("the broker refuses to delete records of repartition topics (no DELETE permission); "+
					"they are bounded by their retention only", "err", err)
			default:
				log.Warn("purging consumed records of repartition topics", "err", err)
			}
			return
		}
		p.mu.Lock()
		for tp, off := range todo {
			p.done[tp] = max(p.done[tp], off)
		}
		p.mu.Unlock()
	})
}

// wait waits for a running purge.
func (p *purger) wait() {
	if p != nil {
		p.wg.Wait()
	}
}
