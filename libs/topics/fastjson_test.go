package topics

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fastJSONInputs are JSON texts, valid and not, that the fast paths must treat exactly as
// encoding/json and the checking path do.
var fastJSONInputs = []string{
	`{"id": "a"}`,
	`{"id":"a","ok":true,"x":1}`,
	` {"id" : "a" , "ok" : false } `,
	`{"id": "a", "at": 1709294400123, "n": [1, -2.5, 1e300], "m": {"x": "y", "": "é"}, "ok": false}`,
	`{"id": "a", "at": "2024-03-01T12:00:00.123456789-07:00", "any": [null, {"a": [1]}, "s", true]}`,
	`{"id": "a", "user": {"name": "b", "seen": [0, "0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z"]}}`,
	`{"id": "a", "user": {"name": "b", "age": null, "address": {"geo": {"lat": 1.5}}}}`,
	`{"id": "a", "at": null, "m": null, "user": null, "n": null, "ok": null}`,
	`{"id": "\ud800\u00e9\n", "m": {"\u0000": "\"\\"}}`,
	`{"i\u0064": "a"}`,
	`{"id": "a", "id": "b"}`,
	`{"id": "a", "id": 1}`,
	`{"id": 1, "id": "a"}`,
	`{"id": "a", "ok": true, "ok": null}`,
	`{"id": "a", "at": 1.5}`,
	`{"id": "a", "at": 253402300800000}`,
	`{"id": "a", "n": [1e400]}`,
	`{"id": "a", "num": 1e400}`,
	`{"id": "a", "num": -0}`,
	`{"id": "a", "num": 0.000001234}`,
	`{"id": "a", "num": 12345678901234567890123}`,
	`{"id": "a", "num": 01}`,
	`{"id": "a", "num": 1.}`,
	`{"id": "a", "num": -}`,
	`{"id": "a", "num": 1e}`,
	`{"id": "a", "num": 2E+3}`,
	`{"id": "a", "num": "1"}`,
	`{"id": "a", "n": ["1"]}`,
	`{"id": "a", "user": {}}`,
	`{"id": "a", "extra": 1}`,
	`{"id": "a", "extra": 1, "extra": 2}`,
	`{"id": 1, "at": "yesterday", "m": {"k": 2}}`,
	`{"id": null}`,
	`{}`,
	`{"id": "a"} trailing`,
	`{"id": "a"}}`,
	`{"id": "a",}`,
	`{"id": "a"`,
	`{"id" "a"}`,
	`{id: "a"}`,
	`[{"id": "a"}]`,
	`[1, 2,]`,
	`[]`,
	`null`,
	`nul`,
	`true`,
	`"s"`,
	`"tab	in"`,
	"",
	"   ",
	"{\"id\": \"\xff\"}",
	"{\"id\": \"a\xe2\x80\xa8b\"}",
	`{"id": "a", "ok": tru}`,
	`{"id": "a", "ok": "true"}`,
	strings.Repeat("[", 300) + strings.Repeat("]", 300),
	`{"id": "a", "any": ` + strings.Repeat("[", 300) + strings.Repeat("]", 300) + `}`,
}

// fastSchema has every field type, required and defaulted fields.
func fastSchema(allowExtra bool) RecordSchema {
	s := fuzzSchema()
	s.AllowExtra = allowExtra
	s.Fields = append(s.Fields, Field{Name: "num", Type: TypeNumber}, Field{Name: "d", Type: TypeNumber, Default: 7},
		Field{Name: "s", Type: TypeString, Default: "dflt"})
	return s
}

func TestFastDecodeMatchesCheckingPath(t *testing.T) {
	for _, allowExtra := range []bool{false, true} {
		c := mustRecordCodec(t, fastSchema(allowExtra))
		for _, in := range fastJSONInputs {
			got, gotErr := c.DecodeRecord([]byte(in))
			var want map[string]any
			var wantErr error
			if v, msg := codecParseJSON([]byte(in)); msg != "" {
				wantErr = &RecordError{Model: c.model, Problems: []FieldProblem{{Reason: msg}}}
			} else {
				want, wantErr = c.record(v)
			}
			if !reflect.DeepEqual(got, want) || errString(gotErr) != errString(wantErr) {
				t.Errorf("allowExtra=%v DecodeRecord(%q)\n got %#v, %v\nwant %#v, %v", allowExtra, in, got, gotErr, want, wantErr)
			}
		}
	}
}

func TestUnmarshalJSONMatchesEncodingJSON(t *testing.T) {
	for _, in := range fastJSONInputs {
		got, gotErr := UnmarshalJSON([]byte(in))
		var want any
		wantErr := json.Unmarshal([]byte(in), &want)
		if wantErr != nil {
			want = nil
		}
		if !reflect.DeepEqual(got, want) || errString(gotErr) != errString(wantErr) {
			t.Errorf("UnmarshalJSON(%q)\n got %#v, %v\nwant %#v, %v", in, got, gotErr, want, wantErr)
		}
	}
}

