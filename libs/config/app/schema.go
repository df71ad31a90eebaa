package app

import (
	"slices"

	"github.com/hashicorp/hcl/v2"
)

// The schema of the language: one hcl.BodySchema per block type. Block type names are
// unique across the language (a step block means the same in an agent and in a timer), so
// blockSchemas maps each type to its body. Reference checks the documentation against it.

var fileSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
	{Type: "app", LabelNames: []string{"name"}},
	{Type: "variable", LabelNames: []string{"name"}},
	{Type: "locals"},
	{Type: "model", LabelNames: []string{"name"}},
	{Type: "topic", LabelNames: []string{"name"}},
	{Type: "table", LabelNames: []string{"name"}},
	{Type: "agent", LabelNames: []string{"name"}},
	{Type: "timer", LabelNames: []string{"name"}},
}}

var appSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "description"},
	{Name: "guarantee"},
	{Name: "standby_replicas"},
	{Name: "commit_interval"},
	{Name: "dedup_horizon"},
	{Name: "partitions"},
	{Name: "replication"},
}}

var variableSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "type"},
	{Name: "default"},
	{Name: "description"},
}}

var modelSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "description"},
		{Name: "allow_extra"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "field", LabelNames: []string{"name"}}},
}

var fieldSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "type", Required: true},
		{Name: "required"},
		{Name: "default"},
		{Name: "elem"},
		{Name: "description"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "field", LabelNames: []string{"name"}}},
}

var topicSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "description"},
	{Name: "name"},
	{Name: "partitions"},
	{Name: "replication"},
	{Name: "key"},
	{Name: "value"},
	{Name: "timestamp"},
	{Name: "cleanup"},
	{Name: "retention"},
	{Name: "min_compaction_lag"},
	{Name: "max_message_bytes"},
	{Name: "configs"},
}}

var tableSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "description"},
		{Name: "key"},
		{Name: "value"},
		{Name: "default"},
		{Name: "partitions"},
		{Name: "global"},
		{Name: "source"},
		{Name: "on_close"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "window", LabelNames: []string{"kind"}}},
}

var windowSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "size"},
	{Name: "step"},
	{Name: "gap"},
	{Name: "grace"},
	{Name: "expires"},
}}

// stepBlocks are the pipeline steps, in the order the reference lists them.
var stepBlocks = []hcl.BlockHeaderSchema{
	{Type: "filter"},
	{Type: "map"},
	{Type: "set", LabelNames: []string{"field"}},
	{Type: "flat_map"},
	{Type: "group_by"},
	{Type: "key_by"},
	{Type: "aggregate", LabelNames: []string{"function"}},
	{Type: "lookup", LabelNames: []string{"name"}},
	{Type: "emit"},
}

var agentSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "description"},
		{Name: "from", Required: true},
		{Name: "handler"},
	},
	Blocks: append([]hcl.BlockHeaderSchema{{Type: "on_error"}}, stepBlocks...),
}

var onErrorSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "retries"},
	{Name: "backoff"},
	{Name: "max_backoff"},
	{Name: "then"},
	{Name: "dead_letter"},
}}

var timerSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "description"},
		{Name: "every"},
		{Name: "cron"},
		{Name: "run_on"},
		{Name: "handler"},
	},
	Blocks: stepBlocks,
}

var (
	filterSchema    = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "when", Required: true}}}
	mapSchema       = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "key"}, {Name: "value"}}}
	setSchema       = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "value", Required: true}}}
	flatMapSchema   = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "value", Required: true}}}
	groupBySchema   = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "key", Required: true}}}
	keyBySchema     = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "key", Required: true}}}
	aggregateSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "into", Required: true}, {Name: "value"}}}
	lookupSchema    = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "table", Required: true}, {Name: "key"}}}
	emitSchema      = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "to", Required: true}, {Name: "key"}, {Name: "value"}}}
)

// blockSchemas is the body schema of every block type; locals has none (any attributes).
var blockSchemas = map[string]*hcl.BodySchema{
	"app":       appSchema,
	"variable":  variableSchema,
	"locals":    nil,
	"model":     modelSchema,
	"field":     fieldSchema,
	"topic":     topicSchema,
	"table":     tableSchema,
	"window":    windowSchema,
	"agent":     agentSchema,
	"on_error":  onErrorSchema,
	"timer":     timerSchema,
	"filter":    filterSchema,
	"map":       mapSchema,
	"set":       setSchema,
	"flat_map":  flatMapSchema,
	"group_by":  groupBySchema,
	"key_by":    keyBySchema,
	"aggregate": aggregateSchema,
	"lookup":    lookupSchema,
	"emit":      emitSchema,
}

// BlockDoc names one block type of the language and the attributes and nested block
// types its body accepts.
type BlockDoc struct {
	Type       string
	Labels     []string
	Attributes []string
	Blocks     []string
}

// Reference walks the schema from the top of a file and returns every block type once, in
// the order first reached. The documentation test holds docs/language.md to it.
func Reference() []BlockDoc {
	var out []BlockDoc
	seen := map[string]bool{}
	var walk func(s *hcl.BodySchema)
	walk = func(s *hcl.BodySchema) {
		if s == nil {
			return
		}
		for _, b := range s.Blocks {
			if seen[b.Type] {
				continue
			}
			seen[b.Type] = true
			body := blockSchemas[b.Type]
			doc := BlockDoc{Type: b.Type, Labels: slices.Clone(b.LabelNames)}
			if body != nil {
				for _, a := range body.Attributes {
					doc.Attributes = append(doc.Attributes, a.Name)
				}
				for _, c := range body.Blocks {
					doc.Blocks = append(doc.Blocks, c.Type)
				}
			}
			out = append(out, doc)
			walk(body)
		}
	}
	walk(fileSchema)
	return out
}
