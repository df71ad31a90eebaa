package topics

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// Fast paths for the JSON work on every record (decoding input values, encoding outputs and
// table values). Each handles the common, well-formed case itself and gives up (ok false)
// on anything unusual, whose caller then takes encoding/json's path: the results, and the
// errors, are exactly encoding/json's either way.

// fastMaxDepth bounds the nesting the fast parser follows before leaving it to encoding/json.
const fastMaxDepth = 256

// fastParser reads one JSON text from b.
type fastParser struct {
	b         []byte
	i         int
	useNumber bool // numbers as json.Number (else float64)
	depth     int
	// shared, when set, makes strings without escapes substrings of one copy of b (src),
	// made at the first: one allocation per record rather than one per string.
	shared bool
	src    string
}

// fastSharedMax is the largest input whose strings share one copy of it; a larger one
// could keep much memory alive for one small string.
const fastSharedMax = 4 << 10

func (p *fastParser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\r', '\n':
			p.i++
		default:
			return
		}
	}
}

// end reports whether only white space is left.
func (p *fastParser) end() bool {
	p.ws()
	return p.i == len(p.b)
}

// value parses any JSON value.
func (p *fastParser) value() (any, bool) {
	p.ws()
	if p.i >= len(p.b) {
		return nil, false
	}
	switch c := p.b[p.i]; {
	case c == '"':
		return p.str()
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '-' || '0' <= c && c <= '9':
		return p.number()
	case c == 't':
		return true, p.lit("true")
	case c == 'f':
		return false, p.lit("false")
	case c == 'n':
		return nil, p.lit("null")
	}
	return nil, false
}

func (p *fastParser) lit(s string) bool {
	if len(p.b)-p.i < len(s) || string(p.b[p.i:p.i+len(s)]) != s {
		return false
	}
	p.i += len(s)
	return true
}

// str parses a string; one with escapes or invalid UTF-8 is unquoted by encoding/json.
func (p *fastParser) str() (string, bool) {
	start := p.i
	p.i++ // the quote
	ascii := true
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			s := p.b[start+1 : p.i]
			p.i++
			if !ascii && !utf8.Valid(s) {
				return p.slowString(start)
			}
			if p.shared {
				if p.src == "" {
					p.src = string(p.b)
				}
				return p.src[start+1 : p.i-1], true
			}
			return string(s), true
		case c == '\\':
			// Find the end of the string, then let encoding/json unquote it.
			for p.i++; p.i < len(p.b); p.i++ {
				switch p.b[p.i] {
				case '\\':
					p.i++
				case '"':
					p.i++
					return p.slowString(start)
				}
			}
			return "", false
		case c < 0x20:
			return "", false
		case c >= 0x80:
			ascii = false
		}
		p.i++
	}
	return "", false
}

func (p *fastParser) slowString(start int) (string, bool) {
	var s string
	if err := json.Unmarshal(p.b[start:p.i], &s); err != nil {
		return "", false
	}
	return s, true
}

// number parses a number as JSON's grammar has it.
func (p *fastParser) number() (any, bool) {
	start := p.i
	b := p.b
	if b[p.i] == '-' {
		p.i++
	}
	switch {
	case p.i < len(b) && b[p.i] == '0':
		p.i++
	case p.i < len(b) && '1' <= b[p.i] && b[p.i] <= '9':
		for p.i < len(b) && '0' <= b[p.i] && b[p.i] <= '9' {
			p.i++
		}
	default:
		return nil, false
	}
	if p.i < len(b) && b[p.i] == '.' {
		p.i++
		if p.i >= len(b) || b[p.i] < '0' || b[p.i] > '9' {
			return nil, false
		}
		for p.i < len(b) && '0' <= b[p.i] && b[p.i] <= '9' {
			p.i++
		}
	}
	if p.i < len(b) && (b[p.i] == 'e' || b[p.i] == 'E') {
		p.i++
		if p.i < len(b) && (b[p.i] == '+' || b[p.i] == '-') {
			p.i++
		}
		if p.i >= len(b) || b[p.i] < '0' || b[p.i] > '9' {
			return nil, false
		}
		for p.i < len(b) && '0' <= b[p.i] && b[p.i] <= '9' {
			p.i++
		}
	}
	s := string(b[start:p.i])
	if p.useNumber {
		return json.Number(s), true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, false // out of range: encoding/json reports it
	}
	return f, true
}

