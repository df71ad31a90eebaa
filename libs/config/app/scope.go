package app

import (
	"slices"

	"github.com/weirhq/weir/libs/topics"
)

// scope is what a pipeline expression may refer to at one point of a pipeline.
type scope struct {
	context string   // "a pipeline step", "a timer", "a topic timestamp": for diagnostics
	roots   []string // allowed root names besides var, local and lookup
	lookups map[string]*Table
	value   shape
}

// shape is what is known about a record's value at one point of a pipeline.
type shape struct {
	scalar string   // the value's type when it is not a record ("string", "number"…); "" otherwise
	fields []*Field // the record's fields, when known
	known  bool     // fields is the complete list
	origin string   // where the shape comes from, for diagnostics: "model PageView"
}

// recordRoots are the per-record variables of an agent pipeline.
var recordRoots = []string{"value", "key", "headers", "timestamp", "partition", "offset"}

func (s *scope) allows(root string) bool {
	return root == "var" || root == "local" || slices.Contains(s.roots, root) || (root == "lookup" && s.lookups != nil)
}

func (s *scope) rootNames() []string {
	names := append(slices.Clone(s.roots), "var", "local")
	if s.lookups != nil {
		names = append(names, "lookup")
	}
	return names
}

// topicShape is the shape of values read from t.
func (v *validator) topicShape(t *Topic) shape {
	switch t.Value.Name {
	case "string", "bytes":
		return shape{scalar: t.Value.Name, origin: "topic " + t.Name + "'s " + t.Value.Name + " values"}
	case "model":
		if m := v.models[t.Value.Model]; m != nil {
			return shape{fields: m.Fields, known: true, origin: "model " + m.Name}
		}
	}
	return shape{}
}

// sourcesShape is the shape of values an agent reads: known only when every source agrees.
func (v *validator) sourcesShape(ts []*Topic) shape {
	if len(ts) == 0 {
		return shape{}
	}
	first := ts[0]
	for _, t := range ts[1:] {
		if t.Value.String() != first.Value.String() {
			return shape{}
		}
	}
	return v.topicShape(first)
}

// tableShape is the shape of t's values: what an aggregate into t passes on.
func (v *validator) tableShape(t *Table) shape {
	switch t.Value.Name {
	case "json", "map", "object", "":
		return shape{}
	case "model":
		if m := v.models[t.Value.Model]; m != nil {
			return shape{fields: m.Fields, known: true, origin: "model " + m.Name + " in table " + t.Name}
		}
		return shape{}
	}
	return shape{scalar: t.Value.Name, origin: "the value of table " + t.Name}
}

func (v *validator) topicScope(t *Topic) *scope {
	return &scope{context: "a topic's timestamp", roots: []string{"value", "key", "headers", "timestamp"}, value: v.topicShape(t)}
}

// fieldAt resolves a path of names in shape s. It returns the field (nil when unknown) and,
// when the path is known to be wrong, a description of the problem.
func (s shape) fieldAt(path []string) (*Field, string) {
	if len(path) == 0 {
		return nil, ""
	}
	if s.scalar != "" {
		return nil, "the value is a " + s.scalar + " (" + s.origin + "), which has no fields."
	}
	if !s.known {
		return nil, ""
	}
	f := findField(s.fields, path[0])
	if f == nil {
		names := make([]string, 0, len(s.fields))
		for _, x := range s.fields {
			names = append(names, x.Name)
		}
		return nil, "the value (" + s.origin + ") has no field \"" + path[0] + "\"; its fields are " + listNames(names) + "." + suggest(path[0], names, "value.")
	}
	for _, name := range path[1:] {
		switch {
		case f.declaresFields():
			next := f.Lookup(name)
			if next == nil {
				return nil, "field \"" + f.Name + "\" has no field \"" + name + "\"."
			}
			f = next
		case f.Type == topics.TypeObject || f.Type == topics.TypeMap || f.Type == "":
			return nil, ""
		default:
			return nil, "field \"" + f.Name + "\" is a " + string(f.Type) + ", which has no fields."
		}
	}
	return f, ""
}
