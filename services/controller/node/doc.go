// Package node runs one controller process: it loads the service configuration, connects to
// etcd and Kafka, serves weir.v1.ControllerService on the libs/service server, registers the
// controller in etcd under a lease, campaigns for leadership (services/controller/leader) and
// tracks who leads. Ready means: etcd answers and a leader is known (this controller or
// another).
package node
