//go:build integration

package integration

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weirhq/weir/integration/harness"
	"github.com/weirhq/weir/libs/topics"
)

func newProducer(t *testing.T) *topics.Producer {
	t.Helper()
	p, err := topics.NewProducer(topics.ProducerConfig{ClientConfig: harness.Client(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// startConsumer runs a consumer until the test ends.
func startConsumer(t *testing.T, cfg topics.ConsumerConfig) *topics.Consumer {
	t.Helper()
	cfg.ClientConfig = harness.Client(t)
	c, err := topics.NewConsumer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("consumer Run: %v", err)
		}
	})
	return c
}

// TestProduceConsume100k: 100k keyed records through the producer and back through the
// assignment-based consumer: none lost, none repeated, per-partition order intact, and each
// key in the partition the Java client would choose.
func TestProduceConsume100k(t *testing.T) {
	const n, parts, keys = 100_000, 8, 1000
	topic := harness.Topic(t, topics.TopicSpec{Name: "io100k", Partitions: parts})
	ctx := harness.Context(t, 3*time.Minute)
	p := newProducer(t)
	// The first half one by one (SendAsync), the second in batches (SendBatchAsync), each
	// batch with one record that cannot be sent (no topic): it alone fails.
	var mu sync.Mutex
	acked, failed := 0, 0
	done := func(_ topics.Record, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			failed++
		} else {
			acked++
		}
	}
	var batch []topics.Record
	for i := range n {
		key := fmt.Sprintf("key-%d", i%keys)
		rec := topics.Record{Topic: topic, Key: []byte(key), Value: []byte(strconv.Itoa(i))}
		if i < n/2 {
			if err := p.SendAsync(ctx, rec, nil); err != nil {
				t.Fatal(err)
			}
			continue
		}
		batch = append(batch, rec)
		if len(batch) == 300 || i == n-1 {
			batch = append(batch, topics.Record{Value: []byte("no topic")})
			if err := p.SendBatchAsync(ctx, batch, done); err == nil || !strings.Contains(err.Error(), "no topic") {
				t.Fatalf("SendBatchAsync with a record without topic returned %v", err)
			}
			batch = nil
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}
	batches := (n/2 + 299) / 300
	if acked != n/2 || failed != batches {
		t.Fatalf("SendBatchAsync callbacks: %d acked, %d failed; want %d and %d", acked, failed, n/2, batches)
	}

	c := startConsumer(t, topics.ConsumerConfig{})
	for part := range parts {
		c.Assign(topics.TopicPartition{Topic: topic, Partition: int32(part)}, topics.FirstOffset)
	}
	seen := make([]bool, n)
	lastOffset := map[int32]int64{}
	lastSeqOfKey := map[string]int{}
	got := 0
	for got < n {
		b, err := c.Poll(ctx)
		if err != nil {
			t.Fatalf("after %d records: %v", got, err)
		}
		for _, r := range b.Records {
			if want := topics.KeyPartition(r.Key, parts); r.Partition != want {
				t.Fatalf("key %q in partition %d, Java client places it in %d", r.Key, r.Partition, want)
			}
			if last, ok := lastOffset[r.Partition]; ok && r.Offset != last+1 {
				t.Fatalf("partition %d: offset %d after %d (gap or reorder)", r.Partition, r.Offset, last)
			}
			lastOffset[r.Partition] = r.Offset
			seq, err := strconv.Atoi(string(r.Value))
			if err != nil || seq < 0 || seq >= n {
				t.Fatalf("bad value %q", r.Value)
			}
			if seen[seq] {
				t.Fatalf("record %d delivered twice", seq)
			}
			seen[seq] = true
			if prev, ok := lastSeqOfKey[string(r.Key)]; ok && seq < prev {
				t.Fatalf("key %s: record %d after %d: per-key order broken", r.Key, seq, prev)
			}
			lastSeqOfKey[string(r.Key)] = seq
			got++
		}
	}
	if got != n {
		t.Fatalf("got %d records, want %d", got, n)
	}
	for _, a := range c.Assignments() {
		if a.Lag() != 0 || a.Err != nil {
			t.Errorf("%s: lag %d err %v after reading everything", a.TopicPartition, a.Lag(), a.Err)
		}
	}
}

// TestConsumerAssignmentChangesUnderLoad: under a steady keyed load, partitions are added and
// removed at runtime. Untouched partitions deliver every record in order; an added partition
// starts at its given offset; a removed partition delivers nothing after Unassign returns.
// (The stall figure is measured by `make bench-io`, not asserted here.)
func TestConsumerAssignmentChangesUnderLoad(t *testing.T) {
	const parts = 6
	topic := harness.Topic(t, topics.TopicSpec{Name: "assign", Partitions: parts})
	ctx := harness.Context(t, 2*time.Minute)
	p := newProducer(t)

	// Steady load of about 10k records/s (8 records per partition every 5 ms), each carrying
	// its partition's sequence number.
	loadCtx, stopLoad := context.WithCancel(ctx)
	var loadWG sync.WaitGroup
	loadWG.Add(1)
	sent := make([]int, parts)
	go func() {
		defer loadWG.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for loadCtx.Err() == nil {
			<-tick.C
			for part := range parts {
				for range 8 {
					rec := topics.Record{Topic: topic, Partition: int32(part), PinPartition: true, Value: []byte(strconv.Itoa(sent[part]))}
					if p.SendAsync(ctx, rec, nil) == nil {
						sent[part]++
					}
				}
			}
		}
	}()

	c := startConsumer(t, topics.ConsumerConfig{})
	tp := func(i int) topics.TopicPartition { return topics.TopicPartition{Topic: topic, Partition: int32(i)} }
	// Untouched: 0, 1, 2 from the start. Added later: 3, 4. Removed later: 5.
	for _, i := range []int{0, 1, 2, 5} {
		c.Assign(tp(i), topics.FirstOffset)
	}
	next := map[int32]int{}
	var removedAt time.Time
	unassigned := false
	var mu sync.Mutex
	deadline := time.Now().Add(8 * time.Second)
	phase := 0
	for time.Now().Before(deadline) {
		// A poll that began after Unassign returned must not deliver partition 5; this
		// iteration's switch below may unassign it after its own poll returned.
		removedBeforePoll := unassigned
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		b, err := c.Poll(pctx)
		cancel()
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatal(err)
		}
		switch {
		case phase == 0 && time.Until(deadline) < 6*time.Second:
			c.Assign(tp(3), topics.FirstOffset)
			c.Assign(tp(4), topics.LastOffset)
			phase = 1
		case phase == 1 && time.Until(deadline) < 4*time.Second:
			c.Unassign(tp(5))
			mu.Lock()
			unassigned, removedAt = true, time.Now()
			mu.Unlock()
			phase = 2
		}
		for _, r := range b.Records {
			if r.Partition == 5 && removedBeforePoll {
				t.Fatalf("record of partition 5 delivered %v after Unassign returned", time.Since(removedAt))
			}
			seq, _ := strconv.Atoi(string(r.Value))
			want, started := next[r.Partition]
			if !started && r.Partition == 4 {
				want = seq // LastOffset: starts wherever the log ended
			}
			if seq != want {
				t.Fatalf("partition %d: got sequence %d, want %d", r.Partition, seq, want)
			}
			next[r.Partition] = seq + 1
		}
	}
	stopLoad()
	loadWG.Wait()
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// Untouched partitions deliver every record that was sent, in order, with no gap.
	for next[0] < sent[0] || next[1] < sent[1] || next[2] < sent[2] {
		b, err := c.Poll(ctx)
		if err != nil {
			t.Fatalf("draining: delivered %v of %v: %v", next, sent, err)
		}
		for _, r := range b.Records {
			seq, _ := strconv.Atoi(string(r.Value))
			if want, ok := next[r.Partition]; ok && seq != want {
				t.Fatalf("partition %d: got sequence %d, want %d", r.Partition, seq, want)
			}
			next[r.Partition] = seq + 1
		}
	}
	for _, i := range []int32{0, 1, 2, 3, 4} {
		if next[i] == 0 {
			t.Errorf("partition %d delivered nothing", i)
		}
	}
	if next[3] < 1000 {
		t.Errorf("partition 3 (added at FirstOffset) delivered only up to %d", next[3])
	}
	if next[4] == 0 || next[4] > sent[4] {
		t.Errorf("partition 4 (added at LastOffset): delivered up to %d of %d", next[4], sent[4])
	}
}

