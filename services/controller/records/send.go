package records

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/weirhq/weir/libs/topics"
)

// SendSummary is send's line in the controller's usage.
const SendSummary = "produce records to a topic: JSON lines {\"key\":..,\"value\":..} on stdin, or --key/--value"

// Send runs `controller send TOPIC`.
func Send(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return send(ctx, args, os.Stdin, stdout, stderr)
}

// line is one record as send reads it.
type line struct {
	Key       json.RawMessage `json:"key"`
	Value     json.RawMessage `json:"value"`
	Partition *int32          `json:"partition"`
}

func send(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs)
	key := fs.String("key", "", "the record's key (with --value: send one record instead of reading stdin)")
	value := fs.String("value", "", "the record's value: JSON for json and model codecs, text otherwise")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: controller send [flags] TOPIC\n\n"+
			"Reads JSON lines {\"key\": K, \"value\": V, \"partition\": P} from stdin (key and partition\n"+
			"optional), or sends one record given by --key/--value. Exits 1 if any record fails.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	topic, code, ok := parseOne(fs, args, stdout)
	if !ok {
		return code
	}
	if err := checkOutput(c.output); err != nil {
		fmt.Fprintf(stderr, "controller send: %v\n", err)
		return exitUsage
	}
	one := false
	fs.Visit(func(f *flag.Flag) { one = one || f.Name == "value" || f.Name == "key" })
	fail := func(err error) int {
		fmt.Fprintf(stderr, "controller send: %v\n", err)
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
	var recs []topics.Record
	if one {
		rec, err := r.record(rawText(*key, r.key), rawText(*value, r.value), nil)
		if err != nil {
			return fail(err)
		}
		recs = append(recs, rec)
	} else {
		sc := bufio.NewScanner(stdin)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for n := 1; sc.Scan(); n++ {
			text := strings.TrimSpace(sc.Text())
			if text == "" {
				continue
			}
			var l line
			if err := json.Unmarshal([]byte(text), &l); err != nil {
				return fail(fmt.Errorf("stdin line %d: not a JSON object {\"key\":..,\"value\":..}: %w", n, err))
			}
			rec, err := r.record(l.Key, l.Value, l.Partition)
			if err != nil {
				return fail(fmt.Errorf("stdin line %d: %w", n, err))
			}
			recs = append(recs, rec)
		}
		if err := sc.Err(); err != nil {
			return fail(fmt.Errorf("reading stdin: %w", err))
		}
	}
	p, err := topics.NewProducer(topics.ProducerConfig{ClientConfig: kcfg})
	if err != nil {
		return fail(err)
	}
	defer p.Close()
	if err := p.Send(ctx, recs...); err != nil {
		return fail(fmt.Errorf("sending to %s: %w", r.kafka, err))
	}
	if c.output == "json" {
		b, _ := json.Marshal(map[string]any{"topic": r.kafka, "sent": len(recs)}) // plain values
		fmt.Fprintln(stdout, string(b))
	} else {
		fmt.Fprintf(stdout, "sent %d record(s) to %s\n", len(recs), r.kafka)
	}
	return exitOK
}

// rawText turns a flag's text into the JSON form record expects: JSON codecs take it as
// JSON, the others as a string.
func rawText(s string, c topics.Codec) json.RawMessage {
	if s == "" {
		return nil
	}
	if c.Name() == "json" || strings.HasPrefix(c.Name(), "model:") {
		return json.RawMessage(s)
	}
	b, _ := json.Marshal(s) // a string always encodes
	return b
}

// record encodes a key and value given as JSON with the topic's codecs.
func (r resolved) record(key, value json.RawMessage, partition *int32) (topics.Record, error) {
	rec := topics.Record{Topic: r.kafka}
	var err error
	if rec.Key, err = encode(r.key, key); err != nil {
		return rec, fmt.Errorf("key: %w", err)
	}
	if rec.Value, err = encode(r.value, value); err != nil {
		return rec, fmt.Errorf("value: %w", err)
	}
	if partition != nil {
		rec.Partition, rec.PinPartition = *partition, true
	}
	return rec, nil
}

func encode(c topics.Codec, raw json.RawMessage) ([]byte, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	switch {
	case c.Name() == "json":
		if !json.Valid(raw) {
			return nil, errors.New("not valid JSON")
		}
		return c.Encode(json.RawMessage(raw))
	case strings.HasPrefix(c.Name(), "model:"):
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("not valid JSON: %w", err)
		}
		return c.Encode(v)
	default: // bytes, string: a JSON string, or any other JSON as its text
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			s = string(raw)
		}
		return c.Encode(s)
	}
}

// parseOne parses args (flags may follow the topic) and returns the one positional argument.
func parseOne(fs *flag.FlagSet, args []string, stdout io.Writer) (string, int, bool) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(stdout)
				fs.Usage()
				return "", exitOK, false
			}
			return "", exitUsage, false
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != 1 {
		fmt.Fprintf(fs.Output(), "controller %s: want exactly one TOPIC, got %d arguments\n\n", fs.Name(), len(pos))
		fs.Usage()
		return "", exitUsage, false
	}
	return pos[0], exitOK, true
}
