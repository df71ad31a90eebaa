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
// collect_set. Windowed tables are not implemented yet: an aggregate into one fails with
// ErrWindowsNotImplemented.
package pipeline
