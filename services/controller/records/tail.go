package records

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/weirhq/weir/libs/topics"
)

// TailSummary is tail's line in the controller's usage.
const TailSummary = "print a topic's records, decoded (--from earliest|latest, --limit N)"

// Tail runs `controller tail TOPIC`.
func Tail(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tail", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs)
	from := fs.String("from", "latest", "where to start: earliest or latest")
	limit := fs.Int("limit", 0, "stop after `N` records (0: run until interrupted)")
	idle := fs.Duration("idle", 0, "stop when no record arrives for this `duration` (0: never)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: controller tail [flags] TOPIC\n\nPrints every record of every partition, decoded with the topic's codecs.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	topic, code, ok := parseOne(fs, args, stdout)
	if !ok {
		return code
	}
	if err := checkOutput(c.output); err != nil {
		fmt.Fprintf(stderr, "controller tail: %v\n", err)
		return exitUsage
	}
	var start int64
	switch *from {
	case "earliest":
		start = topics.FirstOffset
	case "latest":
		start = topics.LastOffset
	default:
		fmt.Fprintf(stderr, "controller tail: --from must be earliest or latest, got %q\n", *from)
		return exitUsage
	}
	if *limit < 0 {
		fmt.Fprintf(stderr, "controller tail: --limit must not be negative\n")
		return exitUsage
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "controller tail: %v\n", err)
		return exitError
	}
	kcfg, err := c.kafkaConfig()
	if err != nil {
		return fail(err)
	}
	r, err := c.resolve(ctx, topic)
	if err != nil {
		return fail(err)
	}
	admin, err := topics.NewAdmin(kcfg)
	if err != nil {
		return fail(err)
	}
	info, err := admin.DescribeTopic(ctx, r.kafka)
	if err != nil {
		return fail(err)
	}
	cons, err := topics.NewConsumer(topics.ConsumerConfig{ClientConfig: kcfg})
	if err != nil {
		return fail(err)
	}
	for p := range info.Partitions {
		cons.Assign(topics.TopicPartition{Topic: r.kafka, Partition: int32(p)}, start)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- cons.Run(ctx) }()
	defer func() { cancel(); <-done }()

	n := 0
	for *limit == 0 || n < *limit {
		pctx, pcancel := ctx, context.CancelFunc(func() {})
		if *idle > 0 {
			pctx, pcancel = context.WithTimeout(ctx, *idle)
		}
		b, err := cons.Poll(pctx)
		pcancel()
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			break // idle
		}
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return fail(err)
		}
		for _, rec := range b.Records {
			if *limit > 0 && n >= *limit {
				break
			}
			n++
			r.print(stdout, c.output, rec)
		}
	}
	return exitOK
}

// print writes one decoded record.
func (r resolved) print(w io.Writer, output string, rec topics.Record) {
	key, kerr := decode(r.key, rec.Key)
	value, verr := decode(r.value, rec.Value)
	out := map[string]any{
		"topic": rec.Topic, "partition": rec.Partition, "offset": rec.Offset,
		"timestamp": rec.Time.UTC().Format(time.RFC3339Nano), "key": key, "value": value,
	}
	if kerr != nil {
		out["key_error"] = kerr.Error()
	}
	if verr != nil {
		out["value_error"] = verr.Error()
	}
	if output == "json" {
		b, err := json.Marshal(out)
		if err != nil {
			b, _ = json.Marshal(map[string]any{"offset": rec.Offset, "error": err.Error()})
		}
		fmt.Fprintln(w, string(b))
		return
	}
	kb, _ := json.Marshal(key)
	vb, _ := json.Marshal(value)
	fmt.Fprintf(w, "%s/%d@%d %s key=%s value=%s\n", rec.Topic, rec.Partition, rec.Offset, rec.Time.UTC().Format(time.RFC3339), kb, vb)
}

// decode decodes with the codec; bytes come out as a string when they are valid UTF-8 text.
func decode(c topics.Codec, b []byte) (any, error) {
	if b == nil {
		return nil, nil
	}
	v, err := c.Decode(b)
	if err != nil {
		return string(b), err
	}
	if raw, ok := v.([]byte); ok {
		return string(raw), nil
	}
	return v, nil
}
