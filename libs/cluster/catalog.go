package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// TableRoute says where a table's data lives, as the worker's TableService and the web
// service's router both need it: which task group holds it (one task per partition), which
// changelog topic names its Pebble namespace, and how keys are placed (the producer's
// murmur2 over the encoded key, modulo Partitions). A global table has no group: every
// worker keeps all of it.
type TableRoute struct {
	App        string
	Table      string
	Group      string // "" for a global table
	Changelog  string // the group's changelog; "" for a global table (fed from its source topic)
	Partitions int    // the group's partition count (0 for a global table)
	Global     bool
	KeyType    string // "string", "number", "bool", "json", "model.X", ...
	ValueType  string
	Window     *TableWindow // nil unless windowed
}

// TableWindow describes a windowed table's windows (durations as the app writes them).
type TableWindow struct {
	Kind    string `json:"kind"`
	Size    string `json:"size,omitempty"`
	Step    string `json:"step,omitempty"`
	Gap     string `json:"gap,omitempty"`
	Grace   string `json:"grace,omitempty"`
	Expires string `json:"expires,omitempty"`
}

// String describes the window in one line: "tumbling size=1m grace=10s expires=1h".
func (w TableWindow) String() string {
	parts := []string{w.Kind}
	for _, kv := range [][2]string{{"size", w.Size}, {"step", w.Step}, {"gap", w.Gap}, {"grace", w.Grace}, {"expires", w.Expires}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+"="+kv[1])
		}
	}
	return strings.Join(parts, " ")
}

// Catalog is the table routes of one app version, by table name.
type Catalog struct {
	App     string
	Version int64
	Tables  map[string]TableRoute
}

// ErrNoTable is returned by Catalog.Route for a table the app does not declare.
var ErrNoTable = errors.New("no such table")

// Route returns the route of a table.
func (c Catalog) Route(table string) (TableRoute, error) {
	r, ok := c.Tables[table]
	if !ok {
		return TableRoute{}, fmt.Errorf("app %q (version %d): table %q: %w", c.App, c.Version, table, ErrNoTable)
	}
	return r, nil
}

// normalizedApp is the part of an app's normalized JSON (libs/config/app NormalizedJSON)
// that routing needs.
type normalizedApp struct {
	Name   string `json:"name"`
	Tables []struct {
		Name   string       `json:"name"`
		Key    string       `json:"key"`
		Value  string       `json:"value"`
		Global bool         `json:"global"`
		Window *TableWindow `json:"window"`
	} `json:"tables"`
	TaskGroups []struct {
		Name       string   `json:"name"`
		Partitions int      `json:"partitions"`
		Tables     []string `json:"tables"`
		Changelog  string   `json:"changelog"`
	} `json:"task_groups"`
	InternalTopics []struct {
		Name string `json:"name"`
	} `json:"internal_topics"`
}

// DecodeCatalog builds the table routes from an app's normalized JSON. A partitioned table
// that no task group holds (only a Go handler uses it) gets no route.
func DecodeCatalog(normalized []byte, version int64) (Catalog, error) {
	var n normalizedApp
	if err := json.Unmarshal(normalized, &n); err != nil {
		return Catalog{}, fmt.Errorf("decoding the normalized app: %w", err)
	}
	if n.Name == "" {
		return Catalog{}, errors.New("decoding the normalized app: no app name")
	}
	c := Catalog{App: n.Name, Version: version, Tables: map[string]TableRoute{}}
	groupOf := map[string]int{}
	for i, g := range n.TaskGroups {
		for _, t := range g.Tables {
			groupOf[t] = i
		}
	}
	for _, t := range n.Tables {
		r := TableRoute{App: n.Name, Table: t.Name, Global: t.Global, KeyType: t.Key, ValueType: t.Value, Window: t.Window}
		if t.Global {
			c.Tables[t.Name] = r
			continue
		}
		i, ok := groupOf[t.Name]
		if !ok {
			continue
		}
		g := n.TaskGroups[i]
		r.Group, r.Changelog, r.Partitions = g.Name, g.Changelog, g.Partitions
		c.Tables[t.Name] = r
	}
	return c, nil
}

// Catalog returns the table routes of this version.
func (v AppVersion) Catalog() (Catalog, error) {
	c, err := DecodeCatalog(v.Normalized, v.Version)
	if err != nil {
		return Catalog{}, fmt.Errorf("version %d of app %q: %w", v.Version, v.App, err)
	}
	return c, nil
}
