// Command bench-io measures Weir's Kafka I/O layer against the broker in KAFKA_BROKERS.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/weirhq/weir/integration/bench"
	"github.com/weirhq/weir/libs/topics"
)

func main() {
	cfg := bench.IOConfig{}
	flag.StringVar(&cfg.Topic, "topic", fmt.Sprintf("bench-io-%d", time.Now().UnixNano()), "topic to create and use")
	flag.IntVar(&cfg.Partitions, "partitions", 8, "partitions of the throughput topic")
	flag.IntVar(&cfg.Records, "records", 1_000_000, "records for the throughput runs")
	flag.IntVar(&cfg.ValueSize, "value-size", 100, "value size in bytes")
	flag.IntVar(&cfg.StallRate, "stall-rate", 10_000, "steady load (records/s) during the assignment-change run")
	flag.DurationVar(&cfg.StallDuration, "stall-duration", 10*time.Second, "length of the assignment-change run")
	flag.Parse()
	cfg.Client = topics.ClientConfig{Brokers: topics.ParseBrokers(os.Getenv("KAFKA_BROKERS")), ClientID: "weir-bench"}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	if err := bench.RunIO(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench-io:", err)
		os.Exit(1)
	}
}
