package app

import "github.com/hashicorp/hcl/v2"

// Window kinds.
const (
	WindowTumbling = "tumbling"
	WindowHopping  = "hopping"
	WindowSession  = "session"
)

// Type is the type of a table's key or value: a field type keyword ("string", "number",
// "bool", "timestamp", "list", "map", "object"), "bytes", "json", or a model.
type Type struct {
	Name  string // the keyword, or "model"
	Model string // the model's name when Name is "model"
	Range hcl.Range
}

// String returns the type as written: "number", "model.Balance".
func (t Type) String() string {
	if t.Name == "model" {
		return "model." + t.Model
	}
	return t.Name
}

// MarshalText writes the type's String.
func (t Type) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// Table is a key-value table kept in Pebble and in a changelog topic.
type Table struct {
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Key         Type      `json:"key"`
	Value       Type      `json:"value"`
	Default     any       `json:"default,omitempty"`
	Partitions  int       `json:"partitions,omitempty"` // 0: its task group's count
	Global      bool      `json:"global"`
	Source      Ref       `json:"source,omitzero"` // a global table's feeding topic
	Window      *Window   `json:"window,omitempty"`
	OnClose     Ref       `json:"on_close,omitzero"` // a topic receiving each window's final value
	DeclRange   hcl.Range `json:"-"`

	ranges ranges
}

// Window makes a table windowed: each key holds one value per window.
type Window struct {
	Kind      string    `json:"kind"`
	Size      Duration  `json:"size,omitzero"`
	Step      Duration  `json:"step,omitzero"`
	Gap       Duration  `json:"gap,omitzero"`
	Grace     Duration  `json:"grace"`
	Expires   Duration  `json:"expires"`
	DeclRange hcl.Range `json:"-"`

	ranges ranges
	failed map[string]bool // parameters that did not decode
}
