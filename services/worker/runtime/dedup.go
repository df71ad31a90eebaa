package runtime

import (
	"fmt"

	"github.com/weirhq/weir/libs/agents"
	"github.com/weirhq/weir/libs/agents/pipeline"
	"github.com/weirhq/weir/libs/config/app"
	"github.com/weirhq/weir/libs/tables"
)

// dedupTable is the internal table, in the changelog of every task of an exact_state app,
// remembering the content identities (window closes, timer firings) the task consumed
// within the app's dedup horizon (see agents.Dedup.TrackIdentities): its entries commit
// atomically with the task's input positions. Its name cannot clash with an app's tables:
// HCL names have no dots.
const dedupTable = "weir.dedup"

// newDedup returns the task's filter of replayed Weir-emitted inputs, from the marks of its
// last commit and its dedupTable; nil (nothing dropped, no marks) when the app asks for
// at_least_once.
func newDedup(p *pipeline.Plan, task *tables.Task) (*agents.Dedup, error) {
	if p.App().Guarantee == app.GuaranteeAtLeastOnce {
		return nil, nil
	}
	d := agents.NewDedup(task.Dedup())
	tb, err := task.Table(dedupTable)
	if err != nil {
		return nil, fmt.Errorf("opening the dedup table: %w", err)
	}
	d.TrackIdentities(taskTable{tb}, p.App().DedupHorizon.Std())
	return d, nil
}
