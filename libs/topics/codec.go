package topics

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// Codec turns values into record bytes and back. Implementations are safe for concurrent use.
type Codec interface {
	// Name is "bytes", "string", "json", or "model:<Name>" for a typed-record codec.
	Name() string
	Encode(v any) ([]byte, error)
	Decode(b []byte) (any, error)
}

// The built-in codecs.
var (
	// Bytes passes bytes through. Encode accepts []byte (returned as is, not copied), string
	// and nil (encoded as nil). Decode returns the input slice itself as a []byte, without
	// copying it.
	Bytes Codec = bytesCodec{}

	// String encodes text. Encode accepts string, []byte and nil (encoded as nil). Decode
	// returns a string and rejects input that is not valid UTF-8.
	String Codec = stringCodec{}

	// JSON encodes any value with json.Marshal (so a []byte becomes a base64 string; pass a
	// json.RawMessage to embed JSON that is already encoded). Decode accepts exactly one JSON
	// value, optionally surrounded by white space, and returns it as json.Unmarshal does for
	// an `any`: map[string]any, []any, string, float64, bool or nil.
	JSON Codec = jsonCodec{}
)

// CodecByName returns the codec called name: "bytes", "string", "json", or "model:X" for a
// typed-record codec built from models[X], whose Name must be X. Each call for a model
// builds a new RecordCodec, so callers should keep the codec rather than look it up per
// record.
func CodecByName(name string, models map[string]*RecordSchema) (Codec, error) {
	switch name {
	case "bytes":
		return Bytes, nil
	case "string":
		return String, nil
	case "json":
		return JSON, nil
	}
	if model, ok := strings.CutPrefix(name, "model:"); ok {
		s := models[model]
		if s == nil {
			return nil, fmt.Errorf("unknown codec %q: no model named %q (models: %s)",
				name, model, codecModelNames(models))
		}
		if s.Name != model {
			return nil, fmt.Errorf("codec %q: the schema registered as %q is named %q", name, model, s.Name)
		}
		return NewRecordCodec(*s)
	}
	return nil, fmt.Errorf("unknown codec %q: valid names are bytes, string, json and model:<name> (models: %s)",
		name, codecModelNames(models))
}

func codecModelNames(models map[string]*RecordSchema) string {
	if len(models) == 0 {
		return "none"
	}
	names := make([]string, 0, len(models))
	for n := range models {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

type bytesCodec struct{}

func (bytesCodec) Name() string { return "bytes" }

func (bytesCodec) Encode(v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case []byte:
		return v, nil
	case string:
		return []byte(v), nil
	}
	return nil, fmt.Errorf("bytes codec: cannot encode %T: want []byte, string or nil", v)
}

func (bytesCodec) Decode(b []byte) (any, error) { return b, nil }

type stringCodec struct{}

func (stringCodec) Name() string { return "string" }

func (stringCodec) Encode(v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case string:
		return []byte(v), nil
	case []byte:
		return v, nil
	}
	return nil, fmt.Errorf("string codec: cannot encode %T: want string, []byte or nil", v)
}

func (stringCodec) Decode(b []byte) (any, error) {
	if !utf8.Valid(b) {
		for i := 0; i < len(b); {
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n == 1 {
				return nil, fmt.Errorf("string codec: invalid UTF-8 at byte %d", i)
			}
			i += n
		}
	}
	return string(b), nil
}

type jsonCodec struct{}

func (jsonCodec) Name() string { return "json" }

func (jsonCodec) Encode(v any) ([]byte, error) {
	b, err := AppendJSON(make([]byte, 0, 96), v)
	if err != nil {
		return nil, fmt.Errorf("json codec: cannot encode %T: %w", v, err)
	}
	return b, nil
}

func (jsonCodec) Decode(b []byte) (any, error) {
	v, err := UnmarshalJSON(b)
	if err != nil {
		return nil, fmt.Errorf("json codec: %s", codecJSONError(b, err))
	}
	return v, nil
}

// codecParseJSON decodes exactly one JSON value from b, keeping numbers as json.Number. On
// failure it returns a message of the form "invalid JSON at byte N: why".
func codecParseJSON(b []byte) (any, string) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	if err == nil {
		rest := bytes.TrimLeft(b[dec.InputOffset():], " \t\r\n")
		if len(rest) == 0 {
			return v, ""
		}
		err = errors.New("unexpected data after the JSON value")
	}
	// The error path is rare: let json.Unmarshal, which checks the whole input, produce the
	// canonical message and offset.
	if verr := json.Unmarshal(b, new(json.RawMessage)); verr != nil {
		err = verr
	}
	return nil, codecJSONError(b, err)
}

// codecJSONError formats an error of json.Unmarshal or json.Decoder on input b.
func codecJSONError(b []byte, err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at byte %d: %s", syn.Offset, syn.Error())
	case errors.As(err, &typ):
		// The only type error decoding into an `any` can hit: a number too big for float64.
		return fmt.Sprintf("invalid JSON at byte %d: %s is out of range", typ.Offset, typ.Value)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Sprintf("invalid JSON at byte %d: unexpected end of JSON input", len(b))
	}
	return "invalid JSON: " + err.Error()
}
