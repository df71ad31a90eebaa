package agents

// Table is one table of a task: a partition of a partitioned table, or a whole global
// table. Keys and values are bytes (see the package comment for their encoding). A Table
// is used by its task's goroutine only.
type Table interface {
	// Get returns the value under key and whether there is one.
	Get(key []byte) ([]byte, bool, error)
	// Set stores value under key.
	Set(key, value []byte) error
	// Delete removes key; deleting an absent key is not an error.
	Delete(key []byte) error
	// Scan calls fn for each entry whose key starts with prefix, in key order, until fn
	// returns an error, which Scan returns.
	Scan(prefix []byte, fn func(key, value []byte) error) error
}

// Tables gives a task its tables by name (the table block's label). libs/tables' task
// state satisfies it through a thin adapter.
type Tables interface {
	Table(name string) (Table, error)
}

// Emitter sends a task's output records. Emit may buffer; a record it accepted is sent
// before the task's next commit, and a failed send fails a later Emit or the commit, which
// stops the task. It is used by its task's goroutine only.
type Emitter interface {
	Emit(m Message) error
}

// EmitterFunc adapts a function to Emitter.
type EmitterFunc func(m Message) error

// Emit calls f(m).
func (f EmitterFunc) Emit(m Message) error { return f(m) }
