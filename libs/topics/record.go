package topics

import (
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
)

// Header is a record header.
type Header = kafka.Header

// Record is one Kafka record, as produced or as consumed.
type Record struct {
	Topic string
	// Partition is where the record was read from. When producing it is used only if
	// PinPartition is set; otherwise the partition comes from the key (murmur2, as Java's
	// default partitioner), or round robin for a nil key.
	Partition    int32
	PinPartition bool
	Key, Value   []byte
	Headers      []Header
	// Time is the record timestamp; when producing, zero lets the producer set the current time.
	Time time.Time

	// Set on consumed records only.
	Offset int64
	// BatchOffset is the base offset of the record batch the record arrived in: records that
	// share it were appended together (see Producer.AppendBatch).
	BatchOffset int64
}

// Header returns the value of the last header named key, and whether there was one.
func (r *Record) Header(key string) ([]byte, bool) {
	for i := len(r.Headers) - 1; i >= 0; i-- {
		if r.Headers[i].Key == key {
			return r.Headers[i].Value, true
		}
	}
	return nil, false
}

// TopicPartition names one partition of a topic.
type TopicPartition struct {
	Topic     string
	Partition int32
}

func (tp TopicPartition) String() string { return fmt.Sprintf("%s/%d", tp.Topic, tp.Partition) }
