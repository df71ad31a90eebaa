package tables

import (
	"sync"
	"time"
)

// Task phases.
const (
	PhaseNew       = "new"
	PhaseRestoring = "restoring"
	PhaseActive    = "active"
	PhaseFailed    = "failed"
	PhaseClosed    = "closed"
)

// Progress describes a task's restore: where it started, where it stands and how long the
// rest should take. It is safe to read while the restore runs.
type Progress struct {
	Phase    string
	From     int64 // first changelog offset read
	Target   int64 // changelog end offset when the restore began
	Position int64 // next offset to read
	Restored int64 // table records applied so far
	Started  time.Time
	Elapsed  time.Duration
	// Rate is offsets read per second; Remaining is Target − Position; ETA is Remaining/Rate.
	Rate      float64
	Remaining int64
	ETA       time.Duration
}

type progressTracker struct {
	mu sync.Mutex
	p  Progress
}

func (t *progressTracker) setPhase(phase string) {
	t.mu.Lock()
	t.p.Phase = phase
	t.mu.Unlock()
}

func (t *progressTracker) begin(from, target int64) {
	t.mu.Lock()
	t.p = Progress{Phase: PhaseRestoring, From: from, Target: target, Position: from, Started: time.Now()}
	t.mu.Unlock()
}

func (t *progressTracker) update(position, restored int64) {
	t.mu.Lock()
	t.p.Position, t.p.Restored = position, restored
	t.mu.Unlock()
}

func (t *progressTracker) get() Progress {
	t.mu.Lock()
	p := t.p
	t.mu.Unlock()
	if p.Started.IsZero() {
		return p
	}
	p.Elapsed = time.Since(p.Started)
	p.Remaining = max(0, p.Target-p.Position)
	if secs := p.Elapsed.Seconds(); secs > 0 {
		p.Rate = float64(p.Position-p.From) / secs
	}
	if p.Rate > 0 {
		p.ETA = time.Duration(float64(p.Remaining) / p.Rate * float64(time.Second)).Round(time.Millisecond)
	}
	return p
}
