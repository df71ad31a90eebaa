// Package testkit runs a Weir app's agents in-process, without Kafka, etcd or Pebble,
// like Kafka Streams' TopologyTestDriver: records go in on the app's topics and come out
// of the topics its agents emit to.
//
// A Driver keeps every topic partition as an in-memory log, tables in memory per
// partition (global tables whole), and one pipeline.Task per task group and partition,
// with in-memory windows (libs/tables' semantics: stream time per task, grace, late drops,
// closes, expiry, session merges, wall-clock advance). A record sent in
// is placed on its partition by its key's murmur2 hash (topics.KeyPartition, as the
// producer does; a null key goes to partition 0) and processed at once, together with
// everything it causes: records emitted to topics that agents read (repartition topics
// included) are processed in emission order before Send returns, and records on a global
// table's source topic update the table.
//
// Outputs are the records emitted to the app's own topics (internal weir.* topics
// excluded), ordered by topic name (in Kafka), then partition, then emission order. The
// JSON lines format of inputs and outputs is
//
//	{"topic": "sentences", "key": "k1", "value": "the cat", "timestamp": "2024-05-01T10:00:00Z"}
//
// where topic is the topic's name in the app or in Kafka, key and value are JSON values
// encoded with the topic's codecs (a string for string and bytes codecs), and timestamp
// (RFC 3339, optional) is the record's timestamp; outputs carry the event time of the
// record they derive from, and no timestamp when it is unset. Two more kinds of input line:
//
//	{"timer": "report", "at": "2026-01-01T10:05:00Z"}   fire a timer for that scheduled time
//	{"tick": "2026-01-01T12:00:00Z"}                    a wall-clock tick of every task
//
// A tick closes the windows of tasks idle for the idle time (WithIdleAfter, default one
// minute), as a worker's ticks do; idleness starts at the first tick after a task's last
// record, so closing takes two ticks.
package testkit
