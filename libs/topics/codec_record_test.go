package topics

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// pageViewSchema exercises every field type, nesting, required fields and defaults.
func pageViewSchema() RecordSchema {
	return RecordSchema{
		Name: "PageView",
		Fields: []Field{
			{Name: "url", Type: TypeString, Required: true},
			{Name: "at", Type: TypeTimestamp, Required: true},
			{Name: "user", Type: TypeObject, Fields: []Field{
				{Name: "id", Type: TypeString, Required: true},
				{Name: "name", Type: TypeString, Default: "anon"},
				{Name: "address", Type: TypeObject, Default: map[string]any{}, Fields: []Field{
					{Name: "zip", Type: TypeString},
					{Name: "country", Type: TypeString, Default: "NL"},
				}},
			}},
			{Name: "tags", Type: TypeList, Elem: &Field{Type: TypeString}},
			{Name: "attrs", Type: TypeMap, Elem: &Field{Type: TypeString}},
			{Name: "score", Type: TypeNumber, Default: 0},
			{Name: "bot", Type: TypeBool, Default: false},
			{Name: "seen", Type: TypeList, Elem: &Field{Type: TypeTimestamp}},
			{Name: "meta", Type: TypeObject}, // any object
			{Name: "extra", Type: TypeList},  // any values
			{Name: "grid", Type: TypeList, Elem: &Field{Type: TypeList, Elem: &Field{Type: TypeNumber}}},
			{Name: "points", Type: TypeList, Elem: &Field{Type: TypeObject, Fields: []Field{
				{Name: "x", Type: TypeNumber, Required: true},
				{Name: "label", Type: TypeString, Default: "-"},
			}}},
		},
	}
}

