package app

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/weirhq/weir/libs/topics"
)

// Model declares a typed record, usable as a topic's or table's value.
type Model struct {
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	AllowExtra  bool      `json:"allow_extra"`
	Fields      []*Field  `json:"fields"`
	DeclRange   hcl.Range `json:"-"`
}

// Field declares one field of a model or of an object field, or the elements of a list or
// map (Elem). Its vocabulary is libs/topics' typed-record codec's.
type Field struct {
	Name        string           `json:"name,omitempty"`
	Type        topics.FieldType `json:"type"`
	Model       string           `json:"model,omitempty"` // for objects declared as model.X
	Required    bool             `json:"required,omitempty"`
	Default     any              `json:"default,omitempty"`
	Description string           `json:"description,omitempty"`
	Elem        *Field           `json:"elem,omitempty"`
	Fields      []*Field         `json:"fields,omitempty"`
	DeclRange   hcl.Range        `json:"-"`
	TypeRange   hcl.Range        `json:"-"`

	model *Model // the model Model names, set by Validate
}

// Field returns the model's field called name, or nil.
func (m *Model) Field(name string) *Field { return findField(m.Fields, name) }

// Lookup returns the field called name among an object's fields, following model.X, or nil.
func (f *Field) Lookup(name string) *Field {
	if f.model != nil {
		return f.model.Field(name)
	}
	return findField(f.Fields, name)
}

// declaresFields reports whether the field is an object whose fields are known.
func (f *Field) declaresFields() bool {
	return f.Type == topics.TypeObject && (f.model != nil || len(f.Fields) > 0)
}

func findField(fields []*Field, name string) *Field {
	for _, f := range fields {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// RecordSchema returns the model as libs/topics' record schema. Fields declared as
// model.X are expanded; call it on validated apps only.
func (m *Model) RecordSchema() topics.RecordSchema {
	return topics.RecordSchema{Name: m.Name, Fields: recordFields(m.Fields, 0), AllowExtra: m.AllowExtra}
}

// maxModelDepth bounds the expansion of model.X fields; Validate rejects cycles, so it is
// only a guard.
const maxModelDepth = 32

func recordFields(fields []*Field, depth int) []topics.Field {
	if len(fields) == 0 || depth > maxModelDepth {
		return nil
	}
	out := make([]topics.Field, 0, len(fields))
	for _, f := range fields {
		out = append(out, recordField(f, depth))
	}
	return out
}

func recordField(f *Field, depth int) topics.Field {
	tf := topics.Field{Name: f.Name, Type: f.Type, Required: f.Required, Default: f.Default}
	if f.Elem != nil {
		e := recordField(f.Elem, depth+1)
		tf.Elem = &e
	}
	if f.model != nil {
		tf.Fields = recordFields(f.model.Fields, depth+1)
	} else {
		tf.Fields = recordFields(f.Fields, depth+1)
	}
	return tf
}
