package apps

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Node is a topic, agent or table of an app.
type Node struct {
	ID, Kind, Name, Detail string
}

// Edge is a flow between two nodes.
type Edge struct {
	From, To, Label string
}

// Topology is an app's flow graph: topics → agents → tables → topics.
type Topology struct {
	Nodes []Node
	Edges []Edge
}

type normalized struct {
	Topics []struct {
		Name  string `json:"name"`
		Kafka string `json:"kafka"`
	} `json:"topics"`
	Tables []struct {
		Name    string `json:"name"`
		Global  bool   `json:"global"`
		Source  string `json:"source"`
		OnClose string `json:"on_close"`
		Window  *struct {
			Kind string `json:"kind"`
			Size string `json:"size"`
			Gap  string `json:"gap"`
		} `json:"window"`
	} `json:"tables"`
	Agents []struct {
		Name    string   `json:"name"`
		From    []string `json:"from"`
		Handler string   `json:"handler"`
		Steps   []struct {
			Kind  string `json:"kind"`
			Label string `json:"label"`
			Into  string `json:"into"`
			Table string `json:"table"`
			To    string `json:"to"`
		} `json:"steps"`
	} `json:"agents"`
}

// ref turns "topic.x" into the node id "topic:x".
func ref(r string) string {
	kind, name, ok := strings.Cut(r, ".")
	if !ok {
		return r
	}
	return kind + ":" + name
}

// DecodeTopology builds the flow graph of an app from its normalized JSON.
func DecodeTopology(doc []byte) (Topology, error) {
	var n normalized
	if err := json.Unmarshal(doc, &n); err != nil {
		return Topology{}, fmt.Errorf("decoding the app's topology: %w", err)
	}
	var t Topology
	for _, tp := range n.Topics {
		detail := ""
		if tp.Kafka != "" && tp.Kafka != tp.Name {
			detail = "kafka " + tp.Kafka
		}
		t.Nodes = append(t.Nodes, Node{ID: "topic:" + tp.Name, Kind: "topic", Name: tp.Name, Detail: detail})
	}
	for _, tb := range n.Tables {
		var detail []string
		if tb.Global {
			detail = append(detail, "global")
		}
		if w := tb.Window; w != nil {
			detail = append(detail, strings.TrimSpace(w.Kind+" "+w.Size+w.Gap))
		}
		t.Nodes = append(t.Nodes, Node{ID: "table:" + tb.Name, Kind: "table", Name: tb.Name, Detail: strings.Join(detail, ", ")})
		if tb.Source != "" {
			t.Edges = append(t.Edges, Edge{From: ref(tb.Source), To: "table:" + tb.Name, Label: "feeds"})
		}
		if tb.OnClose != "" {
			t.Edges = append(t.Edges, Edge{From: "table:" + tb.Name, To: ref(tb.OnClose), Label: "on close"})
		}
	}
	for _, a := range n.Agents {
		id := "agent:" + a.Name
		detail := ""
		if a.Handler != "" {
			detail = "handler " + a.Handler
		}
		t.Nodes = append(t.Nodes, Node{ID: id, Kind: "agent", Name: a.Name, Detail: detail})
		for _, f := range a.From {
			t.Edges = append(t.Edges, Edge{From: ref(f), To: id, Label: "reads"})
		}
		for _, s := range a.Steps {
			switch {
			case s.Kind == "aggregate" && s.Into != "":
				t.Edges = append(t.Edges, Edge{From: id, To: ref(s.Into), Label: s.Label})
			case s.Kind == "lookup" && s.Table != "":
				t.Edges = append(t.Edges, Edge{From: ref(s.Table), To: id, Label: "lookup"})
			case s.Kind == "emit" && s.To != "":
				t.Edges = append(t.Edges, Edge{From: id, To: ref(s.To), Label: "emits"})
			}
		}
	}
	sort.SliceStable(t.Edges, func(i, j int) bool {
		if t.Edges[i].From != t.Edges[j].From {
			return t.Edges[i].From < t.Edges[j].From
		}
		return t.Edges[i].To < t.Edges[j].To
	})
	return t, nil
}