func mustRecordCodec(t testing.TB, s RecordSchema) *RecordCodec {
	t.Helper()
	c, err := NewRecordCodec(s)
	if err != nil {
		t.Fatalf("NewRecordCodec: %v", err)
	}
	return c
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// baseDefaults are the fields a minimal PageView decodes with.
func baseDefaults(extra map[string]any) map[string]any {
	m := map[string]any{"url": "/", "at": utc("2024-03-01T12:00:00Z"), "score": 0.0, "bot": false}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func TestRecordCodecDecode(t *testing.T) {
	c := mustRecordCodec(t, pageViewSchema())
	if c.Name() != "model:PageView" {
		t.Errorf("Name() = %q", c.Name())
	}
	const base = `"url": "/", "at": "2024-03-01T12:00:00Z"`
	tests := []struct {
		name string
		in   string
		want map[string]any
	}{
		{"minimal, defaults applied", `{` + base + `}`, baseDefaults(nil)},
		{"all fields", `{"url": "/a", "at": 1709294400000, "score": -1.5e2, "bot": true,
			"user": {"id": "u1", "name": "Ann", "address": {"zip": "1011", "country": "BE"}},
			"tags": ["a", "b"], "attrs": {"k": "v", "a b": ""}, "seen": ["2024-03-01T13:00:00+01:00"],
			"meta": {"n": 1, "deep": [null, {"x": true}]}, "extra": [1, "two", null, [3]],
			"grid": [[1, 2], [], [3.5]], "points": [{"x": 1}, {"x": 2, "label": "two"}]}`,
			map[string]any{
				"url": "/a", "at": utc("2024-03-01T12:00:00Z"), "score": -150.0, "bot": true,
				"user":  map[string]any{"id": "u1", "name": "Ann", "address": map[string]any{"zip": "1011", "country": "BE"}},
				"tags":  []any{"a", "b"},
				"attrs": map[string]any{"k": "v", "a b": ""},
				"seen":  []any{utc("2024-03-01T12:00:00Z")},
				"meta":  map[string]any{"n": 1.0, "deep": []any{nil, map[string]any{"x": true}}},
				"extra": []any{1.0, "two", nil, []any{3.0}},
				"grid":  []any{[]any{1.0, 2.0}, []any{}, []any{3.5}},
				"points": []any{
					map[string]any{"x": 1.0, "label": "-"},
					map[string]any{"x": 2.0, "label": "two"},
				},
			}},
		{"nested defaults", `{` + base + `, "user": {"id": "u1"}}`, baseDefaults(map[string]any{
			"user": map[string]any{"id": "u1", "name": "anon", "address": map[string]any{"country": "NL"}},
		})},
		{"nested defaults inside a given object", `{` + base + `, "user": {"id": "u1", "address": {"zip": "1"}}}`,
			baseDefaults(map[string]any{
				"user": map[string]any{"id": "u1", "name": "anon", "address": map[string]any{"zip": "1", "country": "NL"}},
			})},
		{"null means absent for optional fields", `{` + base + `, "score": null, "tags": null, "meta": null,
			"user": {"id": "u1", "name": null, "address": null}}`, baseDefaults(map[string]any{
			"user": map[string]any{"id": "u1", "name": "anon", "address": map[string]any{"country": "NL"}},
		})},
		{"empty containers", `{` + base + `, "tags": [], "attrs": {}, "meta": {}}`, baseDefaults(map[string]any{
			"tags": []any{}, "attrs": map[string]any{}, "meta": map[string]any{},
		})},
		{"white space and duplicate keys", "\n\t{" + base + `, "url": "/last"}  `,
			baseDefaults(map[string]any{"url": "/last"})},
		{"invalid UTF-8 in a string is replaced", `{"url": "/` + "\xff" + `", "at": "2024-03-01T12:00:00Z"}`,
			baseDefaults(map[string]any{"url": "/\uFFFD"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Decode([]byte(tt.in))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Decode =\n%#v\nwant\n%#v", got, tt.want)
			}
			// Round trip: what Decode returns, Encode accepts and Decode reads back equal.
			b, err := c.Encode(got)
			if err != nil {
				t.Fatalf("Encode(Decode(x)): %v", err)
			}
			again, err := c.Decode(b)
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Fatalf("Decode(Encode(x)) = %#v, %v; want %#v\nencoded: %s", again, err, got, b)
			}
		})
	}
}

func TestRecordCodecTimestamps(t *testing.T) {
	c := mustRecordCodec(t, RecordSchema{Name: "T", Fields: []Field{{Name: "at", Type: TypeTimestamp, Required: true}}})
	ok := []struct {
		in   string
		want string // RFC 3339 in UTC
	}{
		{`"2024-03-01T12:00:00Z"`, "2024-03-01T12:00:00Z"},
		{`"2024-03-01T12:00:00.5Z"`, "2024-03-01T12:00:00.5Z"},
		{`"2024-03-01T12:00:00.123456789Z"`, "2024-03-01T12:00:00.123456789Z"},
		{`"2024-03-01T12:00:00+01:00"`, "2024-03-01T11:00:00Z"},
		{`"2024-03-01T00:30:00.25-05:30"`, "2024-03-01T06:00:00.25Z"},
		{`"2024-03-01T00:00:00+14:00"`, "2024-02-29T10:00:00Z"},
		{`1709294400000`, "2024-03-01T12:00:00Z"},
		{`1709294400123`, "2024-03-01T12:00:00.123Z"},
		{`1.7092944e12`, "2024-03-01T12:00:00Z"},
		{`0`, "1970-01-01T00:00:00Z"},
		{`-1`, "1969-12-31T23:59:59.999Z"},
		{`"0000-01-01T00:00:00Z"`, "0000-01-01T00:00:00Z"},
		{`"9999-12-31T23:59:59.999999999Z"`, "9999-12-31T23:59:59.999999999Z"},
	}
	for _, tt := range ok {
		got, err := c.DecodeRecord([]byte(`{"at": ` + tt.in + `}`))
		if err != nil {
			t.Errorf("Decode(%s): %v", tt.in, err)
			continue
		}
		at := got["at"].(time.Time)
		if at.Location() != time.UTC || !at.Equal(utc(tt.want)) {
			t.Errorf("Decode(%s) = %v, want %s in UTC", tt.in, at, tt.want)
		}
		b, err := c.Encode(got)
		if err != nil || string(b) != `{"at":"`+tt.want+`"}` {
			t.Errorf("Encode(Decode(%s)) = %s, %v; want the UTC form %s", tt.in, b, err, tt.want)
		}
	}
	const want = `want timestamp (RFC 3339 string or epoch milliseconds), got `
	bad := []struct{ in, reason string }{
		{`"yesterday"`, want + `string "yesterday"`},
		{`"2024-03-01"`, want + `string "2024-03-01"`},
		{`"2024-03-01 12:00:00Z"`, want + `string "2024-03-01 12:00:00Z"`},
		{`"2024-03-01T12:00:00"`, want + `string "2024-03-01T12:00:00"`},
		{`"1709294400000"`, want + `string "1709294400000"`},
		{`1.5`, want + `number 1.5 (not a whole number of milliseconds)`},
		{`true`, want + `bool`},
		{`{}`, want + `object`},
		{`1e300`, `timestamp 1e300 is outside the years 0000 to 9999`},
		{`-1e400`, `timestamp -1e400 is outside the years 0000 to 9999`},
		{`253402300800000`, `timestamp 253402300800000 is outside the years 0000 to 9999`},
		{`-62167219200001`, `timestamp -62167219200001 is outside the years 0000 to 9999`},
		{`"0000-01-01T00:00:00+00:01"`, `timestamp 0000-01-01T00:00:00+00:01 is outside the years 0000 to 9999`},
		{`null`, `required field is null`},
	}
	for _, tt := range bad {
		_, err := c.Decode([]byte(`{"at": ` + tt.in + `}`))
		checkProblems(t, "Decode("+tt.in+")", err, "T", []FieldProblem{{Path: "at", Reason: tt.reason}})
	}
	// Go values on encode: time.Time in any zone, epoch milliseconds as an int.
	for _, v := range []any{
		time.Date(2024, 3, 1, 13, 0, 0, 0, time.FixedZone("CET", 3600)),
		int64(1709294400000),
		"2024-03-01T12:00:00Z",
	} {
		b, err := c.Encode(map[string]any{"at": v})
		if err != nil || string(b) != `{"at":"2024-03-01T12:00:00Z"}` {
			t.Errorf("Encode(%#v) = %s, %v", v, b, err)
		}
	}
	_, err := c.Encode(map[string]any{"at": time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)})
	checkProblems(t, "Encode(year 10000)", err, "T", []FieldProblem{
		{Path: "at", Reason: "timestamp 10000-01-01 00:00:00 +0000 UTC is outside the years 0000 to 9999"},
	})
}

