// Package server implements weir.v1.ControllerService: it validates and plans apps, stores
// their versions in etcd through libs/cluster, provisions their topics through libs/topics,
// and rewinds, wipes and deletes apps. Reads are answered by any controller; writes only by
// the leader, fenced in etcd by its leadership key (see Leadership).
package server
