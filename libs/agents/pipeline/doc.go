// Package pipeline runs a Weir app's agents on records: the HCL pipeline executor and the
// runner of Go handlers, over the small interfaces of package agents.
//
// Compile turns an app into a Plan once: every expression compiled (package expr), every
// topic's codecs built, every agent split into stages. A stage is a run of steps that
// starts at a topic: the agent's sources, or the internal repartition topic a group_by
// (or a key_by before per-key state) sends its records through. The step that repartitions
// ends its stage by emitting the re-keyed record to that topic, keyed so that the
// producer's murmur2 partitioner (topics.KeyPartition) lands it on the task owning the
// key; the next stage consumes it there. Records on repartition topics are JSON envelopes
// {"k": key, "v": value, "l": lookups} (see envelope).
//
// A Task runs the stages of one partition. Process handles one input record: for every
// stage reading its topic (in agent name order) it decodes the record, runs the steps and
// then applies the record's table writes and emitted records together, so that a failed
// attempt leaves nothing behind and a retry starts clean. Failures follow the agent's
// on_error policy: retries with exponential backoff (through an injectable sleeper), then
// stop (Process returns the error), skip, or dead_letter. A record that cannot be decoded
// is not retried. Panics in steps and handlers become errors.
//
// Aggregates: count, sum, min, max, avg, last and collect_set into partitioned tables
// (table encoding in package agents). Null values are skipped by sum, min, max, avg and
// collect_set.
//
// Windowed tables are reached through agents.Windows (TaskConfig.Windows; the runtime
// registers Plan.WindowedTables with their merge functions). Every record a task decodes
// first advances the task's stream time to its event time (Windows.Observe), and the
// windows that closes are emitted to their tables' on_close topics (value: the final
// aggregate; key: the table key; timestamp: the window start; HeaderIdentity the close's
// content identity, plus the window headers). An aggregate into a windowed table is
// deferred to the end of its attempt, then applied once (WindowTable.Update); the steps
// after it run then, once per window updated (hopping: several), with value the window's
// new aggregate and the window headers on what they emit, each as an attempt of its own
// under the agent's policy. A record whose windows are all closed is dropped from the
// aggregate and counted (TaskMetrics.LateRecords). Task.Tick closes windows of an idle
// task by wall clock.
//
// Timers: Plan.Timers gives their schedules (Timer.Next) and Timers.Fire runs one firing,
// its emissions identified by (task, timer, scheduled time).
package pipeline
