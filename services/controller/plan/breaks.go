package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	weirv1 "github.com/weirhq/weir/gen/weir/v1"
)

// stateBreaks lists the changes from old to next that invalidate stored state: a table's key
// or value type (including incompatible changes to the model of its value), its aggregate,
// its window (kind, size, step or gap), global or not, the group_by expressions that key the
// records feeding it, and the partition count of its task group.
func stateBreaks(old, next *definition) []*weirv1.StateBreak {
	if old == nil {
		return nil
	}
	var out []*weirv1.StateBreak
	add := func(object, format string, args ...any) {
		out = append(out, &weirv1.StateBreak{Object: object, Reason: fmt.Sprintf(format, args...)})
	}
	for _, name := range slices.Sorted(maps.Keys(old.tables)) {
		a := old.tables[name]
		b, ok := next.tables[name]
		if !ok {
			continue
		}
		obj := "table." + name
		if a.Key != b.Key {
			add(obj, "key type changes from %s to %s: stored keys would not decode", a.Key, b.Key)
		}
		if a.Value != b.Value {
			add(obj, "value type changes from %s to %s: stored values would not decode", a.Value, b.Value)
		} else if m, ok := strings.CutPrefix(a.Value, "model."); ok {
			if why := modelBreak(old.models[m], next.models[m]); why != "" {
				add(obj, "its value model %s changes incompatibly: %s", m, why)
			}
		}
		if a.Global != b.Global {
			add(obj, "global changes from %t to %t: the state moves between a per-task changelog and a copy of the source topic on every worker", a.Global, b.Global)
		}
		if why := windowBreak(a, b); why != "" {
			add(obj, "%s: stored windows would be misread", why)
		}
		if x, y := aggregates(old, name), aggregates(next, name); x != y {
			add(obj, "its aggregate changes from %s to %s: stored values were computed by the old one", orNone(x), orNone(y))
		}
		if x, y := groupings(old, name), groupings(next, name); x != y {
			add(obj, "the group_by feeding it changes from %s to %s: stored values are keyed the old way", orNone(x), orNone(y))
		}
		ga, okA := old.groupOf(name)
		gb, okB := next.groupOf(name)
		if okA && okB && ga.Partitions != gb.Partitions {
			add(obj, "its task group's partition count changes from %d to %d: keys would move between partitions and strand their state", ga.Partitions, gb.Partitions)
		}
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func windowBreak(a, b table) string {
	if bytes.Equal(a.Window, b.Window) {
		return ""
	}
	var wa, wb window
	_ = json.Unmarshal(a.Window, &wa) // null or absent: the zero window
	_ = json.Unmarshal(b.Window, &wb)
	switch {
	case len(a.Window) == 0 || string(a.Window) == "null":
		return "it becomes windowed"
	case len(b.Window) == 0 || string(b.Window) == "null":
		return "it stops being windowed"
	case wa.Kind != wb.Kind:
		return fmt.Sprintf("window kind changes from %s to %s", wa.Kind, wb.Kind)
	case wa.Size != wb.Size:
		return fmt.Sprintf("window size changes from %s to %s", wa.Size, wb.Size)
	case wa.Step != wb.Step:
		return fmt.Sprintf("window step changes from %s to %s", wa.Step, wb.Step)
	case wa.Gap != wb.Gap:
		return fmt.Sprintf("session gap changes from %s to %s", wa.Gap, wb.Gap)
	}
	return "" // grace or expiry: compatible
}

// aggregates describes the aggregate steps writing into a table, e.g. "sum(value.amount)".
func aggregates(d *definition, tableName string) string {
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(d.agents)) {
		for _, s := range d.agents[name].Steps {
			if s.Kind == "aggregate" && s.Into == "table."+tableName {
				parts = append(parts, fmt.Sprintf("%s(%s)", s.Label, s.Value))
			}
		}
	}
	return strings.Join(parts, ", ")
}

// groupings describes the group_by and key_by keys of the agents that aggregate into a table.
func groupings(d *definition, tableName string) string {
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(d.agents)) {
		g := d.agents[name]
		var keys []string
		feeds := false
		for _, s := range g.Steps {
			switch s.Kind {
			case "group_by", "key_by":
				keys = append(keys, fmt.Sprintf("%s(%s)", s.Kind, s.Key))
			case "aggregate":
				if s.Into == "table."+tableName {
					feeds = true
				}
			}
		}
		if feeds && len(keys) > 0 {
			parts = append(parts, strings.Join(keys, " "))
		}
	}
	return strings.Join(parts, ", ")
}

// modelBreak says why next cannot read values written with old: a field removed or retyped,
// or a new required field without a default.
func modelBreak(old, next model) string {
	return fieldsBreak("", old.Fields, next.Fields)
}

func fieldsBreak(path string, old, next []field) string {
	byName := map[string]field{}
	for _, f := range next {
		byName[f.Name] = f
	}
	for _, f := range old {
		n, ok := byName[f.Name]
		switch {
		case !ok:
			return fmt.Sprintf("field %s%s is removed", path, f.Name)
		case n.Type != f.Type || n.Model != f.Model:
			return fmt.Sprintf("field %s%s changes type from %s to %s", path, f.Name, f.Type, n.Type)
		}
		if why := fieldsBreak(path+f.Name+".", f.Fields, n.Fields); why != "" {
			return why
		}
	}
	known := map[string]bool{}
	for _, f := range old {
		known[f.Name] = true
	}
	for _, f := range next {
		if !known[f.Name] && f.Required && f.Default == nil {
			return fmt.Sprintf("new field %s%s is required and has no default", path, f.Name)
		}
	}
	return ""
}
