package topics

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// FieldType is the type of a record field. The vocabulary is shared with the app language.
type FieldType string

// The field types.
const (
	TypeString    FieldType = "string"
	TypeNumber    FieldType = "number"    // a JSON number, decoded as float64
	TypeBool      FieldType = "bool"      // a JSON true or false
	TypeTimestamp FieldType = "timestamp" // an RFC 3339 string or epoch milliseconds, decoded as time.Time in UTC
	TypeList      FieldType = "list"      // a JSON array, decoded as []any
	TypeMap       FieldType = "map"       // a JSON object with arbitrary keys, decoded as map[string]any
	TypeObject    FieldType = "object"    // a JSON object with declared fields, decoded as map[string]any
)

var fieldTypes = []FieldType{TypeString, TypeNumber, TypeBool, TypeTimestamp, TypeList, TypeMap, TypeObject}

// Field declares one field of a record, or the elements of a list or map.
type Field struct {
	Name     string
	Type     FieldType // one of the Type constants
	Required bool      // absent or null is an error
	// Default is applied on decode and encode when the field is absent or null and not
	// required; an object default gets its own fields' defaults too. It may be any Go value
	// json.Marshal accepts (and a time.Time for a timestamp) but must be valid for Type:
	// NewRecordCodec checks it. A nil Default means none; without one an absent or null
	// optional field is left out of the record.
	Default any
	// Elem is the element type of a list or the value type of a map; nil means any JSON value.
	// Elem.Name is ignored and Elem may have neither Required nor Default.
	Elem *Field
	// Fields are the fields of an object; none (nil or empty) means any JSON object.
	Fields []Field
}

// RecordSchema declares a record: a JSON object with typed fields.
type RecordSchema struct {
	Name   string
	Fields []Field
	// AllowExtra keeps fields the schema does not declare, at the top level and in objects
	// with declared fields. When false they are an error.
	AllowExtra bool
}

// RecordCodec encodes and decodes records of one RecordSchema as JSON objects, checking
// every field. Decoded records are map[string]any whose values are string, float64, bool,
// time.Time (timestamps, in UTC), []any, map[string]any, or nil (only where any JSON value
// is allowed). Its errors are *RecordError. It is safe for concurrent use.
type RecordCodec struct {
	model      string
	fields     []*recField
	index      map[string]*recField
	allowExtra bool
}

// recField is a checked, compiled Field.
type recField struct {
	name     string
	typ      FieldType
	required bool
	def      any // normalised default; nil when there is none
	elem     *recField
	fields   []*recField // nil: any object
	index    map[string]*recField
}

// NewRecordCodec checks s and returns a codec for it. Every problem of the schema is
// reported at once, each naming its field path (elements of a list or map are "name[]").
func NewRecordCodec(s RecordSchema) (*RecordCodec, error) {
	model := s.Name
	if model == "" {
		model = "(unnamed)"
	}
	sc := schemaCompiler{model: model, allowExtra: s.AllowExtra}
	if s.Name == "" {
		sc.errs = append(sc.errs, errors.New("record schema: the model name is empty"))
	}
	fields, index := sc.fields("", s.Fields)
	if err := errors.Join(sc.errs...); err != nil {
		return nil, err
	}
	return &RecordCodec{model: s.Name, fields: fields, index: index, allowExtra: s.AllowExtra}, nil
}

// Name returns "model:" and the schema name.
func (c *RecordCodec) Name() string { return "model:" + c.model }

