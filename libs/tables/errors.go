package tables

import "errors"

var (
	// ErrValueTooLarge means one record cannot fit in a changelog batch (the topic's
	// max.message.bytes); the value must go to a dead-letter topic instead.
	ErrValueTooLarge = errors.New("value too large for one changelog batch")
	// ErrBatchTooLarge means the pending changes no longer fit in one changelog batch: the
	// caller should have committed earlier (see Task.PendingBytes).
	ErrBatchTooLarge = errors.New("pending changes exceed the changelog batch limit")
	// ErrStaleEpoch means the changelog already holds the task's epoch or a newer one: the
	// assignment is stale, or etcd lost its data (raise the epoch floor with `controller reset`).
	ErrStaleEpoch = errors.New("changelog already holds this epoch or a newer one")
	// ErrFenced means another writer with the same or a newer epoch appended to the task's
	// changelog: this task is no longer the owner and must stop.
	ErrFenced = errors.New("task is fenced by another writer")
	// ErrNotWeir means the changelog holds records without Weir's epoch headers.
	ErrNotWeir = errors.New("changelog record was not written by Weir")
	// ErrTaskFailed wraps the error that stopped a task; every later call returns it.
	ErrTaskFailed = errors.New("task failed")
	// ErrClosed is returned by a closed task.
	ErrClosed = errors.New("task is closed")
)
