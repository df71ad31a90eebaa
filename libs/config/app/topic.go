package app

import (
	"encoding/json"
	"maps"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/weirhq/weir/libs/topics"
)

// Codec names a topic's key or value encoding: "bytes", "string", "json" or a model.
type Codec struct {
	Name  string // "bytes", "string", "json" or "model"
	Model string // the model's name when Name is "model"
	Range hcl.Range
}

// String returns the codec as libs/topics.CodecByName names it: "json", "model:PageView".
func (c Codec) String() string {
	if c.Name == "model" {
		return "model:" + c.Model
	}
	return c.Name
}

// MarshalText writes the codec's String.
func (c Codec) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// Topic is a Kafka topic the app reads or writes.
type Topic struct {
	Name             string            `json:"name"`  // the block label, used in references
	Kafka            string            `json:"kafka"` // the topic's name in Kafka
	Description      string            `json:"description,omitempty"`
	Partitions       int               `json:"partitions"`
	Replication      int               `json:"replication"`
	Key              Codec             `json:"key"`
	Value            Codec             `json:"value"`
	Timestamp        Expr              `json:"timestamp,omitzero"` // unset: the record's own timestamp
	Cleanup          string            `json:"cleanup"`
	Retention        Retention         `json:"retention"`
	MinCompactionLag Duration          `json:"min_compaction_lag"`
	MaxMessageBytes  int               `json:"max_message_bytes"`
	Configs          map[string]string `json:"configs,omitempty"`
	DeclRange        hcl.Range         `json:"-"`

	ranges ranges
}

// Spec returns what libs/topics needs to create the topic, with the app's defaults applied.
func (t *Topic) Spec() topics.TopicSpec {
	return topics.TopicSpec{
		Name:             t.Kafka,
		Partitions:       t.Partitions,
		Replication:      t.Replication,
		Cleanup:          t.Cleanup,
		Retention:        Duration(t.Retention).Std(),
		MinCompactionLag: t.MinCompactionLag.Std(),
		MaxMessageBytes:  t.MaxMessageBytes,
		Configs:          maps.Clone(t.Configs),
	}
}

// Reserved topic name prefixes: Kafka's own topics and Weir's internal ones.
const (
	kafkaInternalPrefix = "__"
	weirInternalPrefix  = "weir."
)

func reservedTopicName(name string) bool {
	return strings.HasPrefix(name, kafkaInternalPrefix) || strings.HasPrefix(name, weirInternalPrefix)
}

// Retention is how long a topic keeps records: 0 is the broker's default and a negative
// value is forever.
type Retention Duration

// MarshalJSON writes "default", "forever" or the duration.
func (r Retention) MarshalJSON() ([]byte, error) {
	switch {
	case r == 0:
		return json.Marshal("default")
	case r < 0:
		return json.Marshal("forever")
	}
	return json.Marshal(Duration(r).String())
}
