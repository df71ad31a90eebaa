package assign

import (
	"errors"
	"fmt"
)

// validate reports every problem with the input at once.
func (in Input) validate() error {
	var errs []error
	if in.Standbys < 0 {
		errs = append(errs, fmt.Errorf("standby count %d is negative", in.Standbys))
	}
	workers := make(map[string]bool, len(in.Workers))
	for _, w := range in.Workers {
		switch {
		case w.ID == "":
			errs = append(errs, errors.New("a worker has an empty id"))
		case workers[w.ID]:
			errs = append(errs, fmt.Errorf("worker %q is listed twice", w.ID))
		}
		if w.Capacity < 0 {
			errs = append(errs, fmt.Errorf("worker %q has negative capacity %d", w.ID, w.Capacity))
		}
		workers[w.ID] = true
	}
	tasks := make(map[TaskID]bool, len(in.Tasks))
	for _, t := range in.Tasks {
		if tasks[t.ID] {
			errs = append(errs, fmt.Errorf("task %s is listed twice", t.ID))
		}
		if t.ID.Partition < 0 {
			errs = append(errs, fmt.Errorf("task %s has a negative partition", t.ID))
		}
		tasks[t.ID] = true
	}
	prev := make(map[TaskID]bool, len(in.Previous))
	for _, a := range in.Previous {
		if prev[a.Task] {
			errs = append(errs, fmt.Errorf("previous assignment lists task %s twice", a.Task))
		}
		prev[a.Task] = true
	}
	return errors.Join(errs...)
}
