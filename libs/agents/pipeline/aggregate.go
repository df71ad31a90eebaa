package pipeline

import (
	"bytes"
	"fmt"

	"github.com/weirhq/weir/libs/agents"
	"github.com/weirhq/weir/libs/agents/expr"
	"github.com/weirhq/weir/libs/topics"
)

// avgCountPrefix prefixes the key under which an avg aggregate keeps its running count.
const avgCountPrefix = "\x00avg\x00"

// aggregate folds the record into its (plain) table under the record's key; the record's
// value becomes the key's new aggregate. Windowed tables: see aggregateWindowed.
func (x *exec) aggregate(s *step, env *expr.Env) error {
	tbl := s.table
	var v any
	if s.value != nil {
		var err error
		if v, err = s.value.Eval(env); err != nil {
			return err
		}
	}
	kb, err := agents.EncodeKey(env.Key)
	if err != nil {
		return fmt.Errorf("aggregating: %w", err)
	}
	t, err := x.tx.table(tbl.Name)
	if err != nil {
		return err
	}
	cur, found, err := getJSON(t, kb)
	if err != nil {
		return fmt.Errorf("reading table %q: %w", tbl.Name, err)
	}
	if !found {
		if cur, err = plain(tbl.Default); err != nil {
			return fmt.Errorf("table %q's default: %w", tbl.Name, err)
		}
	}
	next, err := fold(s.label, cur, v, func() (float64, error) {
		n, _, err := getJSON(t, append([]byte(avgCountPrefix), kb...))
		f, _ := n.(float64)
		return f, err
	}, func(n float64) error {
		return setJSON(t, append([]byte(avgCountPrefix), kb...), n)
	})
	if err != nil {
		return fmt.Errorf("aggregate %q into table %q: %w", s.label, tbl.Name, err)
	}
	b, err := encodeJSON(next)
	if err != nil {
		return fmt.Errorf("writing table %q: %w", tbl.Name, err)
	}
	t.put(kb, b, false) // b is ours: no copy
	env.Value = next
	x.lastAgg = encodedValue{v: next, json: b}
	return nil
}

// fold computes an aggregate's new value from the current one and the record's value.
func fold(fn string, cur, v any, avgCount func() (float64, error), setAvgCount func(float64) error) (any, error) {
	if fn == "count" {
		n, err := number(cur, "the current count")
		return n + 1, err
	}
	if v == nil && fn != "last" {
		return cur, nil // nulls are skipped
	}
	switch fn {
	case "sum":
		n, err := number(cur, "the current sum")
		if err != nil {
			return nil, err
		}
		f, err := number(v, "the value")
		return n + f, err
	case "min", "max":
		f, err := number(v, "the value")
		if err != nil || cur == nil {
			return f, err
		}
		c, err := number(cur, "the current "+fn)
		if err != nil {
			return nil, err
		}
		if fn == "min" {
			return min(c, f), nil
		}
		return max(c, f), nil
	case "avg":
		f, err := number(v, "the value")
		if err != nil {
			return nil, err
		}
		n, err := avgCount()
		if err != nil {
			return nil, err
		}
		c := 0.0
		if n > 0 {
			if c, err = number(cur, "the current average"); err != nil {
				return nil, err
			}
		}
		if err := setAvgCount(n + 1); err != nil {
			return nil, err
		}
		return c + (f-c)/(n+1), nil
	case "last":
		return v, nil
	case "collect_set":
		var set []any
		if cur != nil {
			s, ok := cur.([]any)
			if !ok {
				return nil, fmt.Errorf("the current set is %s, not a list", describe(cur))
			}
			set = s
		}
		vb, err := encodeJSON(v)
		if err != nil {
			return nil, err
		}
		for _, e := range set {
			if eb, err := encodeJSON(e); err == nil && bytes.Equal(eb, vb) {
				return set, nil
			}
		}
		return append(append([]any(nil), set...), v), nil
	}
	return nil, fmt.Errorf("unknown aggregate function %q", fn)
}

func number(v any, what string) (float64, error) {
	switch v := v.(type) {
	case nil:
		return 0, nil
	case float64:
		return v, nil
	}
	return 0, fmt.Errorf("%s is %s, not a number", what, describe(v))
}

func getJSON(t agents.Table, key []byte) (any, bool, error) {
	b, ok, err := t.Get(key)
	if err != nil || !ok {
		return nil, ok, err
	}
	v, err := jsonValue(b)
	return v, true, err
}

func setJSON(t *txTable, key []byte, v any) error {
	b, err := encodeJSON(v)
	if err != nil {
		return err
	}
	t.put(key, b, false) // b is ours: no copy
	return nil
}

// encodeJSON encodes a value as tables and envelopes hold it.
func encodeJSON(v any) ([]byte, error) {
	b, err := topics.AppendJSON(nil, v)
	if err != nil {
		return nil, fmt.Errorf("encoding %s as JSON: %w", describe(v), err)
	}
	return b, nil
}
