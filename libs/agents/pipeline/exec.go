package pipeline

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"time"

	"github.com/weirhq/weir/libs/agents"
	"github.com/weirhq/weir/libs/agents/expr"
	"github.com/weirhq/weir/libs/config/app"
	"github.com/weirhq/weir/libs/topics"
)

// exec is one attempt of one stage on one record.
type exec struct {
	task      *Task
	stage     *stage
	in        *agents.Record
	tx        *tx
	seq       int
	ctx       context.Context
	attempt   int
	eventTime time.Time
	taskID    string
	// taskIDBytes is taskID as a header value, when the exec runs for an input record.
	taskIDBytes []byte
	txv         tx                // what tx points to, allocated with the exec
	outBuf      [1]agents.Message // room for the usual single output
	// lastAgg is the last aggregate's new value with its JSON encoding, which an emit of
	// that value to a json topic reuses.
	lastAgg encodedValue
	env     expr.Env // the record as the steps see it
	// identity, when set, is the content identity of the emissions (a timer firing); they
	// carry IdentityHeaders instead of the input's DedupHeaders.
	identity string
	win      *agents.WindowValue // the window the steps run for, after a windowed aggregate
	ops      []*windowOp         // windowed aggregates deferred to the attempt's end
}

func (x *exec) start(d *decoded) error {
	if h := x.stage.agent.handler; h != nil {
		rec := d.raw
		rec.Timestamp = d.Timestamp
		hc := agents.NewContext(x.ctx, handlerRuntime{x}, x.stage.agent.name, x.taskID, rec,
			x.task.logger.With("agent", x.stage.agent.name), x.attempt)
		return h(hc)
	}
	x.env = d.Env // in the exec: no allocation of its own
	if x.env.Lookups != nil {
		x.env.Lookups = maps.Clone(x.env.Lookups)
	}
	return x.run(x.stage.steps, &x.env)
}

// run runs steps on one record; flat_map runs the rest once per element.
func (x *exec) run(steps []*step, env *expr.Env) error {
	for i, s := range steps {
		stop, err := x.step(s, steps[i+1:], env)
		if err != nil {
			return fmt.Errorf("%s step at %s: %w", s.kind, s.rng, err)
		}
		if stop {
			return nil
		}
	}
	return nil
}

// step runs one step; stop ends the record's way through the stage.
func (x *exec) step(s *step, rest []*step, env *expr.Env) (stop bool, err error) {
	switch s.kind {
	case app.StepFilter:
		ok, err := s.when.EvalBool(env)
		return !ok, err
	case app.StepMap:
		if s.emit != nil {
			if done, err := x.mapEmit(s, env); done || err != nil {
				return true, err
			}
		}
		var k, v any
		if s.key != nil {
			if k, err = s.key.Eval(env); err != nil {
				return true, err
			}
		}
		if s.value != nil {
			if v, err = s.value.Eval(env); err != nil {
				return true, err
			}
		}
		if s.key != nil {
			env.Key = k
		}
		if s.value != nil {
			env.Value = v
		}
	case app.StepSet:
		v, err := s.value.Eval(env)
		if err != nil {
			return true, err
		}
		rec, ok := env.Value.(map[string]any)
		if !ok {
			return true, fmt.Errorf("set %q needs a record value, got %s", s.label, describe(env.Value))
		}
		rec = maps.Clone(rec)
		rec[s.label] = v
		env.Value = rec
	case app.StepFlatMap:
		v, err := s.value.Eval(env)
		if err != nil {
			return true, err
		}
		elems, ok := v.([]any)
		if !ok && v != nil {
			return true, fmt.Errorf("flat_map needs a list, got %s", describe(v))
		}
		for _, e := range elems {
			child := *env
			child.Value = e
			if child.Lookups != nil {
				child.Lookups = maps.Clone(child.Lookups)
			}
			if err := x.run(rest, &child); err != nil {
				return true, err
			}
		}
		return true, nil
	case app.StepGroupBy, app.StepKeyBy:
		k, err := s.key.Eval(env)
		if err != nil {
			return true, err
		}
		env.Key = k
		if s.repartitionTopic != "" {
			return true, x.repartition(s.repartitionTopic, env)
		}
	case app.StepAggregate:
		if s.table.Window != nil {
			return true, x.aggregateWindowed(s, rest, env)
		}
		return false, x.aggregate(s, env)
	case app.StepLookup:
		return false, x.lookup(s, env)
	case app.StepEmit:
		return false, x.emit(s, env)
	default:
		return true, fmt.Errorf("unknown step kind %q", s.kind)
	}
	return false, nil
}

