package app

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Guarantees an app can ask for; see docs/language.md.
const (
	GuaranteeExactState  = "exact_state"
	GuaranteeAtLeastOnce = "at_least_once"
)

// Defaults applied to an app block's optional attributes.
const (
	DefaultPartitions     = 1
	DefaultCommitInterval = Duration(100 * 1e6) // 100ms
	// DefaultDedupHorizon: how far back (in the identities' own time: window end, timer
	// scheduled time) a consuming task remembers the window closes and timer firings it
	// consumed (agents.DefaultDedupHorizon).
	DefaultDedupHorizon = Duration(3600 * 1e9) // 1h
)

// App is a parsed and validated app definition. Its slices are sorted by name; the steps
// of a pipeline keep the order they are written in.
type App struct {
	Name            string      `json:"name"`
	Description     string      `json:"description,omitempty"`
	Guarantee       string      `json:"guarantee"`
	StandbyReplicas int         `json:"standby_replicas"`
	CommitInterval  Duration    `json:"commit_interval"`
	DedupHorizon    Duration    `json:"dedup_horizon"`
	Partitions      int         `json:"partitions"`  // default partitions of the app's topics
	Replication     int         `json:"replication"` // default replication; 0 is the broker's default
	Variables       []*Variable `json:"variables,omitempty"`
	Locals          []*Local    `json:"locals,omitempty"`
	Models          []*Model    `json:"models,omitempty"`
	Topics          []*Topic    `json:"topics,omitempty"`
	Tables          []*Table    `json:"tables,omitempty"`
	Agents          []*Agent    `json:"agents,omitempty"`
	Timers          []*Timer    `json:"timers,omitempty"`
	DeclRange       hcl.Range   `json:"-"`

	opts   Options
	vars   map[string]cty.Value
	locals map[string]cty.Value
	groups []TaskGroup
}

// Variable is an input variable: a "variable" block and the value it resolved to.
type Variable struct {
	Name        string    `json:"name"`
	Type        string    `json:"type"`
	Description string    `json:"description,omitempty"`
	Value       any       `json:"value"`
	DeclRange   hcl.Range `json:"-"`
}

// Local is a named value from a locals block.
type Local struct {
	Name      string    `json:"name"`
	Value     any       `json:"value"`
	DeclRange hcl.Range `json:"-"`
}

// Model returns the model called name, or nil.
func (a *App) Model(name string) *Model {
	return find(a.Models, name, func(m *Model) string { return m.Name })
}

// Topic returns the topic declared as name (its block label), or nil.
func (a *App) Topic(name string) *Topic {
	return find(a.Topics, name, func(t *Topic) string { return t.Name })
}

// Table returns the table called name, or nil.
func (a *App) Table(name string) *Table {
	return find(a.Tables, name, func(t *Table) string { return t.Name })
}

// Agent returns the agent called name, or nil.
func (a *App) Agent(name string) *Agent {
	return find(a.Agents, name, func(g *Agent) string { return g.Name })
}

// Handlers returns the names of the Go handlers the app's agents and timers use, sorted
// and without repeats. When Options.Handlers was empty they were not checked.
func (a *App) Handlers() []string {
	set := map[string]bool{}
	for _, g := range a.Agents {
		if g.Handler != "" {
			set[g.Handler] = true
		}
	}
	for _, t := range a.Timers {
		if t.Handler != "" {
			set[t.Handler] = true
		}
	}
	return sortedKeys(set)
}

// EvalContext returns the context pipeline expressions are evaluated in, without the
// per-record variables: var, local and the functions. Callers add value, key and the rest
// in a child context.
func (a *App) EvalContext() *hcl.EvalContext {
	return &hcl.EvalContext{
		Variables: map[string]cty.Value{
			"var":   cty.ObjectVal(a.vars),
			"local": cty.ObjectVal(a.locals),
		},
		Functions: Functions(),
	}
}

func find[T any](items []*T, name string, key func(*T) string) *T {
	for _, it := range items {
		if key(it) == name {
			return it
		}
	}
	return nil
}