// TestCommittedOffsetsVisibleToKafkaTools commits offsets without joining the group and reads
// them back through OffsetFetch/ListOffsets and through Kafka's own kafka-consumer-groups tool.
func TestCommittedOffsetsVisibleToKafkaTools(t *testing.T) {
	topic := harness.Topic(t, topics.TopicSpec{Name: "offsets", Partitions: 3})
	ctx := harness.Context(t, 2*time.Minute)
	p := newProducer(t)
	for part := range 3 {
		var recs []topics.Record
		for i := range 10 * (part + 1) {
			recs = append(recs, topics.Record{Topic: topic, Partition: int32(part), PinPartition: true, Value: []byte(strconv.Itoa(i))})
		}
		if err := p.Send(ctx, recs...); err != nil {
			t.Fatal(err)
		}
	}
	group := harness.Name(t, "group")
	a := harness.Admin(t)
	// Partition 0: everything read; 1: 5 of 20; 2: nothing committed.
	commit := map[topics.TopicPartition]int64{{Topic: topic, Partition: 0}: 10, {Topic: topic, Partition: 1}: 5}
	if err := a.CommitOffsets(ctx, group, commit); err != nil {
		t.Fatal(err)
	}
	lag, err := a.Lag(ctx, group, topic)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int32]topics.PartitionLag{0: {Committed: 10, End: 10, Lag: 0}, 1: {Committed: 5, End: 20, Lag: 15}, 2: {Committed: -1, End: 30, Lag: 30}}
	for part, w := range want {
		if got := lag[topics.TopicPartition{Topic: topic, Partition: part}]; got != w {
			t.Errorf("partition %d: lag %+v, want %+v", part, got, w)
		}
	}

	// Kafka's own tool, from the fetched jars.
	out, err := harness.KafkaTool(ctx, "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
		"--bootstrap-server", harness.KafkaBrokers(t)[0], "--describe", "--group", group)
	if err != nil {
		t.Fatalf("kafka-consumer-groups: %v\n%s", err, out)
	}
	rows := parseGroupDescribe(t, out, topic)
	for part, w := range map[int32][2]string{0: {"10", "0"}, 1: {"5", "15"}} {
		if got := rows[part]; got != w {
			t.Errorf("kafka-consumer-groups partition %d: CURRENT-OFFSET/LAG = %v, want %v\n%s", part, got, w, out)
		}
	}
}

