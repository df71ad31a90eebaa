package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	weirv1 "github.com/weirhq/weir/gen/weir/v1"
)

// Actions of an ObjectChange.
const (
	ActionAdd    = "add"
	ActionChange = "change"
	ActionRemove = "remove"
)

// appSettings are the top-level attributes of the app block and its variables.
var appSettings = []string{"description", "guarantee", "standby_replicas", "commit_interval", "partitions", "replication", "variables", "locals"}

// objectKinds are the named objects diffed one by one, in the order the plan lists them.
var objectKinds = []struct{ kind, key string }{
	{"model", "models"}, {"topic", "topics"}, {"table", "tables"}, {"agent", "agents"}, {"timer", "timers"},
}

// changes lists what differs between old (nil for a new app) and next.
func changes(old, next *definition) ([]*weirv1.ObjectChange, error) {
	var out []*weirv1.ObjectChange
	if old == nil {
		old = &definition{top: map[string]json.RawMessage{}}
	}
	var details []string
	for _, k := range appSettings {
		a, b, err := decodePair(old.top[k], next.top[k])
		if err != nil {
			return nil, err
		}
		if len(old.top) > 0 && !reflect.DeepEqual(a, b) {
			details = append(details, fmt.Sprintf("%s: %s → %s", k, short(a), short(b)))
		}
	}
	if len(details) > 0 {
		out = append(out, &weirv1.ObjectChange{Kind: "app", Name: next.Name, Action: ActionChange, Details: details})
	}
	for _, k := range objectKinds {
		before, err := byName(old.top[k.key])
		if err != nil {
			return nil, fmt.Errorf("decoding old %s: %w", k.key, err)
		}
		after, err := byName(next.top[k.key])
		if err != nil {
			return nil, fmt.Errorf("decoding new %s: %w", k.key, err)
		}
		names := slices.Sorted(maps.Keys(union(before, after)))
		for _, name := range names {
			a, inOld := before[name]
			b, inNew := after[name]
			switch {
			case !inOld:
				out = append(out, &weirv1.ObjectChange{Kind: k.kind, Name: name, Action: ActionAdd})
			case !inNew:
				out = append(out, &weirv1.ObjectChange{Kind: k.kind, Name: name, Action: ActionRemove})
			default:
				if d := fieldChanges(a, b); len(d) > 0 {
					out = append(out, &weirv1.ObjectChange{Kind: k.kind, Name: name, Action: ActionChange, Details: d})
				}
			}
		}
	}
	return out, nil
}

func decodePair(a, b json.RawMessage) (any, any, error) {
	var x, y any
	if len(a) > 0 {
		if err := json.Unmarshal(a, &x); err != nil {
			return nil, nil, fmt.Errorf("decoding normalized app: %w", err)
		}
	}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &y); err != nil {
			return nil, nil, fmt.Errorf("decoding normalized app: %w", err)
		}
	}
	return x, y, nil
}

// byName decodes a JSON array of objects with a "name" into a map by name.
func byName(raw json.RawMessage) (map[string]map[string]any, error) {
	out := map[string]map[string]any{}
	if len(raw) == 0 {
		return out, nil
	}
	var items []map[string]any
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, err
	}
	for _, it := range items {
		name, _ := it["name"].(string)
		out[name] = it
	}
	return out, nil
}

func union[V any](a, b map[string]V) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// fieldChanges lists the attributes that differ between two versions of one object.
func fieldChanges(a, b map[string]any) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(union(a, b))) {
		if reflect.DeepEqual(a[k], b[k]) {
			continue
		}
		_, inA := a[k]
		_, inB := b[k]
		switch {
		case !inA:
			out = append(out, fmt.Sprintf("%s: set to %s", k, short(b[k])))
		case !inB:
			out = append(out, fmt.Sprintf("%s: unset (was %s)", k, short(a[k])))
		default:
			out = append(out, fmt.Sprintf("%s: %s → %s", k, short(a[k]), short(b[k])))
		}
	}
	return out
}

// short renders a JSON value compactly, cut at 80 characters.
func short(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	s := strings.TrimSuffix(b.String(), "\n")
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}
