// Package plan computes what applying an app does: the topics to create or align in Kafka
// (declared topics, one compacted changelog per task group with the commit protocol's
// settings, repartition topics, global-table changelogs and the app's dead-letter topic), the
// models, topics, tables, agents and timers added, changed or removed since the current
// version, and the changes that break stored state. It does no I/O: the caller reads the
// current version from etcd and the existing topics from Kafka.
package plan
