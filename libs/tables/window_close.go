package tables

import (
	"encoding/hex"
	"fmt"
)

// ClosedWindow is a window's final value, returned once when the stream time passes its
// end + grace. The runtime emits it to the table's on_close topic with Identity as its
// content identity (Weir consumers drop a repeat after a crash replay by it).
type ClosedWindow struct {
	Task  string // the task: its changelog topic-partition ("topic/partition")
	Table string
	Key   []byte
	Start int64 // ms
	End   int64 // ms (exclusive)
	Value []byte
}

// Identity is the close's content identity: the same window closes with the same identity
// however often a replay closes it (see CloseIdentity).
func (c ClosedWindow) Identity() string { return CloseIdentity(c.Task, c.Table, c.Key, c.Start) }

// CloseIdentity is the content identity of a window close: (task, table, key, window start),
// as "wclose/<task>/<table>/<start ms>/<hex key>". Task and table names hold no '/' beyond
// the task's "topic/partition" form, so the identity is unambiguous.
func CloseIdentity(task, table string, key []byte, start int64) string {
	return fmt.Sprintf("wclose/%s/%s/%d/%s", task, table, start, hex.EncodeToString(key))
}
