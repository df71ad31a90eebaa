package app

// Types a table's key and value may have.
var (
	tableKeyTypes   = []string{"string", "number", "bytes", "json"}
	tableValueTypes = append(append([]string{}, fieldTypeNames...), "bytes", "json")
)

func decodeTable(b block) *Table {
	d := b.d
	name := d.label(b.Block, 0)
	content, r := d.content(b.Body, tableSchema)
	attrs := content.Attributes
	t := &Table{
		Name: name, DeclRange: b.DefRange, ranges: r,
		Key:   Type{Name: "string", Range: b.DefRange},
		Value: Type{Name: "json", Range: b.DefRange},
	}
	if at := attrs["description"]; at != nil {
		t.Description, _ = d.str(at)
	}
	if at := attrs["key"]; at != nil {
		t.Key, _ = d.typeName(at, false, tableKeyTypes...)
	}
	if at := attrs["value"]; at != nil {
		t.Value, _ = d.typeName(at, true, tableValueTypes...)
	}
	if at := attrs["default"]; at != nil {
		if v, cv, ok := d.anyValue(at); ok {
			if ft := t.Value.Name; ft != "" && ft != "json" && ft != "bytes" && ft != "model" && !defaultFits(fieldType(ft), cv) {
				d.add(errorAt(at.Expr.Range().Ptr(), "Wrong type",
					"The default of table %q must be a %s like its values, got %s.", name, ft, describe(cv)))
			} else {
				t.Default = v
			}
		}
	}
	if at := attrs["partitions"]; at != nil {
		t.Partitions, _ = d.integer(at, 1, maxPartitions)
	}
	if at := attrs["global"]; at != nil {
		t.Global, _ = d.boolean(at)
	}
	if at := attrs["source"]; at != nil {
		t.Source, _ = d.ref(at, "topic")
	}
	if at := attrs["on_close"]; at != nil {
		t.OnClose, _ = d.ref(at, "topic")
	}
	for i, wb := range content.Blocks {
		if i > 0 {
			d.add(errorAt(wb.DefRange.Ptr(), "Duplicate window",
				"Table %q already has a window at %s; a table has one window at most.", name, content.Blocks[0].DefRange))
			continue
		}
		t.Window = decodeWindow(d, wb.Labels[0], wb.LabelRanges[0], wb.Body, wb.DefRange)
	}
	if name == "" {
		return nil
	}
	return t
}
