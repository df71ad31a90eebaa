package app

import (
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/weirhq/weir/libs/topics"
)

// defaultFits reports whether v can be a default of a field of type t.
func defaultFits(t topics.FieldType, v cty.Value) bool {
	ty := v.Type()
	switch t {
	case topics.TypeString:
		return ty == cty.String
	case topics.TypeNumber:
		return ty == cty.Number
	case topics.TypeBool:
		return ty == cty.Bool
	case topics.TypeTimestamp:
		if ty == cty.Number {
			return true
		}
		if ty != cty.String {
			return false
		}
		_, err := time.Parse(time.RFC3339Nano, v.AsString())
		return err == nil
	case topics.TypeList:
		return ty.IsTupleType() || ty.IsListType() || ty.IsSetType()
	case topics.TypeMap, topics.TypeObject:
		return ty.IsObjectType() || ty.IsMapType()
	}
	return false
}

var ctyString = cty.String

func fieldType(name string) topics.FieldType { return topics.FieldType(name) }
