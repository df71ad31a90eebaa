// Package runtime runs a worker's tasks for real: it is the tasks.Body that membership hands
// each replica to. An active replica restores its tables from the task group's changelog
// (libs/tables), consumes its partition of the group's source and repartition topics
// (libs/topics), runs the app's agents on every record (libs/agents/pipeline), and commits
// on a cadence: outputs flushed, then one changelog batch with the input positions, then the
// consumer group's offsets for Kafka's lag tools. A standby or warm-up replica follows the
// changelog and reports its lag. Apps are loaded from the versions the controller stores in
// etcd; a new version is taken up at the next commit, at recorded input positions.
package runtime
