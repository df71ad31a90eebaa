package agents

import (
	"strconv"
	"time"

	"github.com/weirhq/weir/libs/topics"
)

// Record is one input record of a task, as consumed.
type Record struct {
	Topic     string // the topic's name in Kafka
	Partition int32
	Offset    int64
	Key       []byte
	Value     []byte
	Headers   []topics.Header
	// Timestamp is the Kafka record's timestamp; agents see the event time the topic's
	// timestamp expression gives, when it has one.
	Timestamp time.Time
}

// Header returns the value of the last header called name.
func (r *Record) Header(name string) ([]byte, bool) {
	for i := len(r.Headers) - 1; i >= 0; i-- {
		if r.Headers[i].Key == name {
			return r.Headers[i].Value, true
		}
	}
	return nil, false
}

// Message is one record an agent emits.
type Message struct {
	Topic     string // the topic's name in Kafka
	Key       []byte
	Value     []byte
	Headers   []topics.Header
	Timestamp time.Time
}

// Dedup headers, carried by every emitted record (GUIDE §2).
const (
	// HeaderTask is the producing task: "APP/GROUP/PARTITION".
	HeaderTask = "weir-task"
	// HeaderSource is the input topic-partition the record derives from: "TOPIC/PARTITION".
	HeaderSource = "weir-source"
	// HeaderOffset is the input record's offset, in decimal.
	HeaderOffset = "weir-offset"
	// HeaderSeq numbers the records emitted for one input record, from 0, in decimal.
	HeaderSeq = "weir-seq"
)

// Dead-letter headers, added to a failed record sent to an agent's dead-letter topic.
const (
	HeaderError           = "weir-error"            // the error, as text
	HeaderSourceTopic     = "weir-source-topic"     // the failed record's topic
	HeaderSourcePartition = "weir-source-partition" // its partition, in decimal
	HeaderSourceOffset    = "weir-source-offset"    // its offset, in decimal
	HeaderAgent           = "weir-agent"            // the agent that failed on it
)

// IsWeirHeader reports whether name is one of the headers Weir sets itself; they are not
// propagated from an input record to its outputs.
func IsWeirHeader(name string) bool {
	switch name {
	case HeaderTask, HeaderSource, HeaderOffset, HeaderSeq, HeaderError, HeaderSourceTopic,
		HeaderSourcePartition, HeaderSourceOffset, HeaderAgent:
		return true
	}
	return false
}

// DedupHeaders returns the dedup headers of the seq-th record emitted by task for the
// input record in.
func DedupHeaders(task string, in *Record, seq int) []topics.Header {
	return []topics.Header{
		{Key: HeaderTask, Value: []byte(task)},
		{Key: HeaderSource, Value: []byte(in.Topic + "/" + strconv.Itoa(int(in.Partition)))},
		{Key: HeaderOffset, Value: strconv.AppendInt(nil, in.Offset, 10)},
		{Key: HeaderSeq, Value: strconv.AppendInt(nil, int64(seq), 10)},
	}
}
