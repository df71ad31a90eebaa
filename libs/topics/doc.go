// Package topics is Weir's Kafka I/O layer, shared by the controller, the workers and the web
// service. It is built on github.com/segmentio/kafka-go and provides:
//
//   - topic specs and an Admin that ensures topics exist as declared (never silently changing
//     an existing topic's partition count), plus memberless offset commits and lag;
//   - codecs: bytes, string, json and typed records validated against declared fields;
//   - a Producer with acks=all, compression, short batching, Java-compatible murmur2 key
//     placement, explicit partitions, async sends with surfaced errors, Flush, and AppendBatch,
//     which writes a list of records to one partition as a single record batch;
//   - a Consumer that fetches an explicit, changeable set of (topic, partition, offset)
//     assignments with one fetch request per broker, without Kafka's group protocol.
package topics