// checkProblems asserts that err is a *RecordError of model with exactly the problems want.
func checkProblems(t *testing.T, what string, err error, model string, want []FieldProblem) {
	t.Helper()
	var re *RecordError
	if !errors.As(err, &re) {
		t.Errorf("%s: error = %v (%T), want a *RecordError", what, err, err)
		return
	}
	if re.Model != model || !reflect.DeepEqual(re.Problems, want) {
		t.Errorf("%s: problems of %s =\n%#v\nwant %s\n%#v", what, re.Model, re.Problems, model, want)
	}
}

func TestRecordCodecDecodeErrors(t *testing.T) {
	c := mustRecordCodec(t, pageViewSchema())
	const base = `"url": "/", "at": 0`
	tests := []struct {
		name string
		in   string
		want []FieldProblem
	}{
		{"empty input", ``, []FieldProblem{{Reason: "invalid JSON at byte 0: unexpected end of JSON input"}}},
		{"truncated", `{"url": "/", "at`, []FieldProblem{{Reason: "invalid JSON at byte 16: unexpected end of JSON input"}}},
		{"trailing garbage", `{` + base + `} {}`, []FieldProblem{{Reason: "invalid JSON at byte 23: invalid character '{' after top-level value"}}},
		{"invalid byte", "{\"url\": \xff}", []FieldProblem{{Reason: "invalid JSON at byte 9: invalid character 'ÿ' looking for beginning of value"}}},
		{"not an object", `[1, 2]`, []FieldProblem{{Reason: "want a JSON object, got array"}}},
		{"null", `null`, []FieldProblem{{Reason: "want a JSON object, got null"}}},
		{"string", `"x"`, []FieldProblem{{Reason: `want a JSON object, got string "x"`}}},
		{"missing required", `{}`, []FieldProblem{
			{Path: "url", Reason: "required field is missing"},
			{Path: "at", Reason: "required field is missing"},
		}},
		{"null required", `{"url": null, "at": 0}`, []FieldProblem{{Path: "url", Reason: "required field is null"}}},
		{"wrong top-level types", `{"url": 1, "at": 0, "score": "1", "bot": "true", "tags": "a", "attrs": [], "user": "u", "meta": [], "extra": {}}`,
			[]FieldProblem{
				{Path: "url", Reason: "want string, got number 1"},
				{Path: "user", Reason: `want object, got string "u"`},
				{Path: "tags", Reason: `want list, got string "a"`},
				{Path: "attrs", Reason: "want map, got array"},
				{Path: "score", Reason: `want number, got string "1"`},
				{Path: "bot", Reason: `want bool, got string "true"`},
				{Path: "meta", Reason: "want object, got array"},
				{Path: "extra", Reason: "want list, got object"},
			}},
		{"wrong nested types", `{` + base + `, "tags": ["a", "b", true, null], "attrs": {"k": 1, "ok": "v", "a b": {}},
			"user": {"id": "u", "address": {"zip": 12}}, "grid": [[1], [2, "3"]], "points": [{"x": 1}, {"label": 2}]}`,
			[]FieldProblem{
				{Path: "user.address.zip", Reason: "want string, got number 12"},
				{Path: "tags[2]", Reason: "want string, got bool"},
				{Path: "tags[3]", Reason: "want string, got null"},
				{Path: `attrs["a b"]`, Reason: "want string, got object"},
				{Path: "attrs.k", Reason: "want string, got number 1"},
				{Path: "grid[1][1]", Reason: `want number, got string "3"`},
				{Path: "points[1].x", Reason: "required field is missing"},
				{Path: "points[1].label", Reason: "want string, got number 2"},
			}},
		{"missing nested required", `{` + base + `, "user": {"name": "x"}}`, []FieldProblem{{Path: "user.id", Reason: "required field is missing"}}},
		{"unknown fields", `{` + base + `, "usr": 1, "user": {"id": "u", "nick": "n", "address": {"zip": "1", "street": "s"}}, "": 0}`,
			[]FieldProblem{
				{Path: "user.address.street", Reason: "unknown field"},
				{Path: "user.nick", Reason: "unknown field"},
				{Path: `[""]`, Reason: "unknown field"},
				{Path: "usr", Reason: "unknown field"},
			}},
		{"number out of range", `{` + base + `, "score": 1e400, "meta": {"big": -1e999}}`, []FieldProblem{
			{Path: "score", Reason: "number 1e400 is out of range"},
			{Path: "meta.big", Reason: "number -1e999 is out of range"},
		}},
		{"a long valid string is no problem", `{"url": "` + strings.Repeat("x", 100) + `", "at": true}`, []FieldProblem{
			{Path: "at", Reason: `want timestamp (RFC 3339 string or epoch milliseconds), got bool`},
		}},
		{"long string in a problem", `{"url": "/", "at": "` + strings.Repeat("é", 30) + `"}`, []FieldProblem{
			{Path: "at", Reason: `want timestamp (RFC 3339 string or epoch milliseconds), got string "` + strings.Repeat("é", 20) + `..."`},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Decode([]byte(tt.in))
			if got != nil {
				t.Errorf("Decode returned %#v with an error", got)
			}
			checkProblems(t, "Decode", err, "PageView", tt.want)
		})
	}
}

