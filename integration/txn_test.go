//go:build integration

package integration

import (
	"context"
	"errors"
	"io"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/weirhq/weir/integration/harness"
	"github.com/weirhq/weir/libs/topics"
	"github.com/weirhq/weir/libs/topics/txn"
)

// These tests document the transaction trial of docs/state.md ("Choice"): Kafka transactions
// driven by hand through kafka-go's protocol layer (libs/topics/txn) against the pinned broker.
// Weir's commit protocol does not use them.

func newTxnProducer(t *testing.T, ctx context.Context, id string) *txn.Producer {
	t.Helper()
	p, err := txn.NewProducer(ctx, txn.Config{ClientConfig: harness.Client(t), TransactionalID: id})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	t.Logf("transactional id %s: producer id %d epoch %d", id, p.ProducerID(), p.Epoch())
	return p
}

func produceTxn(t *testing.T, ctx context.Context, p *txn.Producer, topic string, values ...string) {
	t.Helper()
	recs := make([]txn.Record, len(values))
	for i, v := range values {
		recs[i] = txn.Record{Key: []byte("k"), Value: []byte(v)}
	}
	if _, err := p.Produce(ctx, topic, 0, recs); err != nil {
		t.Fatal(err)
	}
}

// readCommitted returns the values a read_committed reader sees in partition 0 up to its last
// stable offset, and how many aborted records it dropped. With settled it first waits until no
// transaction is open (last stable offset = high watermark): EndTxn returns before the
// coordinator has written the commit markers, so a just-committed transaction may still hold
// the last stable offset back for a moment.
func readCommitted(t *testing.T, ctx context.Context, topic string, settled bool) (values []string, lso int64, skipped int) {
	t.Helper()
	r, err := txn.NewReader(harness.Client(t))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for settled {
		f, err := r.Fetch(ctx, topic, 0, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if f.LastStable == f.HighWatermark {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("last stable offset %d stayed below the high watermark %d", f.LastStable, f.HighWatermark)
		case <-time.After(20 * time.Millisecond):
		}
	}
	next := int64(0)
	for {
		f, err := r.Fetch(ctx, topic, 0, next, 100*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range f.Records {
			values = append(values, string(rec.Value))
		}
		skipped += f.AbortedSkipped
		next = f.Next
		if next >= f.LastStable {
			return values, f.LastStable, skipped
		}
	}
}

// readUncommitted returns every data record value in partition 0, aborted ones included
// (kafka-go's Client.Fetch skips only control batches). One fetch returns the whole small log.
func readUncommitted(t *testing.T, ctx context.Context, topic string) []string {
	t.Helper()
	// Its own transport: the shared default one may hold metadata from before the topic existed.
	c := &kafka.Client{Addr: kafka.TCP(harness.KafkaBrokers(t)...), Timeout: 10 * time.Second, Transport: &kafka.Transport{}}
	res, err := c.Fetch(ctx, &kafka.FetchRequest{Topic: topic, Partition: 0, Offset: 0, MaxBytes: 1 << 20, MaxWait: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Error != nil {
		t.Fatal(res.Error)
	}
	var values []string
	for {
		rec, err := res.Records.ReadRecord()
		if errors.Is(err, io.EOF) {
			return values
		}
		if err != nil {
			t.Fatal(err)
		}
		v, err := kafka.ReadAll(rec.Value)
		if err != nil {
			t.Fatal(err)
		}
		values = append(values, string(v))
	}
}

// TestTxnCommitAbortReadCommitted: records of committed transactions are visible to a
// read_committed reader, records of an aborted one are not (though they are in the log), and
// an open transaction holds the last stable offset back until it commits.
func TestTxnCommitAbortReadCommitted(t *testing.T) {
	ctx := harness.Context(t, 2*time.Minute)
	topic := harness.Topic(t, topics.TopicSpec{Name: "txn", Partitions: 1})
	other := harness.Topic(t, topics.TopicSpec{Name: "txn-out", Partitions: 1}) // a second partition in the same transactions
	p := newTxnProducer(t, ctx, harness.Name(t, "tid"))

	produceTxn(t, ctx, p, topic, "c1", "c2")
	produceTxn(t, ctx, p, other, "oc1")
	if err := p.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	produceTxn(t, ctx, p, topic, "a1")
	produceTxn(t, ctx, p, other, "oa1")
	produceTxn(t, ctx, p, topic, "a2")
	if err := p.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := readCommitted(t, ctx, other, true); !slices.Equal(got, []string{"oc1"}) {
		t.Errorf("read_committed saw %q in the second topic, want only oc1", got)
	}
	produceTxn(t, ctx, p, topic, "c3")
	if err := p.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	got, _, skipped := readCommitted(t, ctx, topic, true)
	if want := []string{"c1", "c2", "c3"}; !slices.Equal(got, want) {
		t.Errorf("read_committed saw %q, want %q", got, want)
	}
	if skipped != 2 {
		t.Errorf("read_committed dropped %d aborted records, want 2", skipped)
	}
	if all := readUncommitted(t, ctx, topic); !slices.Equal(all, []string{"c1", "c2", "a1", "a2", "c3"}) {
		t.Errorf("read_uncommitted saw %q, want the aborted records too", all)
	}

	// An open transaction: its record is in the log but below neither the last stable offset
	// nor in a read_committed result until EndTxn commits it.
	produceTxn(t, ctx, p, topic, "o1")
	got, lso, _ := readCommitted(t, ctx, topic, false)
	if slices.Contains(got, "o1") {
		t.Errorf("read_committed saw the open transaction's record: %q", got)
	}
	if err := p.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	got, lso2, _ := readCommitted(t, ctx, topic, true)
	if want := []string{"c1", "c2", "c3", "o1"}; !slices.Equal(got, want) {
		t.Errorf("after commit read_committed saw %q, want %q", got, want)
	}
	if lso2 <= lso {
		t.Errorf("last stable offset %d did not move past the open transaction (was %d)", lso2, lso)
	}
}

func isFenced(err error) bool {
	return errors.Is(err, kafka.ProducerFenced) || errors.Is(err, kafka.InvalidProducerEpoch)
}

// TestTxnZombieFenced: a second session of the same transactional id bumps the epoch; the
// broker then rejects the first (zombie) session's produce and commit, its open transaction is
// aborted, and only the new session's records become visible.
func TestTxnZombieFenced(t *testing.T) {
	ctx := harness.Context(t, 2*time.Minute)
	topic := harness.Topic(t, topics.TopicSpec{Name: "txnz", Partitions: 1})
	id := harness.Name(t, "tid")

	zombie := newTxnProducer(t, ctx, id)
	produceTxn(t, ctx, zombie, topic, "z1") // open when the successor arrives

	succ := newTxnProducer(t, ctx, id)
	if succ.ProducerID() != zombie.ProducerID() || succ.Epoch() <= zombie.Epoch() {
		t.Fatalf("successor got producer id %d epoch %d, want id %d and an epoch above %d",
			succ.ProducerID(), succ.Epoch(), zombie.ProducerID(), zombie.Epoch())
	}

	_, err := zombie.Produce(ctx, topic, 0, []txn.Record{{Key: []byte("k"), Value: []byte("z2")}})
	t.Logf("zombie produce: %v", err)
	if !isFenced(err) {
		t.Errorf("zombie produce after the epoch bump: err = %v, want PRODUCER_FENCED or INVALID_PRODUCER_EPOCH", err)
	}
	err = zombie.Commit(ctx)
	t.Logf("zombie commit: %v", err)
	if !isFenced(err) {
		t.Errorf("zombie commit after the epoch bump: err = %v, want PRODUCER_FENCED or INVALID_PRODUCER_EPOCH", err)
	}

	produceTxn(t, ctx, succ, topic, "n1")
	if err := succ.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	got, _, skipped := readCommitted(t, ctx, topic, true)
	if want := []string{"n1"}; !slices.Equal(got, want) {
		t.Errorf("read_committed saw %q, want %q (the zombie's transaction aborted)", got, want)
	}
	if skipped != 1 {
		t.Errorf("read_committed dropped %d aborted records, want 1 (z1)", skipped)
	}
	all := readUncommitted(t, ctx, topic)
	if slices.Contains(all, "z2") {
		t.Errorf("the zombie's rejected record z2 is in the log: %q", all)
	}
	t.Logf("log (read_uncommitted): %q", all)

	// A zombie with no open transaction (say, held between its lease check and its append)
	// is stopped at AddPartitionsToTxn, before anything reaches the log.
	third := newTxnProducer(t, ctx, id)
	_, err = succ.Produce(ctx, topic, 0, []txn.Record{{Key: []byte("k"), Value: []byte("late")}})
	t.Logf("fenced session's first produce of a transaction: %v", err)
	if !isFenced(err) {
		t.Errorf("fenced session's AddPartitionsToTxn: err = %v, want PRODUCER_FENCED or INVALID_PRODUCER_EPOCH", err)
	}
	_ = third
	if all := readUncommitted(t, ctx, topic); slices.Contains(all, "late") {
		t.Errorf("the fenced session's record reached the log: %q", all)
	}
}

// TestTxnCommitLatency logs what a transaction costs against the pinned broker: one batch to
// one partition per transaction (AddPartitionsToTxn, Produce, EndTxn), against the same batch
// produced without a transaction. It asserts only that every commit succeeded.
func TestTxnCommitLatency(t *testing.T) {
	const n = 200
	ctx := harness.Context(t, 2*time.Minute)
	topic := harness.Topic(t, topics.TopicSpec{Name: "txnlat", Partitions: 1})
	p := newTxnProducer(t, ctx, harness.Name(t, "tid"))
	recs := make([]txn.Record, 100)
	for i := range recs {
		recs[i] = txn.Record{Key: []byte(strconv.Itoa(i)), Value: make([]byte, 16)}
	}
	start := time.Now()
	for range n {
		if _, err := p.Produce(ctx, topic, 0, recs); err != nil {
			t.Fatal(err)
		}
		if err := p.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	txnMean := time.Since(start) / n

	plain := newProducer(t)
	batch := make([]topics.Record, len(recs))
	for i, r := range recs {
		batch[i] = topics.Record{Key: r.Key, Value: r.Value}
	}
	start = time.Now()
	for range n {
		if _, err := plain.AppendBatch(ctx, topic, 0, batch); err != nil {
			t.Fatal(err)
		}
	}
	plainMean := time.Since(start) / n
	t.Logf("%d commits of 100 records: transaction %v each, plain one-batch append %v each", n, txnMean, plainMean)
}

// TestTxnAPIVersions logs the versions of the transaction APIs the pinned broker offers; kafka-go
// uses the highest version both sides know (its maxima are in the comments).
func TestTxnAPIVersions(t *testing.T) {
	ctx := harness.Context(t, time.Minute)
	c := &kafka.Client{Addr: kafka.TCP(harness.KafkaBrokers(t)...), Timeout: 10 * time.Second, Transport: &kafka.Transport{}}
	res, err := c.ApiVersions(ctx, &kafka.ApiVersionsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Error != nil {
		t.Fatal(res.Error)
	}
	names := map[int]string{0: "Produce (kafka-go max v8 raw)", 1: "Fetch (max v11)", 10: "FindCoordinator (max v2)",
		22: "InitProducerId (max v4)", 24: "AddPartitionsToTxn (max v3)", 26: "EndTxn (max v3)"}
	seen := 0
	for _, k := range res.ApiKeys {
		if n, ok := names[k.ApiKey]; ok {
			seen++
			t.Logf("%s: broker v%d-v%d", n, k.MinVersion, k.MaxVersion)
		}
	}
	if seen != len(names) {
		t.Errorf("broker offers %d of the %d APIs the trial uses", seen, len(names))
	}
}
