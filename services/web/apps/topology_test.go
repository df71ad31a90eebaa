package apps

import (
	"slices"
	"testing"
)

func TestDecodeTopology(t *testing.T) {
	topo, err := DecodeTopology([]byte(`{
	  "topics": [{"name": "payments", "kafka": "payments"}, {"name": "flagged", "kafka": "flagged"}, {"name": "limits", "kafka": "limits"}],
	  "tables": [{"name": "spend", "global": false, "window": {"kind": "hopping", "size": "1d"}},
	             {"name": "account_limits", "global": true, "source": "topic.limits"}],
	  "agents": [{"name": "flag", "from": ["topic.payments"], "steps": [
	               {"kind": "lookup", "label": "limit", "table": "table.account_limits"},
	               {"kind": "emit", "to": "topic.flagged"}]},
	             {"name": "track", "from": ["topic.payments"], "steps": [{"kind": "aggregate", "label": "sum", "into": "table.spend"}]},
	             {"name": "score", "from": ["topic.flagged"], "handler": "score_payment"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var edges []string
	for _, e := range topo.Edges {
		edges = append(edges, e.From+" -"+e.Label+"-> "+e.To)
	}
	for _, want := range []string{
		"topic:payments -reads-> agent:flag", "table:account_limits -lookup-> agent:flag", "agent:flag -emits-> topic:flagged",
		"agent:track -sum-> table:spend", "topic:limits -feeds-> table:account_limits", "topic:flagged -reads-> agent:score",
	} {
		if !slices.Contains(edges, want) {
			t.Errorf("edge %q missing from %q", want, edges)
		}
	}
	if len(topo.Nodes) != 8 {
		t.Errorf("%d nodes, want 8: %+v", len(topo.Nodes), topo.Nodes)
	}
	if _, err := DecodeTopology([]byte(`{`)); err == nil {
		t.Error("bad JSON decoded")
	}
}
