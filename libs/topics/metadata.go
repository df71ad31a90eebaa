package topics

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
)

// minMetadataRefresh spaces forced metadata refreshes of one transport: a topic that is really
// missing (deleted, misspelt) costs at most one reconnect and metadata read per interval, not
// one per request.
const minMetadataRefresh = 250 * time.Millisecond

// metadata forces a kafka-go transport to re-read the cluster metadata it caches.
//
// kafka-go serves topic lookups (Metadata, and the routing of Produce, Fetch and ListOffsets)
// from a per-transport cache refreshed at a random moment within MetadataTTL, and refreshes it
// on demand only after a CreateTopics sent through the same transport. A topic another process
// created (the controller creates an app's changelog, repartition and output topics when the
// app is applied) stays unknown to a long-lived transport for up to MetadataTTL (30 s here): a
// freshly applied app's tasks failed to start, retrying once a second, for up to that long.
// So a lookup that misses refreshes the cache and looks again once.
//
// The only public lever kafka-go offers is CloseIdleConnections: it drops the transport's
// connection pools (requests in flight finish on the old pool, which closes when they are
// done); the next request opens a new pool, which waits for a fresh metadata read before
// serving anything.
type metadata struct {
	transport *kafka.Transport

	mu   sync.Mutex
	last time.Time // last forced refresh
}

// refresh makes the transport's next request see metadata read after missedAt, the moment
// the lookup that missed began. When another caller already forced a refresh after that
// moment, that one is enough; refreshes closer together than minMetadataRefresh wait for the
// interval (or ctx) first.
func (m *metadata) refresh(ctx context.Context, missedAt time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.last.After(missedAt) {
		return
	}
	if wait := time.Until(m.last.Add(minMetadataRefresh)); wait > 0 {
		sleepCtx(ctx, wait)
	}
	m.last = time.Now()
	m.transport.CloseIdleConnections()
}

// retry calls f, and when it fails because a topic is unknown (nothing was written),
// refreshes the cache and calls it once more.
func (m *metadata) retry(ctx context.Context, f func() error) error {
	at := time.Now()
	err := f()
	if err != nil && unknownTopic(err) {
		m.refresh(ctx, at)
		err = f()
	}
	return err
}

// unknownTopic reports an error that says a topic or partition is not known: to the
// transport's cached metadata (kafka-go's "topic not found", nothing was sent) or to the broker
// (UNKNOWN_TOPIC_OR_PARTITION, nothing was written).
func unknownTopic(err error) bool {
	return errors.Is(err, protocol.ErrNoTopic) || errors.Is(err, protocol.ErrNoPartition) ||
		errors.Is(err, kafka.UnknownTopicOrPartition)
}
