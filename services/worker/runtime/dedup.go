package runtime

import (
	"github.com/weirhq/weir/libs/agents"
	"github.com/weirhq/weir/libs/agents/pipeline"
	"github.com/weirhq/weir/libs/config/app"
	"github.com/weirhq/weir/libs/tables"
)

// newDedup returns the task's filter of replayed Weir-emitted inputs, from the marks of its
// last commit; nil (nothing dropped, no marks) when the app asks for at_least_once.
func newDedup(p *pipeline.Plan, task *tables.Task) *agents.Dedup {
	if p.App().Guarantee == app.GuaranteeAtLeastOnce {
		return nil
	}
	return agents.NewDedup(task.Dedup())
}
