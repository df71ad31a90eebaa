package tables

import (
	"sync/atomic"
	"time"
)

// Metrics are cumulative counters of a Task, a Standby or a Global (Prometheus export comes later).
type Metrics struct {
	Commits    int64 // appended commit batches (fences and heartbeats not included)
	Heartbeats int64 // appended idle markers
	// CommitLatency is the total time spent in commits (append + Pebble apply) over
	// CommitLatencyCount commits, heartbeats and fences.
	CommitLatency      time.Duration
	CommitLatencyCount int64
	CommitRecords      int64 // changelog records appended, markers included
	CommitBytes        int64 // estimated bytes appended
	RestoredRecords    int64 // table records applied from the changelog (recovery or standby)
	SkippedBatches     int64 // changelog batches skipped (lower epoch or duplicate)
	Repairs            int64 // foreign batches detected whose keys were re-appended
	RepairedKeys       int64 // keys re-appended by repairs
	// StandbyLag is changelog end − applied offset (standbys only; -1 while unknown); for a
	// Global, source topic end − applied offset.
	StandbyLag int64
	// DecodeErrors counts source records a Global skipped because they did not decode.
	DecodeErrors int64
}

type counters struct {
	commits, heartbeats, latencyNanos, latencyCount, records, bytes atomic.Int64
	restored, skipped, repairs, repairedKeys, lag                   atomic.Int64
}

func (c *counters) snapshot() Metrics {
	return Metrics{
		Commits: c.commits.Load(), Heartbeats: c.heartbeats.Load(),
		CommitLatency: time.Duration(c.latencyNanos.Load()), CommitLatencyCount: c.latencyCount.Load(),
		CommitRecords: c.records.Load(), CommitBytes: c.bytes.Load(),
		RestoredRecords: c.restored.Load(), SkippedBatches: c.skipped.Load(),
		Repairs: c.repairs.Load(), RepairedKeys: c.repairedKeys.Load(), StandbyLag: c.lag.Load(),
	}
}