// Decode checks b against the schema and returns the record as a map[string]any, with
// defaults applied. See DecodeRecord.
func (c *RecordCodec) Decode(b []byte) (any, error) {
	m, err := c.DecodeRecord(b)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// DecodeRecord checks b against the schema and returns the record with defaults applied.
// All problems of the record are returned together in a *RecordError.
func (c *RecordCodec) DecodeRecord(b []byte) (map[string]any, error) {
	if m, ok := c.fastDecodeRecord(b); ok {
		return m, nil
	}
	v, msg := codecParseJSON(b)
	if msg != "" {
		return nil, &RecordError{Model: c.model, Problems: []FieldProblem{{Reason: msg}}}
	}
	return c.record(v)
}

// Encode checks v against the schema, applies defaults and returns the record as compact
// JSON with sorted keys and timestamps in RFC 3339 (UTC). v is a map[string]any, whose
// values may be any Go values that json.Marshal accepts, or any Go value that json.Marshal
// turns into an object, such as a struct. Values are checked as their JSON would be, so a
// nil pointer is null, and a timestamp may be a time.Time, an RFC 3339 string or an integer
// of epoch milliseconds. v is not modified. Errors are *RecordError.
func (c *RecordCodec) Encode(v any) ([]byte, error) {
	m, err := c.record(v)
	if err != nil {
		return nil, err
	}
	b, err := AppendJSON(make([]byte, 0, 128), m)
	if err != nil { // not expected: record only returns values json.Marshal accepts
		return nil, &RecordError{Model: c.model, Problems: []FieldProblem{{Reason: err.Error()}}}
	}
	return b, nil
}

func (c *RecordCodec) record(v any) (map[string]any, error) {
	ch := recChecker{allowExtra: c.allowExtra}
	var out map[string]any
	if v, ok := ch.jsonValue(v); ok {
		if m, isMap := v.(map[string]any); isMap {
			out = ch.object(c.fields, c.index, m)
		} else {
			ch.add("want a JSON object, got " + recDescribe(v))
		}
	}
	if err := ch.err(c.model); err != nil {
		return nil, err
	}
	return out, nil
}

// RecordError is the error of RecordCodec's Decode and Encode: every problem of one record,
// in schema order (up to 50; a last problem without a path then counts the others).
type RecordError struct {
	Model    string
	Problems []FieldProblem
}

// FieldProblem is one problem of a record.
type FieldProblem struct {
	// Path is the field's full path, e.g. "user.address.zip", "tags[2]" or `attrs["a b"]`;
	// empty for a problem of the whole record, such as malformed JSON.
	Path   string
	Reason string
}

const recUnknownField = "unknown field"

// String formats p as `field "path": reason`, as `unknown field "path"` for a field the
// schema does not declare (Reason "unknown field"), or as the reason alone without a path.
func (p FieldProblem) String() string {
	switch {
	case p.Path == "":
		return p.Reason
	case p.Reason == recUnknownField:
		return fmt.Sprintf("unknown field %q", p.Path)
	}
	return fmt.Sprintf("field %q: %s", p.Path, p.Reason)
}

func (e *RecordError) Error() string {
	var sb strings.Builder
	sb.WriteString("model ")
	sb.WriteString(e.Model)
	sb.WriteString(": ")
	for i, p := range e.Problems {
		if i > 0 {
			sb.WriteString("; ")
		}
		sb.WriteString(p.String())
	}
	return sb.String()
}

// recMaxProblems bounds the problems kept for one record.
const recMaxProblems = 50

// recMaxDepth bounds nesting, as encoding/json does; it also stops cyclic Go maps on encode.
const recMaxDepth = 10000

// recChecker checks and normalises one value against compiled fields, collecting problems.
// It tracks the path of the value being checked as a stack, rendered only for a problem.
type recChecker struct {
	allowExtra bool
	base       string   // path the stack is relative to
	stack      []recSeg // current path below base
	problems   []FieldProblem
	dropped    int
}

// recSeg is one step of a path: a key when index < 0, else a list index.
type recSeg struct {
	key   string
	index int
}

func (ch *recChecker) push(key string) { ch.stack = append(ch.stack, recSeg{key: key, index: -1}) }
func (ch *recChecker) pushIndex(i int) { ch.stack = append(ch.stack, recSeg{index: i}) }
func (ch *recChecker) pop()            { ch.stack = ch.stack[:len(ch.stack)-1] }

func (ch *recChecker) path() string {
	var sb strings.Builder
	sb.WriteString(ch.base)
	for _, s := range ch.stack {
		if s.index >= 0 {
			sb.WriteByte('[')
			sb.WriteString(strconv.Itoa(s.index))
			sb.WriteByte(']')
		} else {
			recJoinTo(&sb, s.key)
		}
	}
	return sb.String()
}

// add records a problem of the value at the current path.
func (ch *recChecker) add(reason string) {
	if len(ch.problems) == recMaxProblems {
		ch.dropped++
		return
	}
	ch.problems = append(ch.problems, FieldProblem{Path: ch.path(), Reason: reason})
}

func (ch *recChecker) err(model string) error {
	if len(ch.problems) == 0 {
		return nil
	}
	if ch.dropped > 0 {
		ch.problems = append(ch.problems, FieldProblem{Reason: fmt.Sprintf("and %d more problems", ch.dropped)})
	}
	return &RecordError{Model: model, Problems: ch.problems}
}

// tooDeep reports whether a container at the current path is nested too deeply, and if so
// adds a problem.
func (ch *recChecker) tooDeep() bool {
	if len(ch.stack) < recMaxDepth {
		return false
	}
	ch.add(fmt.Sprintf("nested more than %d levels deep", recMaxDepth))
	return true
}

// object checks m against fields (nil: any object) and returns a new map.
func (ch *recChecker) object(fields []*recField, index map[string]*recField, m map[string]any) map[string]any {
	if fields == nil {
		return ch.untypedMap(m)
	}
	out := make(map[string]any, len(m))
	known := 0 // keys of m that are declared fields
	for _, f := range fields {
		v, present := m[f.name]
		if present {
			known++
		}
		ch.push(f.name)
		switch {
		case !recIsNull(v):
			if v = ch.value(f, v); v != nil {
				out[f.name] = v
			}
		case f.required && present:
			ch.add("required field is null")
		case f.required:
			ch.add("required field is missing")
		case f.def != nil:
			out[f.name] = ch.value(f, f.def) // a deep copy, with nested defaults
		}
		ch.pop()
	}
	if known == len(m) {
		return out
	}
	var extra []string
	for k := range m {
		if index[k] == nil {
			extra = append(extra, k)
		}
	}
	slices.Sort(extra)
	for _, k := range extra {
		ch.push(k)
		if ch.allowExtra {
			out[k] = ch.untyped(m[k])
		} else {
			ch.add(recUnknownField)
		}
		ch.pop()
	}
	return out
}

// value checks v against f and returns it normalised: numbers as float64, timestamps as
// UTC time.Time, containers copied. It returns nil after a problem.
func (ch *recChecker) value(f *recField, v any) any {
	if t, ok := v.(time.Time); ok && f.typ == TypeTimestamp {
		return ch.timestamp(t, "")
	}
	v, ok := ch.jsonValue(v)
	if !ok {
		return nil
	}
	switch f.typ {
	case TypeString:
		if s, ok := v.(string); ok {
			return s
		}
	case TypeNumber:
		if _, ok := v.(json.Number); ok {
			return ch.untyped(v)
		}
	case TypeBool:
		if b, ok := v.(bool); ok {
			return b
		}
	case TypeTimestamp:
		switch v := v.(type) {
		case string:
			if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
				return ch.timestamp(t, v)
			}
		case json.Number:
			return ch.epochMillis(v)
		}
		ch.add("want timestamp (RFC 3339 string or epoch milliseconds), got " + recDescribe(v))
		return nil
	case TypeList:
		if l, ok := v.([]any); ok {
			if ch.tooDeep() {
				return nil
			}
			out := make([]any, len(l))
			for i, e := range l {
				ch.pushIndex(i)
				out[i] = ch.elem(f.elem, e)
				ch.pop()
			}
			return out
		}
	case TypeMap:
		if m, ok := v.(map[string]any); ok {
			if ch.tooDeep() {
				return nil
			}
			out := make(map[string]any, len(m))
			for _, k := range recSortedKeys(m) {
				ch.push(k)
				out[k] = ch.elem(f.elem, m[k])
				ch.pop()
			}
			return out
		}
	case TypeObject:
		if m, ok := v.(map[string]any); ok {
			if ch.tooDeep() {
				return nil
			}
			return ch.object(f.fields, f.index, m)
		}
	}
	ch.add("want " + string(f.typ) + ", got " + recDescribe(v))
	return nil
}

