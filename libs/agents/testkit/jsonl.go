package testkit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// ReadInputs reads JSON lines of inputs; blank lines and lines starting with # are skipped.
func ReadInputs(r io.Reader) ([]Input, error) {
	var out []Input
	err := eachLine(r, func(n int, line []byte) error {
		var in Input
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
		kinds := 0
		for _, set := range []bool{in.Topic != "", in.Timer != "", in.Tick != ""} {
			if set {
				kinds++
			}
		}
		switch {
		case kinds == 0:
			return fmt.Errorf("line %d: no topic (or timer, or tick)", n)
		case kinds > 1:
			return fmt.Errorf("line %d: give one of topic, timer and tick", n)
		case in.Timer != "" && in.At == "":
			return fmt.Errorf("line %d: timer %q needs \"at\": the scheduled time", n, in.Timer)
		case in.Topic == "" && (in.Key != nil || in.Value != nil || in.Timestamp != "" || in.Headers != nil):
			return fmt.Errorf("line %d: key, value, timestamp and headers belong to records (with a topic)", n)
		case in.Timer == "" && in.At != "":
			return fmt.Errorf("line %d: \"at\" belongs to timer lines", n)
		}
		out = append(out, in)
		return nil
	})
	return out, err
}

// ReadOutputs reads JSON lines of outputs, as ReadInputs does.
func ReadOutputs(r io.Reader) ([]Output, error) {
	var out []Output
	err := eachLine(r, func(n int, line []byte) error {
		var o Output
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&o); err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
		out = append(out, o)
		return nil
	})
	return out, err
}

func eachLine(r io.Reader, fn func(n int, line []byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		if err := fn(n, line); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading lines: %w", err)
	}
	return nil
}

// Lines formats outputs as canonical JSON lines: fields in order, object keys sorted,
// no HTML escaping.
func Lines(outs []Output) ([]string, error) {
	lines := make([]string, 0, len(outs))
	for _, o := range outs {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(o); err != nil {
			return nil, fmt.Errorf("formatting an output: %w", err)
		}
		lines = append(lines, strings.TrimRight(b.String(), "\n"))
	}
	return lines, nil
}

func decodeJSON(b []byte) (any, error) {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("decoding a table value: %w", err)
	}
	return v, nil
}