func (p *fastParser) object() (any, bool) {
	if p.depth++; p.depth > fastMaxDepth {
		return nil, false
	}
	defer func() { p.depth-- }()
	p.i++ // {
	m := map[string]any{}
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		return m, true
	}
	for {
		p.ws()
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return nil, false
		}
		k, ok := p.str()
		if !ok {
			return nil, false
		}
		if !p.colon() {
			return nil, false
		}
		v, ok := p.value()
		if !ok {
			return nil, false
		}
		m[k] = v // a repeated key keeps its last value, as in encoding/json
		more, ok := p.next('}')
		if !ok {
			return nil, false
		}
		if !more {
			return m, true
		}
	}
}

func (p *fastParser) array() (any, bool) {
	if p.depth++; p.depth > fastMaxDepth {
		return nil, false
	}
	defer func() { p.depth-- }()
	p.i++ // [
	out := []any{}
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		return out, true
	}
	for {
		v, ok := p.value()
		if !ok {
			return nil, false
		}
		out = append(out, v)
		more, ok := p.next(']')
		if !ok {
			return nil, false
		}
		if !more {
			return out, true
		}
	}
}

func (p *fastParser) colon() bool {
	p.ws()
	if p.i >= len(p.b) || p.b[p.i] != ':' {
		return false
	}
	p.i++
	return true
}

// next consumes a comma (more) or the closing byte.
func (p *fastParser) next(closing byte) (more, ok bool) {
	p.ws()
	if p.i >= len(p.b) {
		return false, false
	}
	switch p.b[p.i] {
	case ',':
		p.i++
		return true, true
	case closing:
		p.i++
		return false, true
	}
	return false, false
}