func TestAppendJSONMatchesMarshal(t *testing.T) {
	values := []any{
		nil, true, false, 0.0, math.Copysign(0, -1), 1.0, -2.5, 1e20, 1e21, 1e-6, 1e-7, 123456789.125, 5e-324,
		math.MaxFloat64, math.NaN(), math.Inf(1),
		"", "plain", `quote " back \ slash`, "<a&b>", "tab\t nl\n nul\x00", "é ü ∑", "\u2028\u2029", "bad \xff utf8",
		map[string]any{}, map[string]any(nil), []any(nil), []any{},
		map[string]any{"b": 1.0, "a": "x", "c": []any{nil, true, map[string]any{"z": 1.5, "y": nil}}},
		map[string]any{"k": 1.0},
		map[string]any{"<": 1.0, "é": 2.0, "\x01": 3.0, "A": 4.0, "a": 5.0},
		map[string]any{"n": math.NaN()},
		[]any{1.0, "two", []any{3.0}},
		time.Date(2024, 3, 1, 12, 0, 0, 500, time.UTC),
		map[string]any{"t": time.Date(2024, 3, 1, 12, 0, 0, 0, time.FixedZone("x", 3600))},
		json.Number("12.50"), json.Number("bad"), 42, int64(-7),
		map[string]any{"s": struct{ A int }{1}}, []byte("bytes"),
	}
	many := map[string]any{}
	for i := range 40 {
		many[strings.Repeat("k", i%7)+string(rune('a'+i%26))] = float64(i)
	}
	values = append(values, many)
	for _, v := range values {
		got, gotErr := AppendJSON([]byte("prefix"), v)
		want, wantErr := json.Marshal(v)
		if wantErr == nil {
			want = append([]byte("prefix"), want...)
		} else {
			want = []byte("prefix")
		}
		if string(got) != string(want) || errString(gotErr) != errString(wantErr) {
			t.Errorf("AppendJSON(%#v)\n got %s, %v\nwant %s, %v", v, got, gotErr, want, wantErr)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// FuzzFastJSON checks the fast paths against encoding/json and the checking path on
// arbitrary input.
func FuzzFastJSON(f *testing.F) {
	for _, in := range fastJSONInputs {
		f.Add([]byte(in))
	}
	codecs := []*RecordCodec{mustRecordCodec(f, fastSchema(false)), mustRecordCodec(f, fastSchema(true))}
	f.Fuzz(func(t *testing.T, in []byte) {
		got, gotErr := UnmarshalJSON(in)
		var want any
		if wantErr := json.Unmarshal(in, &want); wantErr != nil {
			want = nil
			if errString(gotErr) != errString(wantErr) {
				t.Fatalf("UnmarshalJSON(%q) error %v, want %v", in, gotErr, wantErr)
			}
		} else if gotErr != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("UnmarshalJSON(%q) = %#v, %v; want %#v", in, got, gotErr, want)
		}
		if want != nil {
			enc, err := AppendJSON(nil, want)
			wantEnc, wantErr := json.Marshal(want)
			if string(enc) != string(wantEnc) || errString(err) != errString(wantErr) {
				t.Fatalf("AppendJSON(%#v) = %s, %v; want %s, %v", want, enc, err, wantEnc, wantErr)
			}
		}
		for _, c := range codecs {
			got, gotErr := c.DecodeRecord(in)
			var want map[string]any
			var wantErr error
			if v, msg := codecParseJSON(in); msg != "" {
				wantErr = &RecordError{Model: c.model, Problems: []FieldProblem{{Reason: msg}}}
			} else {
				want, wantErr = c.record(v)
			}
			if !reflect.DeepEqual(got, want) || errString(gotErr) != errString(wantErr) {
				t.Fatalf("DecodeRecord(%q)\n got %#v, %v\nwant %#v, %v", in, got, gotErr, want, wantErr)
			}
		}
	})
}

// TestFastPathsTaken checks that well-formed common input does not fall back.
func TestFastPathsTaken(t *testing.T) {
	c := mustRecordCodec(t, fastSchema(false))
	for _, in := range []string{`{"id":"a","num":12.5,"ok":true}`, `{"id": "a", "n": [1, 2], "user": {"name": "b"}, "at": null}`} {
		if _, ok := c.fastDecodeRecord([]byte(in)); !ok {
			t.Errorf("fastDecodeRecord(%q) fell back", in)
		}
	}
	p := fastParser{b: []byte(`{"a": [1, "x", {"b": null}], "c": -1.5e3}`)}
	if _, ok := p.value(); !ok || !p.end() {
		t.Errorf("the fast parser fell back on plain JSON")
	}
	if _, ok := fastAppendJSON(nil, map[string]any{"a": []any{1.0, "x", nil, true}}, 0); !ok {
		t.Errorf("fastAppendJSON fell back on plain values")
	}
}