// elem checks an element of a list or map against elem (nil: any JSON value).
func (ch *recChecker) elem(elem *recField, v any) any {
	if elem == nil {
		return ch.untyped(v)
	}
	return ch.value(elem, v)
}

// untyped normalises a value where any JSON value is allowed.
func (ch *recChecker) untyped(v any) any {
	v, ok := ch.jsonValue(v)
	if !ok {
		return nil
	}
	switch v := v.(type) {
	case json.Number:
		x, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			ch.add("number " + recTruncate(string(v)) + " is out of range")
			return nil
		}
		return x
	case []any:
		if ch.tooDeep() {
			return nil
		}
		out := make([]any, len(v))
		for i, e := range v {
			ch.pushIndex(i)
			out[i] = ch.untyped(e)
			ch.pop()
		}
		return out
	case map[string]any:
		if ch.tooDeep() {
			return nil
		}
		return ch.untypedMap(v)
	}
	return v // nil, bool or string
}

func (ch *recChecker) untypedMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for _, k := range recSortedKeys(m) {
		ch.push(k)
		out[k] = ch.untyped(m[k])
		ch.pop()
	}
	return out
}

// jsonValue returns v as decoding JSON with UseNumber would: nil, bool, string,
// json.Number, []any or map[string]any. Other Go values (ints, structs, time.Time, ...)
// are converted by a json.Marshal round trip; float64 becomes a json.Number. It reports
// false after adding a problem.
func (ch *recChecker) jsonValue(v any) (any, bool) {
	switch x := v.(type) {
	case nil, bool, string, json.Number, []any, map[string]any:
		return v, true
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			ch.add(fmt.Sprintf("want a finite number, got %v", x))
			return nil, false
		}
		return json.Number(strconv.FormatFloat(x, 'g', -1, 64)), true
	}
	b, err := json.Marshal(v)
	if err != nil {
		ch.add(fmt.Sprintf("cannot encode Go value of type %T: %v", v, err))
		return nil, false
	}
	jv, msg := codecParseJSON(b)
	if msg != "" { // not expected: json.Marshal checks what Marshalers return
		ch.add(fmt.Sprintf("cannot encode Go value of type %T: %s", v, msg))
		return nil, false
	}
	return jv, true
}