func TestRecordErrorMessages(t *testing.T) {
	c := mustRecordCodec(t, RecordSchema{Name: "PageView", Fields: []Field{
		{Name: "at", Type: TypeTimestamp, Required: true},
		{Name: "tags", Type: TypeList, Elem: &Field{Type: TypeString}},
		{Name: "user", Type: TypeObject, Fields: []Field{
			{Name: "address", Type: TypeObject, Fields: []Field{{Name: "zip", Type: TypeString}}},
		}},
	}})
	for _, tt := range []struct{ in, want string }{
		{`{"at": 0, "user": {"address": {"zip": 12}}}`, `model PageView: field "user.address.zip": want string, got number 12`},
		{`{"at": 0, "tags": ["a", "b", false]}`, `model PageView: field "tags[2]": want string, got bool`},
		{`{}`, `model PageView: field "at": required field is missing`},
		{`{"at": "yesterday"}`, `model PageView: field "at": want timestamp (RFC 3339 string or epoch milliseconds), got string "yesterday"`},
		{`{"at": 0, "tags": [1}`, `model PageView: invalid JSON at byte 21: invalid character '}' after array element`},
		{`[]`, `model PageView: want a JSON object, got array`},
		{`{"at": 0, "usr": {}}`, `model PageView: unknown field "usr"`},
		{`{"usr": 1, "tags": [1]}`, `model PageView: field "at": required field is missing; field "tags[0]": want string, got number 1; unknown field "usr"`},
	} {
		_, err := c.Decode([]byte(tt.in))
		if err == nil || err.Error() != tt.want {
			t.Errorf("Decode(%s) error =\n%v\nwant\n%s", tt.in, err, tt.want)
		}
	}
}

