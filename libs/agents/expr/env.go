package expr

import (
	"fmt"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/weirhq/weir/libs/topics"
)

// Env is one record as expressions see it. Value and Key hold decoded values (see the
// package comment for their Go types); Lookups holds the result of each lookup step by
// name (nil when the key was absent). An Env is used by one goroutine at a time; a
// Program may be evaluated on many Envs concurrently.
type Env struct {
	Value     any
	Key       any
	Headers   []topics.Header
	Timestamp time.Time
	Partition int32
	Offset    int64
	Lookups   map[string]any
}

// Roots are the per-record variables an expression may use, besides var and local.
var Roots = []string{"value", "key", "headers", "timestamp", "partition", "offset", "lookup"}

// root returns the Go value of a per-record variable.
func (e *Env) root(name string) (any, error) {
	switch name {
	case "value":
		return e.Value, nil
	case "key":
		return e.Key, nil
	case "headers":
		return e.headersCty(), nil
	case "timestamp":
		return FormatTime(e.Timestamp), nil
	case "partition":
		return float64(e.Partition), nil
	case "offset":
		return float64(e.Offset), nil
	case "lookup":
		if e.Lookups == nil {
			return map[string]any{}, nil
		}
		return e.Lookups, nil
	}
	return nil, fmt.Errorf("unknown variable %q: expressions may use %v, var and local", name, Roots)
}

// ctyRoot returns a per-record variable as cty evaluation sees it.
func (e *Env) ctyRoot(name string) (cty.Value, error) {
	v, err := e.root(name)
	if err != nil {
		return cty.NilVal, err
	}
	c, err := ToCty(v)
	if err != nil {
		return cty.NilVal, fmt.Errorf("converting %s: %w", name, err)
	}
	return c, nil
}

// header returns the value of the last header called name.
func (e *Env) header(name string) (string, bool) {
	for i := len(e.Headers) - 1; i >= 0; i-- {
		if e.Headers[i].Key == name {
			return string(e.Headers[i].Value), true
		}
	}
	return "", false
}

// headersCty is the headers as a cty map of strings; a repeated header keeps its last value.
func (e *Env) headersCty() cty.Value {
	if len(e.Headers) == 0 {
		return cty.MapValEmpty(cty.String)
	}
	m := make(map[string]cty.Value, len(e.Headers))
	for _, h := range e.Headers {
		m[h.Key] = cty.StringVal(string(h.Value))
	}
	return cty.MapVal(m)
}
