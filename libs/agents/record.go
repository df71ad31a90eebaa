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
	// HeaderSeq numbers the records emitted for one input record (or one content
	// identity), from 0, in decimal.
	HeaderSeq = "weir-seq"
	// HeaderIdentity is the content identity of an emission that has no input offset: a
	// window close (ClosedWindow.Identity) or a timer firing (TimerIdentity). Such records
	// carry HeaderTask, HeaderIdentity and HeaderSeq instead of HeaderSource and
	// HeaderOffset; a consumer drops a repeated (task, identity, seq).
	HeaderIdentity = "weir-identity"
)

// Window headers: the window a record is about, in ms since the Unix epoch, in decimal
// (end exclusive). Set on window closes and on records emitted after an aggregate into a
// windowed table.
const (
	HeaderWindowStart = "weir-window-start"
	HeaderWindowEnd   = "weir-window-end"
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
	case HeaderTask, HeaderSource, HeaderOffset, HeaderSeq, HeaderIdentity, HeaderWindowStart, HeaderWindowEnd,
		HeaderError, HeaderSourceTopic, HeaderSourcePartition, HeaderSourceOffset, HeaderAgent:
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

// IdentityHeaders returns the dedup headers of the seq-th record task emitted for a
// content identity (a window close or a timer firing).
func IdentityHeaders(task, identity string, seq int) []topics.Header {
	return []topics.Header{
		{Key: HeaderTask, Value: []byte(task)},
		{Key: HeaderIdentity, Value: []byte(identity)},
		{Key: HeaderSeq, Value: strconv.AppendInt(nil, int64(seq), 10)},
	}
}

// WindowHeaders returns the window headers of a window [start, end) ms.
func WindowHeaders(start, end int64) []topics.Header {
	return []topics.Header{
		{Key: HeaderWindowStart, Value: strconv.AppendInt(nil, start, 10)},
		{Key: HeaderWindowEnd, Value: strconv.AppendInt(nil, end, 10)},
	}
}
