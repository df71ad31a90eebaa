// Package agents is the contract between Weir's agent runtime and the code agents run:
// the records they see, the tables and topics they touch, and Go handlers.
//
// An agent is either an HCL pipeline (compiled by package pipeline, with expressions
// compiled by package expr) or a Go handler registered in a Handlers registry. Both run
// per record of one task (a partition of a task group) and reach the outside world only
// through small interfaces defined here: Tables, the task's tables; Windows, the task's
// event-time clock and windowed tables; and Emitter, the producer of output records. The
// worker runtime implements them over Pebble and Kafka (libs/tables); package testkit
// implements them in memory.
//
// # Encodings shared with libs/tables and the web service
//
// Table keys are the bytes EncodeKey makes of a key value: strings as their UTF-8 bytes,
// numbers in decimal notation (strconv 'f', -1: "42", "2.5"), bools as "true"/"false",
// bytes as they are, lists and objects as JSON. Table values are JSON documents: counts and
// sums are JSON numbers, min/max/last whatever JSON value was folded, collect_set a JSON
// array in first-seen order, model values JSON objects. Keys starting with byte 0x00 are
// Weir's own entries (the running count of an avg aggregate lives under
// 0x00 "avg" 0x00 KEY) and are not part of the table's data.
//
// # Headers of emitted records
//
// Every record Weir emits for an input record carries the dedup headers of docs/GUIDE §2:
// HeaderTask, HeaderSource, HeaderOffset and HeaderSeq. A downstream Weir task drops a
// record whose (task, source, offset, seq) is at or below what it has consumed (Dedup).
// Emissions without an input offset, window closes and timer firings, carry HeaderTask,
// HeaderIdentity (their content identity: ClosedWindow.Identity, TimerIdentity) and
// HeaderSeq instead; Dedup drops their replays by identity, within a horizon, when the task
// tracks identities (Dedup.TrackIdentities). Window closes and
// records emitted after a windowed aggregate carry HeaderWindowStart and HeaderWindowEnd.
// Dead letters carry HeaderError, HeaderSourceTopic, HeaderSourcePartition,
// HeaderSourceOffset and HeaderAgent too.
package agents
