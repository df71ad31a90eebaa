// Command iodemo is the demo `make demo` runs at this stage of Weir: a word count over a real
// Kafka broker using only libs/topics. It creates a topic, produces lines of text keyed by
// word, reads every partition back through the assignment-based consumer, counts words,
// commits the group's offsets without joining the group, and prints the counts and the lag
// Kafka reports for the group. Stream processing agents, tables and the services arrive with
// later issues; this shows the I/O layer they stand on.
package main

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"github.com/weirhq/weir/libs/topics"
)

var lines = []string{
	"the quick brown fox jumps over the lazy dog",
	"a stream is a table in motion and a table is a stream at rest",
	"weir keeps state in tables and hands partitions off without stopping the world",
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "iodemo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	brokers := topics.ParseBrokers(os.Getenv("KAFKA_BROKERS"))
	if len(brokers) == 0 {
		return fmt.Errorf("KAFKA_BROKERS is not set; run `make demo`, which starts a local broker")
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	client := topics.ClientConfig{Brokers: brokers, ClientID: "weir-iodemo"}
	admin, err := topics.NewAdmin(client)
	if err != nil {
		return err
	}
	topic := fmt.Sprintf("iodemo-words-%d", time.Now().Unix())
	const partitions = 4
	if _, err := admin.EnsureTopics(ctx, topics.TopicSpec{Name: topic, Partitions: partitions, Retention: time.Hour}); err != nil {
		return err
	}
	defer admin.DeleteTopics(context.Background(), topic)
	fmt.Printf("created topic %s with %d partitions on %s\n", topic, partitions, strings.Join(brokers, ","))

	// Produce each word as a record keyed by the word, 100 rounds of the text.
	p, err := topics.NewProducer(topics.ProducerConfig{ClientConfig: client})
	if err != nil {
		return err
	}
	defer p.Close()
	want := map[string]int{}
	for range 100 {
		for _, line := range lines {
			for _, w := range strings.Fields(line) {
				want[w]++
				if err := p.SendAsync(ctx, topics.Record{Topic: topic, Key: []byte(w), Value: []byte(w)}, nil); err != nil {
					return err
				}
			}
		}
	}
	if err := p.Flush(ctx); err != nil {
		return err
	}
	total := 0
	for _, n := range want {
		total += n
	}
	fmt.Printf("produced %d records (acks=all)\n", total)

	// Consume all partitions from the start and count.
	c, err := topics.NewConsumer(topics.ConsumerConfig{ClientConfig: client})
	if err != nil {
		return err
	}
	cctx, stopConsumer := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(cctx) }()
	defer func() { stopConsumer(); <-done }()
	for part := range partitions {
		c.Assign(topics.TopicPartition{Topic: topic, Partition: int32(part)}, topics.FirstOffset)
	}
	got := map[string]int{}
	next := map[topics.TopicPartition]int64{}
	for n := 0; n < total; {
		b, err := c.Poll(ctx)
		if err != nil {
			return fmt.Errorf("consuming: %w", err)
		}
		for _, r := range b.Records {
			got[string(r.Key)]++
			next[b.TopicPartition] = r.Offset + 1
		}
		n += len(b.Records)
	}
	group := "iodemo-" + topic
	if err := admin.CommitOffsets(ctx, group, next); err != nil {
		return err
	}
	lag, err := admin.Lag(ctx, group, topic)
	if err != nil {
		return err
	}

	words := slices.SortedFunc(maps.Keys(got), func(a, b string) int {
		return cmp.Or(cmp.Compare(got[b], got[a]), cmp.Compare(a, b))
	})
	fmt.Println("top words:")
	for _, w := range words[:8] {
		fmt.Printf("  %-10s %4d (partition %d)\n", w, got[w], topics.KeyPartition([]byte(w), partitions))
	}
	var totalLag int64
	for _, l := range lag {
		totalLag += l.Lag
	}
	ok := maps.Equal(got, want)
	fmt.Printf("consumer group %s: committed offsets on %d partitions, total lag %d\n", group, len(lag), totalLag)
	if !ok || totalLag != 0 {
		return fmt.Errorf("counts match=%v lag=%d: something went wrong", ok, totalLag)
	}
	fmt.Println("all counts match what was produced")
	return nil
}
