package tables

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"regexp"
)

// Key layout in the Store's Pebble database (see docs/state.md):
//
//	t/<changelog topic>/<partition BE32><table>\x00<user key>   table data
//	m/<changelog topic>/<partition BE32>                         partition metadata
//
// A Kafka topic name holds only [a-zA-Z0-9._-], so '/' ends it unambiguously; the partition
// is a fixed 4-byte big-endian number, so all of a partition's data is one contiguous range
// (dropped with one DeleteRange) and partitions sort numerically. Table names use the same
// character set as topics, so the \x00 after the table name ends it unambiguously and user
// keys may hold any bytes. Within a table, keys sort bytewise.
//
// In the changelog, a data record's key is `<table>\x00<user key>` (the same suffix), and
// the commit marker uses MarkerKey, which starts with \x00 and so never collides with a table.

const (
	dataSpace = 't'
	metaSpace = 'm'
	// MaxTableName is the longest table name accepted.
	MaxTableName = 200
)

// MarkerKey is the changelog key of every commit marker: constant per partition, so log
// compaction keeps exactly the latest marker.
var MarkerKey = []byte("\x00weir.marker")

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9._-]+$`)

func validTopic(topic string) error {
	if topic == "" || len(topic) > 249 || !nameRE.MatchString(topic) {
		return fmt.Errorf("changelog topic %q is not a valid Kafka topic name ([a-zA-Z0-9._-], 1 to 249 characters)", topic)
	}
	return nil
}

func validPartition(p int32) error {
	if p < 0 {
		return fmt.Errorf("partition %d is negative", p)
	}
	return nil
}

// ValidTableName reports whether name can name a table.
func ValidTableName(name string) error {
	if name == "" || len(name) > MaxTableName || !nameRE.MatchString(name) {
		return fmt.Errorf("table name %q is not valid: use 1 to %d of [a-zA-Z0-9._-]", name, MaxTableName)
	}
	return nil
}

func spaceKey(space byte, topic string, partition int32, extra int) []byte {
	k := make([]byte, 0, 2+len(topic)+1+4+extra)
	k = append(k, space, '/')
	k = append(k, topic...)
	k = append(k, '/')
	return binary.BigEndian.AppendUint32(k, uint32(partition))
}

// partitionPrefix is the prefix of every data key of one changelog partition.
func partitionPrefix(topic string, partition int32) []byte {
	return spaceKey(dataSpace, topic, partition, 0)
}

// metaKey is the key of a partition's metadata.
func metaKey(topic string, partition int32) []byte {
	return spaceKey(metaSpace, topic, partition, 0)
}

// changelogKey is `<table>\x00<user key>`.
func changelogKey(table string, key []byte) []byte {
	k := make([]byte, 0, len(table)+1+len(key))
	k = append(k, table...)
	k = append(k, 0)
	return append(k, key...)
}

// dataKey is the Pebble key of a changelog key in a partition.
func dataKey(prefix, clKey []byte) []byte {
	k := make([]byte, 0, len(prefix)+len(clKey))
	k = append(k, prefix...)
	return append(k, clKey...)
}

// splitChangelogKey splits `<table>\x00<user key>`.
func splitChangelogKey(k []byte) (table string, key []byte, err error) {
	i := bytes.IndexByte(k, 0)
	if i <= 0 {
		return "", nil, errors.New("changelog key has no table prefix")
	}
	if err := ValidTableName(string(k[:i])); err != nil {
		return "", nil, err
	}
	return string(k[:i]), k[i+1:], nil
}

// successor is the smallest key greater than every key with the given prefix (nil when
// there is none: the prefix is all 0xff).
func successor(prefix []byte) []byte {
	end := bytes.Clone(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}