func (x *exec) lookup(s *step, env *expr.Env) error {
	k := env.Key
	if s.key != nil {
		var err error
		if k, err = s.key.Eval(env); err != nil {
			return err
		}
	}
	if env.Lookups == nil {
		env.Lookups = map[string]any{}
	}
	env.Lookups[s.label] = nil
	if k == nil {
		return nil
	}
	kb, err := agents.EncodeKey(k)
	if err != nil {
		return err
	}
	if s.table.Window != nil {
		v, err := x.lookupWindow(s, kb)
		env.Lookups[s.label] = v
		return err
	}
	t, err := x.tx.table(s.table.Name)
	if err != nil {
		return err
	}
	b, ok, err := t.Get(kb)
	if err != nil {
		return fmt.Errorf("reading table %q: %w", s.table.Name, err)
	}
	if ok {
		v, err := jsonValue(b)
		if err != nil {
			return fmt.Errorf("table %q: %w", s.table.Name, err)
		}
		env.Lookups[s.label] = v
	}
	return nil
}

func (x *exec) emit(s *step, env *expr.Env) error {
	k, v := env.Key, env.Value
	var err error
	if s.key != nil {
		if k, err = s.key.Eval(env); err != nil {
			return err
		}
	}
	if s.value != nil {
		if v, err = s.value.Eval(env); err != nil {
			return err
		}
	}
	kb, err := x.sameKey(s.to.key, k)
	if kb == nil {
		kb, err = encode(s.to.key, k)
	}
	if err != nil {
		return fmt.Errorf("encoding the key for topic %s: %w", s.to.label, err)
	}
	vb, err := x.lastAgg.reuse(s.to.value, v)
	if vb == nil {
		vb, err = encode(s.to.value, v)
	}
	if err != nil {
		return fmt.Errorf("encoding the value for topic %s: %w", s.to.label, err)
	}
	x.send(s.to.kafka, kb, vb, nil)
	return nil
}

// mapEmit runs a map step whose value is an object constructor together with the emit step
// that ends the stage (step.emit): the object is encoded straight into the output record's
// value, without building it, and the emit step is done. The key is evaluated and encoded
// as the two steps would. done is false, with nothing changed, when that does not apply
// to this record (the value is not an object constructor with literal keys, it
// fails to evaluate or to encode that way, or the key fails to encode): the map and emit
// steps then run as usual, and report what failed.
func (x *exec) mapEmit(s *step, env *expr.Env) (done bool, err error) {
	e := s.emit
	k := env.Key
	if s.key != nil {
		if k, err = s.key.Eval(env); err != nil {
			return true, err
		}
	}
	kb, err := x.sameKey(e.to.key, k)
	if kb == nil && err == nil {
		kb, err = encode(e.to.key, k)
	}
	if err != nil {
		return false, nil
	}
	vb, ok := s.value.AppendJSON(x.task.slab.free(128), env) // on the record before the map, as map does
	if !ok {
		return false, nil
	}
	env.Key = k
	x.send(e.to.kafka, kb, x.task.slab.keep(vb), nil)
	return true, nil
}

// encodedValue is a value and its JSON encoding.
type encodedValue struct {
	v    any
	json []byte
}

// reuse returns e's encoding when v is e's value (a number, string or bool) and c encodes
// it as JSON: the bytes encoding v again would give.
func (e encodedValue) reuse(c topics.Codec, v any) ([]byte, error) {
	if e.json == nil || c.Name() != "json" {
		return nil, nil
	}
	switch v.(type) {
	case float64, string, bool:
		if v == e.v {
			return e.json, nil
		}
	}
	return nil, nil
}

// sameKey returns the input record's key bytes when encoding k with c gives exactly them
// (a string or bytes codec and the same text): no copy for a key passed through.
func (x *exec) sameKey(c topics.Codec, k any) ([]byte, error) {
	ks, ok := k.(string)
	if !ok || x.in == nil || x.in.Key == nil || ks != string(x.in.Key) {
		return nil, nil
	}
	if n := c.Name(); n != "string" && n != "bytes" {
		return nil, nil
	}
	return x.in.Key, nil
}

// repartition sends the re-keyed record to the repartition topic; the stage after it
// continues there, on the task owning the key.
func (x *exec) repartition(topic string, env *expr.Env) error {
	kb, err := agents.EncodeKey(env.Key)
	if err != nil {
		return fmt.Errorf("re-keying: %w", err)
	}
	vb, err := encodeJSON(envelope{Key: env.Key, Value: env.Value, Lookups: env.Lookups})
	if err != nil {
		return fmt.Errorf("re-keying: %w", err)
	}
	x.send(topic, kb, vb, nil)
	return nil
}

