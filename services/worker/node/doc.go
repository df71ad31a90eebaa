// Package node is a worker process: it loads the service configuration, opens the worker's
// table store, serves health, readiness and metrics, registers in etcd and runs the tasks the
// controller assigns it through the runtime. A user's own worker binary (with Go handlers
// compiled in) calls Main from its main function.
package node
