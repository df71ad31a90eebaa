package app

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/weirhq/weir/libs/topics"
)

var codecNames = []string{"bytes", "string", "json"}

func decodeTopic(b block, a *App) *Topic {
	d := b.d
	name := d.label(b.Block, 0)
	content, r := d.content(b.Body, topicSchema)
	attrs := content.Attributes
	t := &Topic{
		Name: name, Kafka: name, DeclRange: b.DefRange, ranges: r,
		Partitions: a.Partitions, Replication: a.Replication,
		Key:     Codec{Name: "string", Range: b.DefRange},
		Value:   Codec{Name: "json", Range: b.DefRange},
		Cleanup: topics.CleanupDelete,
	}
	if at := attrs["description"]; at != nil {
		t.Description, _ = d.str(at)
	}
	if at := attrs["name"]; at != nil {
		if s, ok := d.str(at); ok {
			t.Kafka = s
		}
	}
	if at := attrs["partitions"]; at != nil {
		n, ok := d.integer(at, 1, maxPartitions)
		if !ok {
			n = 0 // unknown: kept out of the task group check
		}
		t.Partitions = n
	}
	if at := attrs["replication"]; at != nil {
		t.Replication, _ = d.integer(at, 0, maxReplication)
	}
	if at := attrs["key"]; at != nil {
		t.Key = d.codec(at)
	}
	if at := attrs["value"]; at != nil {
		t.Value = d.codec(at)
	}
	if at := attrs["timestamp"]; at != nil {
		t.Timestamp = d.expr(at)
	}
	if at := attrs["cleanup"]; at != nil {
		t.Cleanup, _ = d.oneOf(at, topics.CleanupDelete, topics.CleanupCompact, topics.CleanupCompactDelete)
	}
	if at := attrs["retention"]; at != nil {
		t.Retention = d.retention(at)
	}
	if at := attrs["min_compaction_lag"]; at != nil {
		if dur, ok := d.duration(at); ok {
			if dur < 0 {
				d.add(errorAt(at.Expr.Range().Ptr(), "Invalid duration", "min_compaction_lag may not be negative, got %s.", dur))
			} else {
				t.MinCompactionLag = dur
			}
		}
	}
	if at := attrs["max_message_bytes"]; at != nil {
		t.MaxMessageBytes, _ = d.integer(at, 1, 1<<31-1)
	}
	if at := attrs["configs"]; at != nil {
		t.Configs, _ = d.stringMap(at)
	}
	if name == "" {
		return nil
	}
	return t
}

// codec decodes a key or value codec: bytes, string, json or model.NAME.
func (d *decoder) codec(at *hcl.Attribute) Codec {
	t, ok := d.typeName(at, true, codecNames...)
	if !ok {
		return Codec{}
	}
	return Codec{Name: t.Name, Model: t.Model, Range: t.Range}
}

// retention decodes a duration or "forever" (kept as a negative duration).
func (d *decoder) retention(at *hcl.Attribute) Retention {
	if v, diags := at.Expr.Value(d.ctx); !diags.HasErrors() && v.IsKnown() && !v.IsNull() &&
		v.Type().Equals(ctyString) && v.AsString() == "forever" {
		return -1
	}
	dur, ok := d.duration(at)
	if !ok {
		return 0
	}
	if dur <= 0 {
		d.add(errorAt(at.Expr.Range().Ptr(), "Invalid duration",
			"retention must be positive, or \"forever\"; got %s.", dur))
		return 0
	}
	return Retention(dur)
}
