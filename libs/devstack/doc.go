// Package devstack runs the development and test stack's servers from Go: a real etcd server
// (etcd's embed package, the same code as the etcd binary) and readiness probes for Kafka and
// etcd. It is used by deployments/local scripts (through the weir-dev tool), the integration
// harness and the demo; production deployments run etcd and Kafka as their own services.
package devstack