// recIsNull reports whether v encodes as JSON null: nil, or a nil pointer, map or slice.
func recIsNull(v any) bool {
	switch x := v.(type) { // fast paths for decoded JSON
	case nil:
		return true
	case string, bool, json.Number, float64:
		return false
	case []any:
		return x == nil
	case map[string]any:
		return x == nil
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

// Timestamps are limited to the years RFC 3339 can write.
var (
	recMinTime = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)
	recMaxTime = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
)

func (ch *recChecker) timestamp(t time.Time, text string) any {
	if t.Before(recMinTime) || !t.Before(recMaxTime) {
		if text == "" {
			text = t.String()
		}
		ch.add("timestamp " + recTruncate(text) + " is outside the years 0000 to 9999")
		return nil
	}
	return t.UTC()
}

func (ch *recChecker) epochMillis(n json.Number) any {
	ms, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil {
		// Also accept whole numbers written with a fraction or an exponent, like 1.7e12.
		x, ferr := strconv.ParseFloat(string(n), 64)
		switch {
		case ferr != nil || math.Abs(x) >= 1<<62:
			ms = math.MaxInt64 // out of range, below
		case x != math.Trunc(x):
			ch.add("want timestamp (RFC 3339 string or epoch milliseconds), got " +
				recDescribe(n) + " (not a whole number of milliseconds)")
			return nil
		default:
			ms = int64(x)
		}
	}
	// Check the range before time.UnixMilli, which would overflow.
	if ms < recMinTime.UnixMilli() || ms >= recMaxTime.UnixMilli() {
		ch.add("timestamp " + recTruncate(string(n)) + " is outside the years 0000 to 9999")
		return nil
	}
	return time.UnixMilli(ms).UTC()
}

// recDescribe names the JSON type of v, with its value for numbers and strings.
func recDescribe(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "bool"
	case string:
		return "string " + strconv.Quote(recTruncate(v))
	case json.Number:
		return "number " + recTruncate(string(v))
	case float64:
		return "number " + strconv.FormatFloat(v, 'g', -1, 64)
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// recTruncate shortens s for an error message.
func recTruncate(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// recJoin appends key to path: ".key" for identifier-like keys, `["key"]` otherwise.
func recJoin(path, key string) string {
	var sb strings.Builder
	sb.WriteString(path)
	recJoinTo(&sb, key)
	return sb.String()
}

func recJoinTo(sb *strings.Builder, key string) {
	simple := key != ""
	for i := 0; i < len(key) && simple; i++ {
		c := key[i]
		simple = c == '_' || c == '-' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
	}
	switch {
	case !simple:
		sb.WriteByte('[')
		sb.WriteString(strconv.Quote(key))
		sb.WriteByte(']')
	case sb.Len() == 0:
		sb.WriteString(key)
	default:
		sb.WriteByte('.')
		sb.WriteString(key)
	}
}

func recSortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// schemaCompiler checks a RecordSchema and compiles its fields.
type schemaCompiler struct {
	model      string
	allowExtra bool
	errs       []error
}

func (sc *schemaCompiler) fail(path, format string, args ...any) {
	sc.errs = append(sc.errs, fmt.Errorf("model %s: field %q: %s", sc.model, path, fmt.Sprintf(format, args...)))
}

func (sc *schemaCompiler) fields(path string, fs []Field) ([]*recField, map[string]*recField) {
	out := make([]*recField, 0, len(fs))
	index := make(map[string]*recField, len(fs))
	for i, f := range fs {
		if f.Name == "" {
			sc.fail(strings.TrimPrefix(path+".#"+strconv.Itoa(i), "."), "the field name is empty")
			continue
		}
		p := recJoin(path, f.Name)
		if index[f.Name] != nil {
			sc.fail(p, "duplicate field name")
			continue
		}
		rf := sc.field(p, f, false)
		index[f.Name] = rf
		out = append(out, rf)
	}
	return out, index
}

// field checks and compiles f; elem says f is the Elem of a list or map.
func (sc *schemaCompiler) field(path string, f Field, elem bool) *recField {
	before := len(sc.errs)
	rf := &recField{name: f.Name, typ: f.Type, required: f.Required}
	if !slices.Contains(fieldTypes, f.Type) {
		sc.fail(path, "unknown type %q (want one of %s)", f.Type, recTypeList())
	}
	if f.Elem != nil {
		if f.Type != TypeList && f.Type != TypeMap {
			sc.fail(path, "only list and map fields may have an element type, not %s", f.Type)
		}
		rf.elem = sc.field(path+"[]", *f.Elem, true)
	}
	if len(f.Fields) > 0 {
		if f.Type != TypeObject {
			sc.fail(path, "only object fields may have fields, not %s", f.Type)
		}
		rf.fields, rf.index = sc.fields(path, f.Fields)
	}
	switch {
	case elem && (f.Required || f.Default != nil):
		sc.fail(path, "an element type may have neither required nor default")
	case f.Required && f.Default != nil:
		sc.fail(path, "a required field may not have a default")
	case f.Default != nil && len(sc.errs) == before:
		// Check the default only against a valid field, and store it normalised.
		ch := recChecker{allowExtra: sc.allowExtra, base: path}
		rf.def = ch.value(rf, f.Default)
		for _, p := range ch.problems {
			if p.Path == path {
				sc.fail(path, "invalid default: %s", p.Reason)
			} else {
				sc.fail(path, "invalid default: %s", p)
			}
		}
	}
	return rf
}

func recTypeList() string {
	names := make([]string, len(fieldTypes))
	for i, t := range fieldTypes {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}
