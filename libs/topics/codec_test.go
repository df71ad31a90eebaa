package topics

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestBytesCodec(t *testing.T) {
	if got := Bytes.Name(); got != "bytes" {
		t.Errorf("Name() = %q", got)
	}
	in := []byte("raw\x00\xff")
	tests := []struct {
		v    any
		want []byte
	}{
		{in, in},
		{"text", []byte("text")},
		{"", []byte{}},
		{nil, nil},
	}
	for _, tt := range tests {
		got, err := Bytes.Encode(tt.v)
		if err != nil || !bytes.Equal(got, tt.want) || (got == nil) != (tt.want == nil) {
			t.Errorf("Encode(%#v) = %q, %v; want %q", tt.v, got, err, tt.want)
		}
	}
	if got, _ := Bytes.Encode(in); &got[0] != &in[0] {
		t.Error("Encode([]byte) copied its input")
	}
	if _, err := Bytes.Encode(42); err == nil || !strings.Contains(err.Error(), "int") {
		t.Errorf("Encode(42) error = %v, want one naming int", err)
	}
	got, err := Bytes.Decode(in)
	if b, ok := got.([]byte); err != nil || !ok || &b[0] != &in[0] {
		t.Errorf("Decode = %#v, %v; want the input slice", got, err)
	}
}

func TestStringCodec(t *testing.T) {
	if got := String.Name(); got != "string" {
		t.Errorf("Name() = %q", got)
	}
	for _, tt := range []struct {
		v    any
		want string
	}{{"héllo", "héllo"}, {[]byte("bytes"), "bytes"}, {nil, ""}} {
		b, err := String.Encode(tt.v)
		if err != nil || string(b) != tt.want {
			t.Errorf("Encode(%#v) = %q, %v; want %q", tt.v, b, err, tt.want)
		}
	}
	if _, err := String.Encode(3.5); err == nil || !strings.Contains(err.Error(), "float64") {
		t.Errorf("Encode(3.5) error = %v, want one naming float64", err)
	}
	for _, tt := range []struct {
		in      string
		want    string
		wantErr string
	}{
		{in: "héllo, 世界", want: "héllo, 世界"},
		{in: "", want: ""},
		{in: "ab\xffcd", wantErr: "string codec: invalid UTF-8 at byte 2"},
		{in: "é\xe4\xb8", wantErr: "string codec: invalid UTF-8 at byte 2"}, // truncated rune
		{in: "\xc0\xaf", wantErr: "string codec: invalid UTF-8 at byte 0"},  // overlong
	} {
		got, err := String.Decode([]byte(tt.in))
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("Decode(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Decode(%q) = %#v, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestJSONCodec(t *testing.T) {
	if got := JSON.Name(); got != "json" {
		t.Errorf("Name() = %q", got)
	}
	v := map[string]any{"b": []any{1.0, "x", true, nil}, "a": map[string]any{"n": 2.5}}
	b, err := JSON.Encode(v)
	if err != nil || string(b) != `{"a":{"n":2.5},"b":[1,"x",true,null]}` {
		t.Fatalf("Encode = %s, %v", b, err)
	}
	got, err := JSON.Decode(b)
	if err != nil || !reflect.DeepEqual(got, v) {
		t.Errorf("Decode(Encode(v)) = %#v, %v; want %#v", got, err, v)
	}
	if b, err := JSON.Encode(json.RawMessage(` { "x" : 1 } `)); err != nil || string(b) != `{"x":1}` {
		t.Errorf("Encode(RawMessage) = %s, %v", b, err)
	}
	if _, err := JSON.Encode(make(chan int)); err == nil || !strings.Contains(err.Error(), "chan int") {
		t.Errorf("Encode(chan) error = %v, want one naming chan int", err)
	}

	for _, tt := range []struct {
		in   string
		want any
	}{
		{` {"a": 1} `, map[string]any{"a": 1.0}},
		{`"s"`, "s"},
		{`null`, nil},
		{"[1e3, -0.5]\n", []any{1000.0, -0.5}},
	} {
		got, err := JSON.Decode([]byte(tt.in))
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Decode(%q) = %#v, %v; want %#v", tt.in, got, err, tt.want)
		}
	}
	for _, tt := range []struct{ in, want string }{
		{``, "json codec: invalid JSON at byte 0: unexpected end of JSON input"},
		{`{"a": [1, 2`, "json codec: invalid JSON at byte 11: unexpected end of JSON input"},
		{`{"a": 1} x`, "json codec: invalid JSON at byte 10: invalid character 'x' after top-level value"},
		{`{"a": 1}{}`, "json codec: invalid JSON at byte 9: invalid character '{' after top-level value"},
		{"{\"a\": \xff}", "json codec: invalid JSON at byte 7: invalid character 'ÿ' looking for beginning of value"},
		{`{a: 1}`, "json codec: invalid JSON at byte 2: invalid character 'a' looking for beginning of object key string"},
		{`[1e400]`, "json codec: invalid JSON at byte 7: number 1e400 is out of range"},
	} {
		if _, err := JSON.Decode([]byte(tt.in)); err == nil || err.Error() != tt.want {
			t.Errorf("Decode(%q) error = %v\nwant %s", tt.in, err, tt.want)
		}
	}
}

func TestCodecParseJSON(t *testing.T) {
	// The record codec's parser must report the same messages as the JSON codec.
	for _, in := range []string{``, `  `, `{`, `{"a":1} x`, `1 2`, `{"a":tru}`, "\"\xff"} {
		_, want := JSON.Decode([]byte(in))
		_, msg := codecParseJSON([]byte(in))
		if want == nil || "json codec: "+msg != want.Error() {
			t.Errorf("codecParseJSON(%q) = %q, want %v", in, msg, want)
		}
	}
	v, msg := codecParseJSON([]byte(" {\"n\": 12345678901234567890}\n\t"))
	if msg != "" || !reflect.DeepEqual(v, map[string]any{"n": json.Number("12345678901234567890")}) {
		t.Errorf("codecParseJSON = %#v, %q", v, msg)
	}
}

func TestCodecByName(t *testing.T) {
	pv := &RecordSchema{Name: "PageView", Fields: []Field{{Name: "url", Type: TypeString}}}
	models := map[string]*RecordSchema{
		"PageView": pv,
		"Broken":   {Name: "Broken", Fields: []Field{{Name: "x", Type: "strng"}}},
		"Alias":    pv,
	}
	for _, name := range []string{"bytes", "string", "json", "model:PageView"} {
		c, err := CodecByName(name, models)
		if err != nil || c.Name() != name {
			t.Errorf("CodecByName(%q) = %v, %v", name, c, err)
		}
	}
	for _, tt := range []struct{ name, want string }{
		{"avro", `unknown codec "avro": valid names are bytes, string, json and model:<name> (models: Alias, Broken, PageView)`},
		{"JSON", `unknown codec "JSON"`},
		{"model:Nope", `unknown codec "model:Nope": no model named "Nope" (models: Alias, Broken, PageView)`},
		{"model:Alias", `codec "model:Alias": the schema registered as "Alias" is named "PageView"`},
		{"model:Broken", `model Broken: field "x": unknown type "strng"`},
	} {
		_, err := CodecByName(tt.name, models)
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("CodecByName(%q) error = %v\nwant prefix %s", tt.name, err, tt.want)
		}
	}
	if _, err := CodecByName("model:X", nil); err == nil || !strings.Contains(err.Error(), "(models: none)") {
		t.Errorf("CodecByName with no models: error = %v", err)
	}
}
