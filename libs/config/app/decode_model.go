package app

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/weirhq/weir/libs/topics"
)

// fieldTypeNames are the field types, as libs/topics names them.
var fieldTypeNames = []string{
	string(topics.TypeString), string(topics.TypeNumber), string(topics.TypeBool), string(topics.TypeTimestamp),
	string(topics.TypeList), string(topics.TypeMap), string(topics.TypeObject),
}

func decodeModel(b block) *Model {
	d := b.d
	name := d.label(b.Block, 0)
	content, _ := d.content(b.Body, modelSchema)
	m := &Model{Name: name, DeclRange: b.DefRange}
	if at := content.Attributes["description"]; at != nil {
		m.Description, _ = d.str(at)
	}
	if at := content.Attributes["allow_extra"]; at != nil {
		m.AllowExtra, _ = d.boolean(at)
	}
	m.Fields = decodeFields(d, content.Blocks)
	if name == "" {
		return nil
	}
	return m
}

func decodeFields(d *decoder, blocks hcl.Blocks) []*Field {
	var out []*Field
	for _, fb := range blocks {
		if f := decodeField(d, fb); f != nil {
			out = append(out, f)
		}
	}
	return out
}

func decodeField(d *decoder, b *hcl.Block) *Field {
	name := d.label(b, 0)
	content, _ := d.content(b.Body, fieldSchema)
	attrs := content.Attributes
	f := &Field{Name: name, DeclRange: b.DefRange}
	if at := attrs["type"]; at != nil {
		t, ok := d.typeName(at, true, fieldTypeNames...)
		if ok {
			f.TypeRange = t.Range
			if t.Name == "model" {
				f.Type, f.Model = topics.TypeObject, t.Model
			} else {
				f.Type = topics.FieldType(t.Name)
			}
		}
	}
	if at := attrs["required"]; at != nil {
		f.Required, _ = d.boolean(at)
	}
	if at := attrs["description"]; at != nil {
		f.Description, _ = d.str(at)
	}
	if at := attrs["default"]; at != nil {
		if v, cv, ok := d.anyValue(at); ok {
			if f.Type != "" && !defaultFits(f.Type, cv) {
				d.add(errorAt(at.Expr.Range().Ptr(), "Wrong type",
					"The default of field %q must be a %s, got %s.", name, f.Type, describe(cv)))
			} else {
				f.Default = v
			}
		}
		if f.Required {
			d.add(errorAt(at.Expr.Range().Ptr(), "Default on a required field",
				"Field %q is required, so its default would never apply: drop one of them.", name))
		}
	}
	if at := attrs["elem"]; at != nil {
		if f.Type != "" && f.Type != topics.TypeList && f.Type != topics.TypeMap {
			d.add(errorAt(at.NameRange.Ptr(), "Unexpected elem",
				"elem declares the elements of a list or map; field %q is a %s.", name, f.Type))
		} else if t, ok := d.typeName(at, true, fieldTypeNames...); ok {
			e := &Field{Type: topics.FieldType(t.Name), DeclRange: at.Range, TypeRange: t.Range}
			if t.Name == "model" {
				e.Type, e.Model = topics.TypeObject, t.Model
			}
			f.Elem = e
		}
	}
	if len(content.Blocks) > 0 {
		if f.Type != topics.TypeObject || f.Model != "" {
			d.add(errorAt(content.Blocks[0].DefRange.Ptr(), "Unexpected field block",
				"Only a field of type object declares fields of its own; field %q is %s.", name, f.describeType()))
		} else {
			f.Fields = decodeFields(d, content.Blocks)
		}
	}
	if name == "" {
		return nil
	}
	return f
}

func (f *Field) describeType() string {
	if f.Model != "" {
		return "model." + f.Model
	}
	return "a " + string(f.Type)
}
