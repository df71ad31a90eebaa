package app

import "github.com/hashicorp/hcl/v2"

// Step kinds of a pipeline.
const (
	StepFilter    = "filter"
	StepMap       = "map"
	StepSet       = "set"
	StepFlatMap   = "flat_map"
	StepGroupBy   = "group_by"
	StepKeyBy     = "key_by"
	StepAggregate = "aggregate"
	StepLookup    = "lookup"
	StepEmit      = "emit"
)

// Aggregate functions.
var aggregateFuncs = []string{"count", "sum", "min", "max", "avg", "last", "collect_set"}

// What an agent does when a record fails, after its retries.
const (
	ThenStop       = "stop"
	ThenDeadLetter = "dead_letter"
	ThenSkip       = "skip"
)

// Agent consumes one or more topics with either a pipeline of steps or a Go handler.
type Agent struct {
	Name        string       `json:"name"`
	Description string       `json:"description,omitempty"`
	From        []Ref        `json:"from"`
	Handler     string       `json:"handler,omitempty"`
	Steps       []*Step      `json:"steps,omitempty"`
	OnError     *ErrorPolicy `json:"on_error"`
	DeclRange   hcl.Range    `json:"-"`

	ranges ranges
}

// Step is one step of a pipeline. Which fields are set depends on Kind.
type Step struct {
	Kind  string `json:"kind"`
	Label string `json:"label,omitempty"` // set: the field; aggregate: the function; lookup: the name
	When  Expr   `json:"when,omitzero"`
	Key   Expr   `json:"key,omitzero"`
	Value Expr   `json:"value,omitzero"`
	Into  Ref    `json:"into,omitzero"`  // aggregate
	Table Ref    `json:"table,omitzero"` // lookup
	To    Ref    `json:"to,omitzero"`    // emit
	// Repartition is the internal topic a group_by (or a key_by followed by a stateful
	// step) sends records through, so that each key lands on the task that owns it.
	Repartition string    `json:"repartition,omitempty"`
	DeclRange   hcl.Range `json:"-"`

	ranges ranges
}

// ErrorPolicy says what an agent does with a record that fails: retry it with exponential
// backoff, then stop the task, skip the record or send it to a dead-letter topic.
type ErrorPolicy struct {
	Retries    int       `json:"retries"`
	Backoff    Duration  `json:"backoff"`
	MaxBackoff Duration  `json:"max_backoff"`
	Then       string    `json:"then"`
	DeadLetter Ref       `json:"dead_letter,omitzero"`
	DeclRange  hcl.Range `json:"-"`

	ranges ranges
}

// Defaults of an on_error block.
const (
	DefaultBackoff    = Duration(100 * 1e6) // 100ms
	DefaultMaxBackoff = Duration(10 * 1e9)  // 10s
)

// Timer runs a handler or a pipeline on a schedule.
type Timer struct {
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Every       Duration  `json:"every,omitzero"`
	Cron        string    `json:"cron,omitempty"`
	RunOn       string    `json:"run_on"`
	Handler     string    `json:"handler,omitempty"`
	Steps       []*Step   `json:"steps,omitempty"`
	DeclRange   hcl.Range `json:"-"`

	ranges ranges
}

// Where a timer runs.
const (
	RunOnOneWorker   = "one_worker"
	RunOnEveryWorker = "every_worker"
)