// parseGroupDescribe returns CURRENT-OFFSET and LAG per partition of topic from the
// tool's table output.
func parseGroupDescribe(t *testing.T, out []byte, topic string) map[int32][2]string {
	t.Helper()
	rows := map[int32][2]string{}
	var cols map[string]int
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if f[0] == "GROUP" {
			cols = map[string]int{}
			for i, name := range f {
				cols[name] = i
			}
			continue
		}
		if cols == nil || len(f) <= cols["LAG"] || f[cols["TOPIC"]] != topic {
			continue
		}
		part, err := strconv.Atoi(f[cols["PARTITION"]])
		if err != nil {
			t.Fatalf("bad partition in %q", line)
		}
		rows[int32(part)] = [2]string{f[cols["CURRENT-OFFSET"]], f[cols["LAG"]]}
	}
	if cols == nil {
		t.Fatalf("no header in kafka-consumer-groups output:\n%s", out)
	}
	return rows
}

// TestEnsureTopics: creation with the declared configs, a second ensure is a no-op, config
// drift is repaired, and another partition count is refused with a clear error.
func TestEnsureTopics(t *testing.T) {
	ctx := harness.Context(t, time.Minute)
	a := harness.Admin(t)
	spec := topics.TopicSpec{
		Name:             harness.Name(t, "changelog"),
		Partitions:       4,
		Cleanup:          topics.CleanupCompact,
		MinCompactionLag: 30 * time.Second,
		MaxMessageBytes:  4 << 20,
		Configs:          map[string]string{"segment.ms": "60000"},
	}
	t.Cleanup(func() { a.DeleteTopics(context.Background(), spec.Name) })
	res, err := a.EnsureTopics(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if !res[0].Created {
		t.Fatalf("first ensure did not create: %+v", res)
	}
	info, err := a.DescribeTopic(ctx, spec.Name)
	if err != nil {
		t.Fatal(err)
	}
	if info.Partitions != 4 {
		t.Errorf("partitions = %d, want 4", info.Partitions)
	}
	for k, v := range map[string]string{"cleanup.policy": "compact", "min.compaction.lag.ms": "30000", "max.message.bytes": "4194304", "segment.ms": "60000"} {
		if info.Configs[k] != v {
			t.Errorf("config %s = %q, want %q", k, info.Configs[k], v)
		}
	}
	res, err = a.EnsureTopics(ctx, spec)
	if err != nil || res[0].Created || len(res[0].ConfigsChanged) != 0 {
		t.Fatalf("second ensure should change nothing: %+v, %v", res, err)
	}
	spec.MinCompactionLag = time.Minute
	res, err = a.EnsureTopics(ctx, spec)
	if err != nil || len(res[0].ConfigsChanged) != 1 || res[0].ConfigsChanged[0] != "min.compaction.lag.ms" {
		t.Fatalf("changed config not applied: %+v, %v", res, err)
	}

	other := spec
	other.Partitions = 8
	_, err = a.EnsureTopics(ctx, other)
	var mismatch *topics.PartitionMismatchError
	if !errors.As(err, &mismatch) || mismatch.Have != 4 || mismatch.Declared != 8 {
		t.Fatalf("ensure with 8 partitions: got %v, want a PartitionMismatchError 4 vs 8", err)
	}
	if !strings.Contains(err.Error(), spec.Name) || !strings.Contains(err.Error(), "4 partitions") || !strings.Contains(err.Error(), "declared with 8") {
		t.Errorf("error does not say what and where: %v", err)
	}
	if info, _ := a.DescribeTopic(ctx, spec.Name); info.Partitions != 4 {
		t.Errorf("topic was altered to %d partitions", info.Partitions)
	}
}

// TestAppendBatchIsContiguous: a list of records appended as one batch lands at consecutive
// offsets of one partition, uninterleaved with concurrent writes to the same partition, and
// all of them carry the same batch offset.
func TestAppendBatchIsContiguous(t *testing.T) {
	topic := harness.Topic(t, topics.TopicSpec{Name: "batch", Partitions: 2, MaxMessageBytes: 256 << 10})
	ctx := harness.Context(t, time.Minute)
	p := newProducer(t)

	noiseCtx, stopNoise := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for noiseCtx.Err() == nil {
			p.SendAsync(noiseCtx, topics.Record{Topic: topic, Partition: 1, PinPartition: true, Value: []byte("noise")}, nil)
		}
	}()
	var batch []topics.Record
	for i := range 500 {
		batch = append(batch, topics.Record{Key: []byte(fmt.Sprintf("k%d", i)), Value: []byte(fmt.Sprintf("batch-%d", i)),
			Headers: []topics.Header{{Key: "i", Value: []byte(strconv.Itoa(i))}}})
	}
	var bases []int64
	for range 3 {
		base, err := p.AppendBatch(ctx, topic, 1, batch)
		if err != nil {
			t.Fatal(err)
		}
		bases = append(bases, base)
	}
	stopNoise()
	wg.Wait()
	p.Flush(ctx)

	c := startConsumer(t, topics.ConsumerConfig{})
	c.Assign(topics.TopicPartition{Topic: topic, Partition: 1}, bases[0])
	var got []topics.Record
	for len(got) < int(bases[2]-bases[0])+500 {
		b, err := c.Poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, b.Records...)
	}
	for _, base := range bases {
		for i := range 500 {
			r := got[base-bases[0]+int64(i)]
			if r.Offset != base+int64(i) || string(r.Value) != fmt.Sprintf("batch-%d", i) || r.BatchOffset != base {
				t.Fatalf("offset %d: value %q batch %d, want batch-%d in batch %d", r.Offset, r.Value, r.BatchOffset, i, base)
			}
			if h, _ := r.Header("i"); string(h) != strconv.Itoa(i) {
				t.Fatalf("offset %d: header i = %q", r.Offset, h)
			}
		}
	}

	// A batch over the topic's max.message.bytes fails whole, with a clear error.
	big := make([]topics.Record, 100)
	for i := range big {
		big[i] = topics.Record{Value: make([]byte, 4<<10)}
		rand.Read(big[i].Value) // incompressible: 400 KiB > the topic's 256 KiB
	}
	if _, err := p.AppendBatch(ctx, topic, 0, big); err == nil || !strings.Contains(err.Error(), "one batch") {
		t.Fatalf("oversized batch: got %v, want a clear error", err)
	}
}