// UnmarshalJSON decodes one JSON value as json.Unmarshal into an `any` does (objects as
// map[string]any, arrays as []any, numbers as float64), with the same result and errors,
// faster for the common case.
func UnmarshalJSON(b []byte) (any, error) {
	p := fastParser{b: b}
	if v, ok := p.value(); ok && p.end() {
		return v, nil
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// fastDecodeRecord decodes a record in one pass, for a record whose fields are all valid
// and appear at most once; anything else (ok false) takes the checking path, which reports
// every problem.
func (c *RecordCodec) fastDecodeRecord(b []byte) (map[string]any, bool) {
	if len(c.fields) > 64 {
		return nil, false
	}
	p := fastParser{b: b, useNumber: true, shared: len(b) <= fastSharedMax}
	p.ws()
	if p.i >= len(b) || b[p.i] != '{' {
		return nil, false
	}
	p.i++
	out := make(map[string]any, len(c.fields))
	var seen, null uint64 // declared fields present, and present as null
	ch := recChecker{allowExtra: c.allowExtra}
	p.ws()
	if p.i < len(b) && b[p.i] == '}' {
		p.i++
	} else {
		for {
			p.ws()
			if p.i >= len(b) || b[p.i] != '"' {
				return nil, false
			}
			kb, ok := p.key()
			if !ok || !p.colon() {
				return nil, false
			}
			fi := c.fieldIndex(kb)
			if fi < 0 {
				k := string(kb)
				if !c.allowExtra {
					return nil, false
				}
				if _, dup := out[k]; dup {
					return nil, false
				}
				v, ok := p.value()
				if !ok {
					return nil, false
				}
				ch.push(k)
				out[k] = ch.untyped(v)
				ch.pop()
			} else {
				bit := uint64(1) << fi
				if seen&bit != 0 {
					return nil, false // a repeated field: the checking path keeps the last
				}
				seen |= bit
				f := c.fields[fi]
				p.ws()
				if p.i >= len(b) {
					return nil, false
				}
				if b[p.i] == 'n' {
					if !p.lit("null") {
						return nil, false
					}
					null |= bit
				} else if v, ok := p.field(f, &ch); !ok {
					return nil, false
				} else if v != nil {
					out[f.name] = v
				}
			}
			more, ok := p.next('}')
			if !ok {
				return nil, false
			}
			if !more {
				break
			}
		}
	}
	if !p.end() {
		return nil, false
	}
	for i, f := range c.fields {
		bit := uint64(1) << i
		if seen&bit != 0 && null&bit == 0 {
			continue
		}
		switch {
		case f.required:
			return nil, false
		case f.def != nil:
			ch.push(f.name)
			out[f.name] = ch.value(f, f.def)
			ch.pop()
		}
	}
	if len(ch.problems) > 0 {
		return nil, false
	}
	return out, true
}

// key parses an object key: its bytes as they are when it has no escapes (no allocation),
// else unquoted.
func (p *fastParser) key() ([]byte, bool) {
	start := p.i
	for p.i++; p.i < len(p.b); p.i++ {
		switch c := p.b[p.i]; {
		case c == '"':
			p.i++
			return p.b[start+1 : p.i-1], true
		case c == '\\' || c < 0x20 || c >= 0x80:
			p.i = start
			s, ok := p.str()
			return []byte(s), ok
		}
	}
	return nil, false
}

// fieldIndex returns the index of the declared field called name, or -1.
func (c *RecordCodec) fieldIndex(name []byte) int {
	if len(c.fields) <= 8 {
		for i, f := range c.fields {
			if f.name == string(name) {
				return i
			}
		}
		return -1
	}
	f := c.index[string(name)]
	if f == nil {
		return -1
	}
	return slices.Index(c.fields, f)
}

// field parses a non-null value of field f: scalars directly, anything else through the
// checker. It returns nil after a problem (ch has it).
func (p *fastParser) field(f *recField, ch *recChecker) (any, bool) {
	c := p.b[p.i]
	switch f.typ {
	case TypeString:
		if c != '"' {
			return nil, false
		}
		return p.str()
	case TypeNumber:
		if c != '-' && (c < '0' || c > '9') {
			return nil, false
		}
		p.useNumber = false
		v, ok := p.number()
		p.useNumber = true
		return v, ok
	case TypeBool:
		switch c {
		case 't':
			return true, p.lit("true")
		case 'f':
			return false, p.lit("false")
		}
		return nil, false
	}
	v, ok := p.value()
	if !ok {
		return nil, false
	}
	ch.push(f.name)
	v = ch.value(f, v)
	ch.pop()
	return v, true
}

// AppendJSON appends v encoded as json.Marshal encodes it (the same bytes, and the same
// error), faster for the values records hold: nil, bool, float64, string,
// map[string]any and []any.
func AppendJSON(dst []byte, v any) ([]byte, error) {
	if out, ok := fastAppendJSON(dst, v, 0); ok {
		return out, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}

// AppendJSONObject appends the object of keys (sorted, distinct) and their vals as
// AppendJSON appends a map[string]any holding them, without the map. ok is false, and dst
// is returned as it was, when a value needs encoding/json: encode the map then.
func AppendJSONObject(dst []byte, keys []string, vals []any) (out []byte, ok bool) {
	if len(keys) != len(vals) {
		return dst, false
	}
	b := append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		if b, ok = fastAppendJSON(b, vals[i], 1); !ok {
			return dst, false
		}
	}
	return append(b, '}'), true
}

// fastAppendJSON encodes v; other types are encoded by json.Marshal, whose output for a
// value is the same on its own as inside a container.
func fastAppendJSON(b []byte, v any, depth int) ([]byte, bool) {
	if depth > fastMaxDepth {
		return nil, false
	}
	switch v := v.(type) {
	case nil:
		return append(b, "null"...), true
	case bool:
		return strconv.AppendBool(b, v), true
	case float64:
		return appendJSONFloat(b, v)
	case string:
		return appendJSONString(b, v), true
	case map[string]any:
		if v == nil {
			return append(b, "null"...), true
		}
		b = append(b, '{')
		switch len(v) {
		case 0:
		case 1:
			for k, e := range v {
				b = appendJSONString(b, k)
				b = append(b, ':')
				var ok bool
				if b, ok = fastAppendJSON(b, e, depth+1); !ok {
					return nil, false
				}
			}
		default:
			var arr [16]string
			keys := arr[:0]
			for k := range v {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for i, k := range keys {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendJSONString(b, k)
				b = append(b, ':')
				var ok bool
				if b, ok = fastAppendJSON(b, v[k], depth+1); !ok {
					return nil, false
				}
			}
		}
		return append(b, '}'), true
	case []any:
		if v == nil {
			return append(b, "null"...), true
		}
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			var ok bool
			if b, ok = fastAppendJSON(b, e, depth+1); !ok {
				return nil, false
			}
		}
		return append(b, ']'), true
	case time.Time, json.Number, int, int64:
		out, err := json.Marshal(v)
		if err != nil {
			return nil, false
		}
		return append(b, out...), true
	}
	return nil, false
}

// appendJSONFloat formats f as encoding/json does.
func appendJSONFloat(b []byte, f float64) ([]byte, bool) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, false
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-09 → e-9, as encoding/json writes it.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, true
}

// appendJSONString quotes s as encoding/json does (HTML-safe); strings needing escapes go
// through encoding/json itself.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
