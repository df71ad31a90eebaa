package topics

import (
	"errors"
	"reflect"
	"testing"
)

// fuzzSchema has a nested object, a list of numbers, a map of strings, timestamps and
// required and defaulted fields.
func fuzzSchema() RecordSchema {
	return RecordSchema{
		Name: "Fuzz",
		Fields: []Field{
			{Name: "id", Type: TypeString, Required: true},
			{Name: "at", Type: TypeTimestamp, Default: "2024-03-01T12:00:00.5+01:00"},
			{Name: "n", Type: TypeList, Elem: &Field{Type: TypeNumber}},
			{Name: "m", Type: TypeMap, Elem: &Field{Type: TypeString}, Default: map[string]any{"k": "v"}},
			{Name: "ok", Type: TypeBool, Default: true},
			{Name: "any", Type: TypeList},
			{Name: "user", Type: TypeObject, Fields: []Field{
				{Name: "name", Type: TypeString, Required: true},
				{Name: "age", Type: TypeNumber, Default: 18},
				{Name: "seen", Type: TypeList, Elem: &Field{Type: TypeTimestamp}},
				{Name: "address", Type: TypeObject, Default: map[string]any{}, Fields: []Field{
					{Name: "zip", Type: TypeString, Default: "0000"},
					{Name: "geo", Type: TypeObject},
				}},
			}},
		},
	}
}

func FuzzRecordCodec(f *testing.F) {
	for _, seed := range []string{
		`{"id": "a"}`,
		`{"id": "a", "at": 1709294400123, "n": [1, -2.5, 1e300], "m": {"x": "y", "": "é"}, "ok": false}`,
		`{"id": "a", "at": "2024-03-01T12:00:00.123456789-07:00", "any": [null, {"a": [1]}, "s", true]}`,
		`{"id": "a", "user": {"name": "b", "seen": [0, "0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z"]}}`,
		`{"id": "a", "user": {"name": "b", "age": null, "address": {"geo": {"lat": 1.5}}}}`,
		`{"id": "a", "at": null, "m": null, "user": null, "n": null}`,
		`{"id": "\ud800\u00e9\n", "m": {"\u0000": "\"\\"}}`,
		`{"id": "a", "at": 1.5}`,
		`{"id": "a", "at": 253402300800000}`,
		`{"id": "a", "n": [1e400]}`,
		`{"id": "a", "n": ["1"]}`,
		`{"id": "a", "user": {}}`,
		`{"id": "a", "extra": 1}`,
		`{"id": 1, "at": "yesterday", "m": {"k": 2}}`,
		`{"id": "a"} trailing`,
		`{"id": "a"`,
		`[{"id": "a"}]`,
		`null`,
		"",
		"{\"id\": \"\xff\"}",
	} {
		f.Add([]byte(seed))
	}
	c := mustRecordCodec(f, fuzzSchema())
	f.Fuzz(func(t *testing.T, in []byte) {
		first, err := c.Decode(in)
		if err != nil {
			if first != nil {
				t.Fatalf("Decode returned %#v with error %v", first, err)
			}
			var re *RecordError
			if !errors.As(err, &re) || len(re.Problems) == 0 {
				t.Fatalf("Decode error %v (%T) is not a *RecordError with problems", err, err)
			}
			return
		}
		b, err := c.Encode(first)
		if err != nil {
			t.Fatalf("Encode(Decode(%q)) failed: %v", in, err)
		}
		second, err := c.Decode(b)
		if err != nil {
			t.Fatalf("Decode(Encode(Decode(%q))) failed: %v\nencoded: %s", in, err, b)
		}
		// Timestamps are UTC time.Time without a monotonic reading, so DeepEqual is exact.
		if !reflect.DeepEqual(first, second) {
			t.Fatalf("round trip changed the record\ninput:  %q\nfirst:  %#v\nsecond: %#v\nencoded: %s", in, first, second, b)
		}
		again, err := c.Encode(second)
		if err != nil || string(again) != string(b) {
			t.Fatalf("encoding is not stable: %s then %s (%v)", b, again, err)
		}
	})
}
