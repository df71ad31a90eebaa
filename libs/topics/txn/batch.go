package txn

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"time"
)

// Record is one record of a transactional batch. A nil Value is a tombstone.
type Record struct {
	Key   []byte
	Value []byte
}

// batchHeader is what kafka-go's own record-set encoder cannot set: it always writes producer
// id -1, epoch -1 and base sequence -1, which the broker rejects in a transaction.
type batchHeader struct {
	producerID    int64
	producerEpoch int16
	baseSequence  int32
	transactional bool
}

const (
	attrTransactional = 1 << 4
	maxBatchRecords   = 1 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// encodeBatch hand-encodes one uncompressed v2 record batch (magic 2), prefixed by its int32
// size as a produce request's record set expects. Every record gets the timestamp now; the
// broker assigns offsets.
func encodeBatch(h batchHeader, recs []Record, now time.Time) ([]byte, error) {
	if len(recs) == 0 {
		return nil, errors.New("encoding record batch: no records")
	}
	if len(recs) > maxBatchRecords {
		return nil, fmt.Errorf("encoding record batch: %d records, more than %d", len(recs), maxBatchRecords)
	}
	ts := now.UnixMilli()
	var body []byte // the records
	var rec []byte
	for i, r := range recs {
		rec = rec[:0]
		rec = append(rec, 0)                     // record attributes (unused)
		rec = binary.AppendVarint(rec, 0)        // timestamp delta
		rec = binary.AppendVarint(rec, int64(i)) // offset delta
		rec = appendVarBytes(rec, r.Key)         // key
		rec = appendVarBytes(rec, r.Value)       // value
		rec = binary.AppendVarint(rec, 0)        // header count
		body = binary.AppendVarint(body, int64(len(rec)))
		body = append(body, rec...)
	}

	var attrs int16
	if h.transactional {
		attrs |= attrTransactional
	}
	// Layout after the size prefix: baseOffset(8) batchLength(4) partitionLeaderEpoch(4)
	// magic(1) crc(4) | attributes(2) lastOffsetDelta(4) baseTimestamp(8) maxTimestamp(8)
	// producerId(8) producerEpoch(2) baseSequence(4) recordCount(4) records. The CRC-32C
	// covers everything from attributes to the end.
	out := make([]byte, 0, 4+61+len(body))
	out = binary.BigEndian.AppendUint32(out, 0) // size, set below
	out = binary.BigEndian.AppendUint64(out, 0) // base offset
	out = binary.BigEndian.AppendUint32(out, 0) // batch length, set below
	out = binary.BigEndian.AppendUint32(out, 0xffffffff)
	out = append(out, 2)                        // magic
	out = binary.BigEndian.AppendUint32(out, 0) // crc, set below
	crcFrom := len(out)
	out = binary.BigEndian.AppendUint16(out, uint16(attrs))
	out = binary.BigEndian.AppendUint32(out, uint32(len(recs)-1))
	out = binary.BigEndian.AppendUint64(out, uint64(ts))
	out = binary.BigEndian.AppendUint64(out, uint64(ts))
	out = binary.BigEndian.AppendUint64(out, uint64(h.producerID))
	out = binary.BigEndian.AppendUint16(out, uint16(h.producerEpoch))
	out = binary.BigEndian.AppendUint32(out, uint32(h.baseSequence))
	out = binary.BigEndian.AppendUint32(out, uint32(len(recs)))
	out = append(out, body...)

	binary.BigEndian.PutUint32(out[0:], uint32(len(out)-4))
	binary.BigEndian.PutUint32(out[12:], uint32(len(out)-4-12)) // after baseOffset and length
	binary.BigEndian.PutUint32(out[21:], crc32.Checksum(out[crcFrom:], castagnoli))
	return out, nil
}

func appendVarBytes(b, v []byte) []byte {
	if v == nil {
		return binary.AppendVarint(b, -1)
	}
	b = binary.AppendVarint(b, int64(len(v)))
	return append(b, v...)
}
