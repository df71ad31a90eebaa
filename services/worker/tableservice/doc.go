// Package tableservice is the worker side of table queries: weir.v1.TableService (Get, Scan,
// GetWindows over the committed state in the worker's Pebble store) and weir.v1.WorkerService
// (GetStats, the live figures the web service aggregates).
//
// The worker runtime wires it up:
//
//	ts, err := tableservice.New(tableservice.Config{
//		Worker: id, Store: store, Owns: owns, Stats: stats,
//		Etcd: etcdClient, Layout: layout, Token: token, Logger: log,
//	})
//	ts.Mount(srv)                                  // before srv.Run
//	ts.PutApp(catalog)                             // per app version it runs (cluster.AppVersion.Catalog)
//	unregister := ts.RegisterGlobal(app, table, g) // per *tables.Global it keeps
//
// Owns says what the worker holds of a task right now; it is called on every read, from
// any goroutine, and must be cheap. It reports ok for an active only once the task's state
// is readable (after tables.Task.Start returned) and for a standby once it follows the
// changelog. An active serves every read; a standby or warm-up only reads that accept
// staleness (allow_stale), with its lag in the answer. Any other read is FAILED_PRECONDITION
// with a weirv1.NotOwner detail naming the active owner from the task's assignment in etcd,
// which the web service uses to retry at the new owner during a handoff.
//
// Keys arrive as the table's key type (a JSON value) and are encoded with
// agents.EncodeKey, so the partition is topics.KeyPartition(encoded, partitions), as the
// producer and the repartitioning placed them. Values are JSON documents (libs/agents) and
// come back as JSON; bytes that are not JSON come back raw.
package tableservice