// TestDeleteRecords deletes the first records of a partition with Kafka's DeleteRecords
// (sent through kafka-go's protocol package): the partition's log start offset moves up
// to the given offset, and the rest are still readable.
func TestDeleteRecords(t *testing.T) {
	ctx := harness.Context(t, time.Minute)
	topic := harness.Topic(t, topics.TopicSpec{Partitions: 2})
	p := newProducer(t)
	for i := range 10 {
		send(t, ctx, p, topics.Record{Topic: topic, Partition: 1, PinPartition: true, Value: []byte(strconv.Itoa(i))})
	}
	admin := harness.Admin(t)
	got, err := admin.DeleteRecords(ctx, map[topics.TopicPartition]int64{{Topic: topic, Partition: 1}: 6})
	if err != nil {
		t.Fatal(err)
	}
	if lw := got[topics.TopicPartition{Topic: topic, Partition: 1}]; lw != 6 {
		t.Errorf("low watermark after DeleteRecords = %d, want 6", lw)
	}
	offs, err := admin.ListOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	if r := offs[topics.TopicPartition{Topic: topic, Partition: 1}]; r.Start != 6 || r.End != 10 {
		t.Errorf("partition 1 offsets %+v, want [6, 10)", r)
	}
	if r := offs[topics.TopicPartition{Topic: topic, Partition: 0}]; r.Start != 0 {
		t.Errorf("partition 0 offsets %+v, want untouched", r)
	}
	readUntil(t, ctx, topic, 2, func(r topics.Record) bool {
		if r.Offset < 6 || string(r.Value) != strconv.Itoa(int(r.Offset)) {
			t.Fatalf("read %d=%q after deleting records before 6", r.Offset, r.Value)
		}
		return r.Offset == 9
	})
	// A position beyond the end is refused with the broker's error.
	if _, err := admin.DeleteRecords(ctx, map[topics.TopicPartition]int64{{Topic: topic, Partition: 0}: 5}); err == nil {
		t.Error("deleting records beyond the end of an empty partition succeeded")
	}
}

