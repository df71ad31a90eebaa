package runtime

import (
	"context"
	"strings"
	"time"

	"github.com/weirhq/weir/libs/failpoint"
	"github.com/weirhq/weir/libs/topics"
)

// Failpoints of the commit path in the runtime (libs/failpoint; the two after the append
// are in libs/tables). Armed only by WEIR_FAILPOINTS, in crash tests.
const (
	// failpointAfterFlush is right after the outputs were flushed, before the append.
	failpointAfterFlush = "commit.after-flush"
	// failpointBeforeAppend is after the lease check and the flush, right before the append
	// of a commit with changes; armed with "zombie[:PAUSE]" it makes the active a zombie.
	failpointBeforeAppend = "commit.before-append"
	actionZombie          = "zombie"
	zombiePause           = 12 * time.Second // default: above the default lease TTL (10 s)
	zombieWait            = 2 * time.Minute
)

// isZombie reports whether a failpoint action is the zombie one, and its pause.
func isZombie(action string) (time.Duration, bool) {
	name, arg, _ := strings.Cut(action, ":")
	if name != actionZombie {
		return 0, false
	}
	if d, err := time.ParseDuration(arg); err == nil && d > 0 {
		return d, true
	}
	return zombiePause, true
}

// zombie turns this active into a zombie for a crash test, between its lease check and its
// append: it stops the whole process for pause (past its lease, so the task fails over),
// waits until the successor's fence is in the changelog, and returns a context that ignores
// the lease loss, so the commit it was about to make lands after the fence as a stale batch.
// The successor must detect and repair it; this task then fails as fenced.
func (a *active) zombie(ctx context.Context, pause time.Duration) context.Context {
	end := a.task.EndOffset()
	a.log.Warn("failpoint: holding the commit as a zombie", "changelog_end", end, "pause", pause)
	if err := failpoint.StopFor(pause); err != nil {
		a.log.Error("failpoint: cannot stop the process", "err", err)
		return ctx
	}
	zctx := context.WithoutCancel(ctx)
	tp := topics.TopicPartition{Topic: a.changelog, Partition: int32(a.r.Task.Partition)}
	for deadline := time.Now().Add(zombieWait); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		offs, err := a.rt.admin.ListOffsets(zctx, a.changelog)
		if err == nil && offs[tp].End > end {
			a.log.Warn("failpoint: the successor appended to the changelog; appending the stale batch", "changelog_end", offs[tp].End)
			return zctx
		}
	}
	a.log.Warn("failpoint: no successor appeared; committing normally")
	return ctx
}
