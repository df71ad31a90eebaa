//go:build integration

package integration

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/weirhq/weir/integration/harness"
	"github.com/weirhq/weir/libs/topics"
)

// TestBrokerRestart stops and restarts a broker under a running producer and consumer: the
// consumer resumes by itself and delivers every acknowledged record exactly once, in order,
// and sends that failed while the broker was down report errors (nothing is silently lost).
func TestBrokerRestart(t *testing.T) {
	b := harness.PrivateKafka(t)
	client := topics.ClientConfig{Brokers: []string{b.Addr}, ClientID: "weir-restart-test"}
	ctx := harness.Context(t, 4*time.Minute)
	admin, err := topics.NewAdmin(client)
	if err != nil {
		t.Fatal(err)
	}
	topic := harness.Name(t, "restart")
	if _, err := admin.EnsureTopics(ctx, topics.TopicSpec{Name: topic, Partitions: 2}); err != nil {
		t.Fatal(err)
	}
	p, err := topics.NewProducer(topics.ProducerConfig{ClientConfig: client, ProduceTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := topics.NewConsumer(topics.ConsumerConfig{ClientConfig: client})
	if err != nil {
		t.Fatal(err)
	}
	cctx, stopConsumer := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(cctx) }()
	defer func() { stopConsumer(); <-done }()
	for part := range 2 {
		c.Assign(topics.TopicPartition{Topic: topic, Partition: int32(part)}, topics.FirstOffset)
	}

	// Producer: a sequence per partition; a value is "acked" once Send returned nil.
	var mu sync.Mutex
	acked := map[int32][]int{}
	failed := 0
	send := func(part int32, seq int) {
		err := p.Send(ctx, topics.Record{Topic: topic, Partition: part, PinPartition: true, Value: []byte(strconv.Itoa(seq))})
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			failed++
			return
		}
		acked[part] = append(acked[part], seq)
	}
	stopLoad := make(chan struct{})
	var wg sync.WaitGroup
	for part := range int32(2) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := 0; ; seq++ {
				select {
				case <-stopLoad:
					return
				case <-time.After(5 * time.Millisecond):
				}
				send(part, seq)
			}
		}()
	}

	// Consume in the background, recording sequences per partition.
	var gotMu sync.Mutex
	got := map[int32][]int{}
	go func() {
		for {
			batch, err := c.Poll(cctx)
			if err != nil {
				return
			}
			gotMu.Lock()
			for _, r := range batch.Records {
				seq, _ := strconv.Atoi(string(r.Value))
				got[r.Partition] = append(got[r.Partition], seq)
			}
			gotMu.Unlock()
		}
	}()

	time.Sleep(2 * time.Second) // steady state before the restart
	b.Stop(t)
	time.Sleep(2 * time.Second) // sends fail while the broker is down
	b.Start(t)
	time.Sleep(3 * time.Second) // producer and consumer recover on their own
	close(stopLoad)
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	if failed == 0 {
		t.Error("no send failed while the broker was down: errors are not surfaced")
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		gotMu.Lock()
		complete := true
		for part, want := range acked {
			// Every acknowledged record arrives, in order, exactly once; failed sends may or
			// may not have landed (unknown outcome), so they are allowed between acked ones.
			if !containsInOrder(got[part], want) {
				complete = false
			}
		}
		snapshot := map[int32][]int{0: append([]int(nil), got[0]...), 1: append([]int(nil), got[1]...)}
		gotMu.Unlock()
		if complete {
			for part, seqs := range snapshot {
				for i := 1; i < len(seqs); i++ {
					if seqs[i] <= seqs[i-1] {
						t.Fatalf("partition %d: sequence %d after %d (repeat or reorder)", part, seqs[i], seqs[i-1])
					}
				}
			}
			t.Logf("acked %d+%d records, %d sends failed during the restart; all acked records delivered once, in order",
				len(acked[0]), len(acked[1]), failed)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("consumer did not deliver every acknowledged record after the restart: acked %d/%d, got %d/%d",
				len(acked[0]), len(acked[1]), len(snapshot[0]), len(snapshot[1]))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// containsInOrder reports whether want is a subsequence of got.
func containsInOrder(got, want []int) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}