func TestRecordCodecProblemLimit(t *testing.T) {
	c := mustRecordCodec(t, RecordSchema{Name: "L", Fields: []Field{{Name: "n", Type: TypeList, Elem: &Field{Type: TypeNumber}}}})
	in := `{"n": [` + strings.Repeat(`"x",`, 99) + `"x"]}`
	_, err := c.Decode([]byte(in))
	var re *RecordError
	if !errors.As(err, &re) || len(re.Problems) != recMaxProblems+1 {
		t.Fatalf("error = %v", err)
	}
	if last := re.Problems[recMaxProblems]; last != (FieldProblem{Reason: "and 50 more problems"}) {
		t.Errorf("last problem = %#v", last)
	}
	if !strings.HasSuffix(err.Error(), `field "n[49]": want number, got string "x"; and 50 more problems`) {
		t.Errorf("Error() = %s", err)
	}
}

func TestRecordCodecAllowExtra(t *testing.T) {
	s := RecordSchema{Name: "E", Fields: []Field{
		{Name: "id", Type: TypeString, Required: true},
		{Name: "o", Type: TypeObject, Fields: []Field{{Name: "a", Type: TypeNumber}}},
	}}
	in := []byte(`{"id": "1", "x": 2, "y": [null, {"z": 3}], "o": {"a": 1, "b": "k"}, "n": null}`)

	strict := mustRecordCodec(t, s)
	_, err := strict.Decode(in)
	checkProblems(t, "strict Decode", err, "E", []FieldProblem{
		{Path: "o.b", Reason: "unknown field"},
		{Path: "n", Reason: "unknown field"},
		{Path: "x", Reason: "unknown field"},
		{Path: "y", Reason: "unknown field"},
	})

	s.AllowExtra = true
	lax := mustRecordCodec(t, s)
	got, err := lax.Decode(in)
	want := map[string]any{
		"id": "1", "x": 2.0, "y": []any{nil, map[string]any{"z": 3.0}}, "o": map[string]any{"a": 1.0, "b": "k"}, "n": nil,
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("lax Decode = %#v, %v; want %#v", got, err, want)
	}
	b, err := lax.Encode(got)
	if err != nil || string(b) != `{"id":"1","n":null,"o":{"a":1,"b":"k"},"x":2,"y":[null,{"z":3}]}` {
		t.Errorf("lax Encode = %s, %v", b, err)
	}
	// Extra fields are still checked for well-formed numbers.
	_, err = lax.Decode([]byte(`{"id": "1", "x": [1e400]}`))
	checkProblems(t, "lax Decode", err, "E", []FieldProblem{{Path: "x[0]", Reason: "number 1e400 is out of range"}})
}

