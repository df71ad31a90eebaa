package app

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// NormalizedJSON returns the app's canonical JSON form: deterministic (sorted names, the
// steps of a pipeline in order), with defaults applied, variables resolved and pipeline
// expressions as their formatted source text, together with the derived task groups and
// internal topics. Two definitions that mean the same thing give the same bytes, so the
// controller stores it and diffs versions.
func (a *App) NormalizedJSON() ([]byte, error) {
	type internalTopic struct {
		Name        string            `json:"name"`
		Partitions  int               `json:"partitions"`
		Replication int               `json:"replication"`
		Cleanup     string            `json:"cleanup"`
		Configs     map[string]string `json:"configs,omitempty"`
	}
	var internal []internalTopic
	for _, s := range a.InternalTopics() {
		internal = append(internal, internalTopic{s.Name, s.Partitions, s.Replication, s.Cleanup, s.Configs})
	}
	doc := struct {
		*App
		Handlers       []string        `json:"handlers,omitempty"`
		TaskGroups     []TaskGroup     `json:"task_groups"`
		InternalTopics []internalTopic `json:"internal_topics"`
	}{a, a.Handlers(), a.groups, internal}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encoding app %q as JSON: %w", a.Name, err)
	}
	return b.Bytes(), nil
}
