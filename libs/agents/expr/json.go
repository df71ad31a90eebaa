package expr

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"
)

// fnJSONEncode encodes JSON-like values as cty's jsonencode does: object keys sorted,
// numbers in plain decimal notation, strings escaped by encoding/json.
func fnJSONEncode(args []any) (any, bool, error) {
	if len(args) != 1 {
		return nil, false, nil
	}
	var b bytes.Buffer
	if !appendJSON(&b, args[0]) {
		return nil, false, nil
	}
	return b.String(), true, nil
}

func appendJSON(b *bytes.Buffer, v any) bool {
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case float64:
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return false
		}
		b.WriteString(formatNumber(v))
	case string:
		s, err := json.Marshal(v)
		if err != nil {
			return false
		}
		b.Write(s)
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			ks, err := json.Marshal(k)
			if err != nil {
				return false
			}
			b.Write(ks)
			b.WriteByte(':')
			if !appendJSON(b, v[k]) {
				return false
			}
		}
		b.WriteByte('}')
	case []any, List:
		elems, _ := seq(v)
		b.WriteByte('[')
		for i, e := range elems {
			if i > 0 {
				b.WriteByte(',')
			}
			if !appendJSON(b, e) {
				return false
			}
		}
		b.WriteByte(']')
	default:
		return false
	}
	return true
}

// fnJSONDecode decodes a JSON document into objects, tuples and numbers as cty's
// jsondecode does. Invalid input goes to cty, for its error message.
func fnJSONDecode(args []any) (any, bool, error) {
	if len(args) != 1 {
		return nil, false, nil
	}
	s, ok := args[0].(string)
	if !ok {
		return nil, false, nil
	}
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, false, nil
	}
	return v, true, nil
}
