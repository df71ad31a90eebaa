package plan

import (
	"encoding/json"
	"fmt"
)

// definition is the part of an app's normalized JSON the planner reads.
type definition struct {
	Name           string            `json:"name"`
	Models         []json.RawMessage `json:"models"`
	Topics         []json.RawMessage `json:"topics"`
	Tables         []json.RawMessage `json:"tables"`
	Agents         []json.RawMessage `json:"agents"`
	Timers         []json.RawMessage `json:"timers"`
	TaskGroups     []group           `json:"task_groups"`
	InternalTopics []struct {
		Name string `json:"name"`
	} `json:"internal_topics"`

	top    map[string]json.RawMessage
	tables map[string]table
	agents map[string]agent
	models map[string]model
	topics map[string]topicDef
}

type group struct {
	Name       string   `json:"name"`
	Partitions int      `json:"partitions"`
	Agents     []string `json:"agents"`
	Tables     []string `json:"tables"`
	Changelog  string   `json:"changelog"`
}

type table struct {
	Name       string          `json:"name"`
	Key        string          `json:"key"`
	Value      string          `json:"value"`
	Global     bool            `json:"global"`
	Partitions int             `json:"partitions"`
	Source     string          `json:"source"`
	Window     json.RawMessage `json:"window"`
}

type window struct {
	Kind string `json:"kind"`
	Size string `json:"size"`
	Step string `json:"step"`
	Gap  string `json:"gap"`
}

type step struct {
	Kind  string `json:"kind"`
	Label string `json:"label"`
	Key   string `json:"key"`
	Value string `json:"value"`
	Into  string `json:"into"`
}

type agent struct {
	Name  string   `json:"name"`
	From  []string `json:"from"`
	Steps []step   `json:"steps"`
}

type field struct {
	Name     string  `json:"name"`
	Type     string  `json:"type"`
	Model    string  `json:"model"`
	Required bool    `json:"required"`
	Default  any     `json:"default"`
	Fields   []field `json:"fields"`
	Elem     *field  `json:"elem"`
}

type model struct {
	Name   string  `json:"name"`
	Fields []field `json:"fields"`
}

type topicDef struct {
	Name       string `json:"name"`
	Kafka      string `json:"kafka"`
	Partitions int    `json:"partitions"`
}

// parse decodes a normalized JSON definition; nil or empty input is no definition.
func parse(normalized []byte) (*definition, error) {
	if len(normalized) == 0 {
		return nil, nil
	}
	d := &definition{}
	if err := json.Unmarshal(normalized, d); err != nil {
		return nil, fmt.Errorf("decoding normalized app: %w", err)
	}
	if err := json.Unmarshal(normalized, &d.top); err != nil {
		return nil, fmt.Errorf("decoding normalized app: %w", err)
	}
	d.tables = map[string]table{}
	d.agents = map[string]agent{}
	d.models = map[string]model{}
	d.topics = map[string]topicDef{}
	for _, raw := range d.Tables {
		var t table
		if err := json.Unmarshal(raw, &t); err != nil {
			return nil, fmt.Errorf("decoding table: %w", err)
		}
		d.tables[t.Name] = t
	}
	for _, raw := range d.Agents {
		var a agent
		if err := json.Unmarshal(raw, &a); err != nil {
			return nil, fmt.Errorf("decoding agent: %w", err)
		}
		d.agents[a.Name] = a
	}
	for _, raw := range d.Models {
		var m model
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("decoding model: %w", err)
		}
		d.models[m.Name] = m
	}
	for _, raw := range d.Topics {
		var t topicDef
		if err := json.Unmarshal(raw, &t); err != nil {
			return nil, fmt.Errorf("decoding topic: %w", err)
		}
		d.topics[t.Name] = t
	}
	return d, nil
}

// groupOf returns the task group holding a table, if any.
func (d *definition) groupOf(tableName string) (group, bool) {
	for _, g := range d.TaskGroups {
		for _, t := range g.Tables {
			if t == tableName {
				return g, true
			}
		}
	}
	return group{}, false
}

// kafkaTopics lists the Kafka names of every topic the definition uses.
func (d *definition) kafkaTopics() map[string]bool {
	out := map[string]bool{DeadLetterTopic(d.Name): true}
	for _, t := range d.topics {
		out[t.Kafka] = true
	}
	for _, t := range d.InternalTopics {
		out[t.Name] = true
	}
	return out
}
