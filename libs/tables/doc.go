// Package tables is Weir's state layer: Pebble-backed tables for stream-processing tasks,
// made exact without broker transactions by using each task's changelog partition as its
// write-ahead log.
//
// A worker opens one Store (one Pebble database) for its data dir. A Task is one changelog
// topic-partition owned by one active writer at an epoch: OpenTask restores the partition from
// the changelog (from the local applied offset when present), refuses to start when the log
// already holds its epoch or a newer one, and appends a fence marker. Agents then read and
// write named tables through Task.Table; reads see the task's own uncommitted writes. Commit
// appends the net changes since the last commit plus a marker (epoch, incarnation, input
// positions, dedup marks) to the changelog as ONE record batch, then applies the same changes
// to Pebble in one batch. A Standby follows a changelog partition continuously by the same
// rules and reports its lag.
//
// The protocol, its crash points, compaction and zombie handling are described in
// docs/state.md.
package tables
