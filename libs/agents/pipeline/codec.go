package pipeline

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/weirhq/weir/libs/agents/expr"
	"github.com/weirhq/weir/libs/config/app"
	"github.com/weirhq/weir/libs/topics"
)

// topicCodec is how a task reads and writes one topic.
type topicCodec struct {
	label     string // the topic's name in the app; "" for internal topics
	kafka     string // its name in Kafka
	key       topics.Codec
	value     topics.Codec
	timestamp *expr.Program // event time; nil: the record's timestamp
	// fields are the model's fields when the value codec is a model: a decoded record
	// gets null for each one it lacks, so that value.FIELD is null rather than an error.
	fields []string
	// valuePlain says decoded values need no normalize: the value codec is json, string,
	// or a model without timestamps.
	valuePlain bool
}

func newTopicCodec(t *app.Topic, models map[string]*topics.RecordSchema, ctx evalContext) (*topicCodec, error) {
	tc := &topicCodec{label: t.Name, kafka: t.Kafka}
	var err error
	if tc.key, err = topics.CodecByName(t.Key.String(), models); err != nil {
		return nil, fmt.Errorf("building topic %s's key codec: %w", t.Name, err)
	}
	if tc.value, err = topics.CodecByName(t.Value.String(), models); err != nil {
		return nil, fmt.Errorf("building topic %s's value codec: %w", t.Name, err)
	}
	if s := models[t.Value.Model]; t.Value.Name == "model" && s != nil {
		for _, f := range s.Fields {
			tc.fields = append(tc.fields, f.Name)
		}
		tc.valuePlain = !hasTimestamps(s.Fields)
	}
	if n := tc.value.Name(); n == "json" || n == "string" {
		tc.valuePlain = true
	}
	if t.Timestamp.IsSet() {
		if tc.timestamp, err = expr.Compile(t.Timestamp.Expr, ctx); err != nil {
			return nil, fmt.Errorf("compiling topic %s's timestamp: %w", t.Name, err)
		}
	}
	return tc, nil
}

// decode decodes a key or value: nil bytes are null, and the result is normalised for
// expressions (bytes and timestamps become strings).
func decode(c topics.Codec, b []byte) (any, error) {
	if b == nil {
		return nil, nil
	}
	v, err := c.Decode(b)
	if err != nil {
		return nil, err
	}
	return normalize(v), nil
}

// decodePlain is decode for a codec whose values need no normalize.
func decodePlain(c topics.Codec, b []byte) (any, error) {
	if b == nil {
		return nil, nil
	}
	return c.Decode(b)
}

// hasTimestamps reports whether a model's fields have a timestamp at any depth: the only
// values a model decodes to that normalize changes.
func hasTimestamps(fields []topics.Field) bool {
	for _, f := range fields {
		if f.Type == topics.TypeTimestamp || f.Elem != nil && hasTimestamps([]topics.Field{*f.Elem}) || hasTimestamps(f.Fields) {
			return true
		}
	}
	return false
}

// normalize turns values expressions have no type for into strings: []byte and time.Time.
func normalize(v any) any {
	switch v := v.(type) {
	case []byte:
		return string(v)
	case time.Time:
		return expr.FormatTime(v)
	case map[string]any:
		for k, e := range v {
			switch e.(type) {
			case time.Time, []byte, map[string]any, []any:
				v[k] = normalize(e)
			}
		}
	case []any:
		for i, e := range v {
			v[i] = normalize(e)
		}
	}
	return v
}

// encode encodes a value for a codec. Strings, numbers and bools convert to text for the
// string and bytes codecs, as HCL converts them to strings.
func encode(c topics.Codec, v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	switch c.Name() {
	case "string", "bytes":
		switch x := v.(type) {
		case float64:
			v = strconv.FormatFloat(x, 'f', -1, 64)
		case bool:
			v = strconv.FormatBool(x)
		}
	}
	return c.Encode(v)
}

// eventTime returns a record's event time: the topic's timestamp expression, an RFC 3339
// string or epoch milliseconds, or the record's own timestamp.
func (tc *topicCodec) eventTime(env *expr.Env) (time.Time, error) {
	if tc.timestamp == nil {
		return env.Timestamp, nil
	}
	v, err := tc.timestamp.Eval(env)
	if err != nil {
		return time.Time{}, fmt.Errorf("evaluating topic %s's timestamp: %w", tc.label, err)
	}
	switch v := v.(type) {
	case nil:
		return env.Timestamp, nil
	case float64:
		return time.UnixMilli(int64(v)).UTC(), nil
	case string:
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return time.Time{}, fmt.Errorf("topic %s's timestamp %q is not an RFC 3339 time", tc.label, v)
		}
		return t, nil
	}
	return time.Time{}, fmt.Errorf("topic %s's timestamp is a %T; want an RFC 3339 string or epoch milliseconds", tc.label, v)
}

// envelope is the value of a record on a repartition topic: the re-keyed record's key,
// value and lookup results, which the stage after the repartition continues with.
type envelope struct {
	Key     any            `json:"k"`
	Value   any            `json:"v"`
	Lookups map[string]any `json:"l,omitempty"`
}

func decodeEnvelope(b []byte) (envelope, error) {
	var e envelope
	if err := json.Unmarshal(b, &e); err != nil {
		return envelope{}, fmt.Errorf("decoding a repartitioned record: %w", err)
	}
	return e, nil
}

// jsonValue decodes a table value; nil bytes are null.
func jsonValue(b []byte) (any, error) {
	v, err := topics.UnmarshalJSON(b)
	if err != nil {
		return nil, fmt.Errorf("decoding a table value: %w", err)
	}
	return v, nil
}

// plain round-trips a Go value through JSON: a table default as the table would hold it.
func plain(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return jsonValue(b)
}

// fillFields sets the model's absent fields of a decoded record to null.
func (tc *topicCodec) fillFields(v any) {
	m, ok := v.(map[string]any)
	if !ok {
		return
	}
	for _, f := range tc.fields {
		if _, ok := m[f]; !ok {
			m[f] = nil
		}
	}
}