func TestRecordCodecEncode(t *testing.T) {
	c := mustRecordCodec(t, pageViewSchema())
	cet := time.FixedZone("CET", 3600)
	type address struct {
		Zip string `json:"zip"`
	}
	type user struct {
		ID      string   `json:"id"`
		Address *address `json:"address,omitempty"`
	}
	type pageView struct {
		URL   string            `json:"url"`
		At    time.Time         `json:"at"`
		User  *user             `json:"user,omitempty"`
		Tags  []string          `json:"tags,omitempty"`
		Attrs map[string]string `json:"attrs,omitempty"`
		Score int               `json:"score"`
	}
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"map with Go values", map[string]any{
			"url": "/x", "at": time.Date(2024, 3, 1, 13, 0, 0, 500, cet), "score": 3, "tags": []string{"a"},
			"attrs": map[string]string{"k": "<v>"}, "user": map[string]any{"id": "u", "address": nil},
			"seen": []time.Time{time.Date(2024, 3, 1, 0, 0, 0, 0, cet)}, "grid": [][]float32{{1.5}},
			"points": []map[string]int{{"x": 7}}, "meta": map[string]any{"t": time.Date(2024, 1, 1, 0, 0, 0, 0, cet)},
			"bot": (*bool)(nil), "extra": []any(nil),
		}, `{"at":"2024-03-01T12:00:00.0000005Z","attrs":{"k":"\u003cv\u003e"},"bot":false,` +
			`"grid":[[1.5]],"meta":{"t":"2024-01-01T00:00:00+01:00"},"points":[{"label":"-","x":7}],"score":3,` +
			`"seen":["2024-02-29T23:00:00Z"],"tags":["a"],"url":"/x","user":{"address":{"country":"NL"},"id":"u","name":"anon"}}`},
		{"struct", pageView{URL: "/s", At: time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC), User: &user{ID: "u", Address: &address{Zip: "1"}}},
			`{"at":"2024-03-01T12:00:00Z","bot":false,"score":0,"url":"/s",` +
				`"user":{"address":{"country":"NL","zip":"1"},"id":"u","name":"anon"}}`},
		{"raw JSON", json.RawMessage(`{"url": "/r", "at": 0}`),
			`{"at":"1970-01-01T00:00:00Z","bot":false,"score":0,"url":"/r"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := c.Encode(tt.in)
			if err != nil || string(b) != tt.want {
				t.Fatalf("Encode =\n%s, %v\nwant\n%s", b, err, tt.want)
			}
		})
	}

	// Encode neither modifies its input nor shares containers with the defaults.
	in := map[string]any{"url": "/", "at": 0, "user": map[string]any{"id": "u"}}
	if _, err := c.Encode(in); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, map[string]any{"url": "/", "at": 0, "user": map[string]any{"id": "u"}}) {
		t.Errorf("Encode modified its input: %#v", in)
	}
}

func TestRecordCodecEncodeErrors(t *testing.T) {
	c := mustRecordCodec(t, pageViewSchema())
	tests := []struct {
		name string
		in   any
		want []FieldProblem
	}{
		{"nil", nil, []FieldProblem{{Reason: "want a JSON object, got null"}}},
		{"slice", []int{1}, []FieldProblem{{Reason: "want a JSON object, got array"}}},
		{"channel", make(chan int), []FieldProblem{{Reason: "cannot encode Go value of type chan int: json: unsupported type: chan int"}}},
		{"wrong types", map[string]any{
			"url": 1, "at": "now", "score": math.NaN(), "bot": math.Inf(1), "tags": []any{"a", 2, func() {}},
			"user": map[string]any{"address": map[string]any{"zip": []int{1}}},
		}, []FieldProblem{
			{Path: "url", Reason: "want string, got number 1"},
			{Path: "at", Reason: `want timestamp (RFC 3339 string or epoch milliseconds), got string "now"`},
			{Path: "user.id", Reason: "required field is missing"},
			{Path: "user.address.zip", Reason: "want string, got array"},
			{Path: "tags[1]", Reason: "want string, got number 2"},
			{Path: "tags[2]", Reason: "cannot encode Go value of type func(): json: unsupported type: func()"},
			{Path: "score", Reason: "want a finite number, got NaN"},
			{Path: "bot", Reason: "want a finite number, got +Inf"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := c.Encode(tt.in)
			if b != nil {
				t.Errorf("Encode returned %s with an error", b)
			}
			checkProblems(t, "Encode", err, "PageView", tt.want)
		})
	}
}

func TestRecordCodecDefaultsAreCopies(t *testing.T) {
	c := mustRecordCodec(t, RecordSchema{Name: "D", Fields: []Field{
		{Name: "l", Type: TypeList, Default: []any{"a"}},
		{Name: "o", Type: TypeObject, Default: map[string]any{"k": []any{1}}},
		{Name: "at", Type: TypeTimestamp, Default: "2024-03-01T13:00:00+01:00"},
		{Name: "n", Type: TypeNumber, Default: uint8(7)},
	}})
	first, err := c.DecodeRecord([]byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"l": []any{"a"}, "o": map[string]any{"k": []any{1.0}}, "at": utc("2024-03-01T12:00:00Z"), "n": 7.0}
	if !reflect.DeepEqual(first, want) {
		t.Fatalf("Decode = %#v, want %#v", first, want)
	}
	first["l"].([]any)[0] = "changed"
	first["o"].(map[string]any)["k"].([]any)[0] = "changed"
	second, _ := c.DecodeRecord([]byte(`{}`))
	if !reflect.DeepEqual(second, want) {
		t.Errorf("after changing a decoded record, Decode = %#v, want %#v", second, want)
	}
}

func TestNewRecordCodecSchemaErrors(t *testing.T) {
	s := RecordSchema{Name: "Bad", Fields: []Field{
		{Name: "ok", Type: TypeString},
		{Name: "", Type: TypeString},
		{Name: "ok", Type: TypeNumber},
		{Name: "t", Type: "strng"},
		{Name: "u", Type: ""},
		{Name: "s", Type: TypeString, Elem: &Field{Type: TypeString}},
		{Name: "n", Type: TypeNumber, Fields: []Field{{Name: "a", Type: TypeString}}},
		{Name: "r", Type: TypeString, Required: true, Default: "x"},
		{Name: "d", Type: TypeNumber, Default: "1"},
		{Name: "b", Type: TypeBool, Default: 1},
		{Name: "l", Type: TypeList, Elem: &Field{Type: TypeMap, Elem: &Field{Type: "int"}}},
		{Name: "e", Type: TypeList, Elem: &Field{Type: TypeString, Required: true}},
		{Name: "f", Type: TypeMap, Elem: &Field{Type: TypeString, Default: "x"}},
		{Name: "o", Type: TypeObject, Default: map[string]any{"a": 1}, Fields: []Field{
			{Name: "a", Type: TypeString},
			{Name: "req", Type: TypeNumber, Required: true},
			{Name: "a", Type: TypeString},
			{Type: TypeBool},
		}},
		{Name: "p", Type: TypeObject, Default: map[string]any{"zz": 1}, Fields: []Field{{Name: "a", Type: TypeString}}},
		{Name: "ts", Type: TypeTimestamp, Default: math.Inf(-1)},
		{Name: "ch", Type: TypeList, Default: make(chan int)},
		{Name: "sl", Type: TypeList, Default: []string{"home"}, Elem: &Field{Type: TypeTimestamp}},
	}}
	_, err := NewRecordCodec(s)
	want := []string{
		`model Bad: field "#1": the field name is empty`,
		`model Bad: field "ok": duplicate field name`,
		`model Bad: field "t": unknown type "strng" (want one of string, number, bool, timestamp, list, map, object)`,
		`model Bad: field "u": unknown type "" (want one of string, number, bool, timestamp, list, map, object)`,
		`model Bad: field "s": only list and map fields may have an element type, not string`,
		`model Bad: field "n": only object fields may have fields, not number`,
		`model Bad: field "r": a required field may not have a default`,
		`model Bad: field "d": invalid default: want number, got string "1"`,
		`model Bad: field "b": invalid default: want bool, got number 1`,
		`model Bad: field "l[][]": unknown type "int" (want one of string, number, bool, timestamp, list, map, object)`,
		`model Bad: field "e[]": an element type may have neither required nor default`,
		`model Bad: field "f[]": an element type may have neither required nor default`,
		`model Bad: field "o.a": duplicate field name`,
		`model Bad: field "o.#3": the field name is empty`,
		`model Bad: field "p": invalid default: unknown field "p.zz"`,
		`model Bad: field "ts": invalid default: want a finite number, got -Inf`,
		`model Bad: field "ch": invalid default: cannot encode Go value of type chan int: json: unsupported type: chan int`,
		`model Bad: field "sl": invalid default: field "sl[0]": want timestamp (RFC 3339 string or epoch milliseconds), got string "home"`,
	}
	if err == nil {
		t.Fatal("NewRecordCodec accepted a bad schema")
	}
	if got := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(got, want) {
		t.Errorf("errors =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	if _, err := NewRecordCodec(RecordSchema{Fields: []Field{{Name: "x", Type: "?"}}}); err == nil ||
		err.Error() != "record schema: the model name is empty\n"+
			`model (unnamed): field "x": unknown type "?" (want one of string, number, bool, timestamp, list, map, object)` {
		t.Errorf("unnamed schema error = %v", err)
	}
	if _, err := NewRecordCodec(RecordSchema{Name: "Empty"}); err != nil {
		t.Errorf("a schema without fields is valid: %v", err)
	}
}

func TestRecordCodecDeepNesting(t *testing.T) {
	c := mustRecordCodec(t, RecordSchema{Name: "N", AllowExtra: true, Fields: []Field{{Name: "l", Type: TypeList}}})
	const depth = 5000
	deep := strings.Repeat("[", depth) + strings.Repeat("]", depth)
	if _, err := c.Decode([]byte(`{"l": ` + deep + `}`)); err != nil {
		t.Errorf("Decode of a deep list: %v", err)
	}
	bad := strings.Repeat("[", 3) + "1e999" + strings.Repeat("]", 3)
	_, err := c.Decode([]byte(`{"l": [0, ` + bad + `]}`))
	checkProblems(t, "Decode", err, "N", []FieldProblem{{Path: "l[1][0][0][0]", Reason: "number 1e999 is out of range"}})

	// A cyclic Go value is an error, not a stack overflow.
	cyclic := map[string]any{"a": 1}
	cyclic["self"] = cyclic
	_, err = c.Encode(cyclic)
	var re *RecordError
	if !errors.As(err, &re) || len(re.Problems) != 1 ||
		re.Problems[0].Reason != "nested more than 10000 levels deep" ||
		re.Problems[0].Path != "self"+strings.Repeat(".self", recMaxDepth-1) {
		t.Errorf("Encode(cyclic) error = %.200v", err)
	}
}

func TestRecordCodecConcurrentUse(t *testing.T) {
	c := mustRecordCodec(t, pageViewSchema())
	in := []byte(`{"url": "/", "at": 0, "user": {"id": "u"}, "tags": ["a"], "attrs": {"x": 1}}`)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				_, err := c.Decode(in)
				var re *RecordError
				if !errors.As(err, &re) || len(re.Problems) != 1 || re.Problems[0].Path != "attrs.x" {
					t.Errorf("Decode error = %v", err)
					return
				}
				if _, err := c.Encode(map[string]any{"url": "/", "at": 0}); err != nil {
					t.Errorf("Encode: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestRecordErrorAs(t *testing.T) {
	c := mustRecordCodec(t, RecordSchema{Name: "A", Fields: []Field{{Name: "x", Type: TypeNumber, Required: true}}})
	_, err := c.Decode([]byte(`{"x": "1"}`))
	wrapped := fmt.Errorf("topic clicks, offset 7: %w", err)
	var re *RecordError
	if !errors.As(wrapped, &re) || re.Model != "A" || re.Problems[0].Path != "x" {
		t.Fatalf("errors.As(%v) = %#v", wrapped, re)
	}
	if got := re.Problems[0].String(); got != `field "x": want number, got string "1"` {
		t.Errorf("FieldProblem.String() = %s", got)
	}
}