// TestClientsSeeTopicsCreatedElsewhere: an Admin and a Producer that have already read the
// cluster's metadata use a topic another client created a moment later at once. kafka-go
// answers topic lookups from a per-transport cache refreshed only every MetadataTTL (30 s
// here); before the clients refreshed it on a miss, a worker's shared Admin and Producer
// could not list offsets of, nor append to, an app's just-created changelog and output
// topics: a freshly applied app's tasks failed and retried for up to 30 s before their first
// output. The calls below have no retry loop, so a stale cache fails them.
func TestClientsSeeTopicsCreatedElsewhere(t *testing.T) {
	ctx := harness.Context(t, time.Minute)
	admin := harness.Admin(t)
	p := newProducer(t)
	// Warm both caches on a topic that exists now.
	old := harness.Topic(t, topics.TopicSpec{Name: "meta-old", Partitions: 1})
	if _, err := admin.ListOffsets(ctx, old); err != nil {
		t.Fatalf("listing offsets of %s: %v", old, err)
	}
	if err := p.Send(ctx, topics.Record{Topic: old, Value: []byte("warm")}); err != nil {
		t.Fatalf("sending to %s: %v", old, err)
	}

	// Created through another Admin (another transport), as the controller creates an app's
	// topics for the workers.
	fresh := harness.Topic(t, topics.TopicSpec{Name: "meta-new", Partitions: 3})
	offs, err := admin.ListOffsets(ctx, fresh)
	if err != nil {
		t.Fatalf("listing offsets of a topic created by another client: %v", err)
	}
	if len(offs) != 3 {
		t.Fatalf("offsets of %s: got %d partitions %v, want 3", fresh, len(offs), offs)
	}
	if _, err := p.AppendBatch(ctx, fresh, 2, []topics.Record{{Value: []byte("a")}}); err != nil {
		t.Fatalf("appending a batch to a topic created by another client: %v", err)
	}

	other := harness.Topic(t, topics.TopicSpec{Name: "meta-new2", Partitions: 2})
	if err := p.Send(ctx, topics.Record{Topic: other, Key: []byte("k"), Value: []byte("b")}); err != nil {
		t.Fatalf("sending to a topic created by another client: %v", err)
	}
	offs, err = admin.ListOffsets(ctx, fresh, other)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, r := range offs {
		n += r.End - r.Start
	}
	if n != 2 {
		t.Fatalf("records in %s and %s: got %d, want 2 (%v)", fresh, other, n, offs)
	}
}