// send queues an output record with the input's headers (Weir's replaced by new dedup
// headers, and window headers after a windowed aggregate) and its event time.
func (x *exec) send(topic string, key, value []byte, extra []topics.Header) {
	// The input's and the extra headers, window headers (2) and dedup headers (at most 4).
	n := len(x.in.Headers) + len(extra) + 4
	if x.win != nil {
		n += 2
	}
	headers := x.task.slab.headers(n)
	for _, h := range x.in.Headers {
		if !agents.IsWeirHeader(h.Key) {
			headers = append(headers, h)
		}
	}
	headers = append(headers, extra...)
	if x.win != nil {
		headers = append(headers, agents.WindowHeaders(x.win.Start, x.win.End)...)
	}
	switch {
	case x.identity != "":
		headers = append(headers, agents.IdentityHeaders(x.taskID, x.identity, x.seq)...)
	case x.taskIDBytes != nil:
		// agents.DedupHeaders, with the task and source values shared.
		headers = append(headers,
			topics.Header{Key: agents.HeaderTask, Value: x.taskIDBytes},
			topics.Header{Key: agents.HeaderSource, Value: x.task.source(x.in)},
			topics.Header{Key: agents.HeaderOffset, Value: strconv.AppendInt(x.task.slab.bytes(20), x.in.Offset, 10)},
			topics.Header{Key: agents.HeaderSeq, Value: seqValue(x.seq)})
	default:
		headers = append(headers, agents.DedupHeaders(x.taskID, x.in, x.seq)...)
	}
	x.seq++
	x.tx.out = append(x.tx.out, agents.Message{Topic: topic, Key: key, Value: value, Headers: headers, Timestamp: x.eventTime})
}

// slab hands out the header slices and offset header values of emitted records from
// shared chunks: one allocation per chunk instead of one per record. The records keep their
// chunk alive until the producer is done with them; a slice handed out is never handed out
// again (its capacity ends where the next one starts), so an append past it copies.
type slab struct {
	hdrs []topics.Header
	buf  []byte
}

const (
	slabHeaders = 512  // headers per chunk (about 85 records of 6)
	slabBytes   = 2048 // bytes per chunk (about 100 offsets)
)

// headers returns an empty slice with room for n headers.
func (s *slab) headers(n int) []topics.Header {
	if n > slabHeaders/4 {
		return make([]topics.Header, 0, n)
	}
	if len(s.hdrs)+n > cap(s.hdrs) {
		s.hdrs = make([]topics.Header, 0, slabHeaders)
	}
	i := len(s.hdrs)
	s.hdrs = s.hdrs[:i+n]
	return s.hdrs[i : i : i+n]
}

// bytes returns an empty slice with room for n bytes.
func (s *slab) bytes(n int) []byte {
	if n > slabBytes/4 {
		return make([]byte, 0, n)
	}
	if len(s.buf)+n > cap(s.buf) {
		s.buf = make([]byte, 0, slabBytes)
	}
	i := len(s.buf)
	s.buf = s.buf[:i+n]
	return s.buf[i : i : i+n]
}

// free returns the current chunk's unused room (at least n bytes, else a new chunk) as an
// empty slice, to append to; keep then takes what was appended.
func (s *slab) free(n int) []byte {
	if cap(s.buf)-len(s.buf) < n {
		s.buf = make([]byte, 0, max(slabBytes, n))
	}
	return s.buf[len(s.buf):len(s.buf)]
}

// keep returns b, appended to what free returned, as a slice of its own, taking its bytes
// out of the chunk when the appends stayed in it.
func (s *slab) keep(b []byte) []byte {
	room := cap(s.buf) - len(s.buf)
	if cap(b) != room || len(b) > room || (len(b) > 0 && &b[:1][0] != &s.buf[len(s.buf) : len(s.buf)+1][0]) {
		return b // b grew into memory of its own
	}
	i := len(s.buf)
	s.buf = s.buf[:i+len(b)]
	return s.buf[i : i+len(b) : i+len(b)]
}

// seqValues are the HeaderSeq values of the first few records emitted for one input.
var seqValues = func() [][]byte {
	out := make([][]byte, 16)
	for i := range out {
		out[i] = []byte(strconv.Itoa(i))
	}
	return out
}()

func seqValue(seq int) []byte {
	if seq >= 0 && seq < len(seqValues) {
		return seqValues[seq]
	}
	return strconv.AppendInt(nil, int64(seq), 10)
}

// handlerRuntime gives a Go handler its tables and topics through the attempt.
type handlerRuntime struct{ x *exec }

func (h handlerRuntime) Table(name string) (agents.Table, error) { return h.x.tx.Table(name) }

func (h handlerRuntime) Send(topic string, key, value []byte, headers []topics.Header) error {
	tc := h.x.task.plan.byLabel[topic]
	if tc == nil {
		return fmt.Errorf("sending to topic %q: the app has no such topic", topic)
	}
	h.x.send(tc.kafka, key, value, headers)
	return nil
}

// describe names a value's type for errors.
func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a bool"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	}
	return fmt.Sprintf("a %T", v)
}
