// Package cluster is the one definition of Weir's etcd layout: key builders, record types and
// the helpers that read and write them. The controller, workers and the web service all go
// through it; services never import each other.
//
// In place: worker membership records, per-task assignment records with a per-worker index,
// and a Publisher that writes assignment changes in transactions of at most MaxTxnOps
// operations, optionally fenced by the controller's leadership key. Apps, versions, controller
// election, status and handoff records arrive with later issues (see docs/etcd-layout.md).
//
// All records are JSON. Keys are built from escaped path segments (url.PathEscape), so an id may
// hold any character, '/' included.
package cluster
