// Package cluster is the one definition of Weir's etcd layout: key builders, record types and
// the helpers that read and write them. The controller, workers and the web service all go
// through it; services never import each other.
//
// In place: worker membership and status records, app topologies, per-task assignment records
// with a per-worker index, released records of two-phase handoffs (WriteReleased), a Publisher
// that writes assignment changes in transactions of at most MaxTxnOps operations fenced by the
// controller's leadership, and Follow, the list-then-watch helper that resumes from its revision
// and re-lists after compaction. App versions and the epoch floor arrive with the controller
// issue (see docs/etcd-layout.md).
//
// All records are JSON. Keys are built from escaped path segments (url.PathEscape), so an id may
// hold any character, '/' included.
package cluster
