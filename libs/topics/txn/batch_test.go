package txn

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/segmentio/kafka-go/protocol"
)

// TestEncodeBatchDecodes: kafka-go's own decoder reads the hand-encoded batch back with the
// producer id, epoch, base sequence, transactional flag, keys, values and tombstones intact.
// kafka-go does not check the CRC on decode; the broker does (integration/txn_test.go).
func TestEncodeBatchDecodes(t *testing.T) {
	recs := []Record{
		{Key: []byte("a"), Value: []byte("1")},
		{Key: []byte("b"), Value: nil},
		{Key: nil, Value: []byte{}},
	}
	now := time.UnixMilli(1_700_000_000_123)
	b, err := encodeBatch(batchHeader{producerID: 4242, producerEpoch: 7, baseSequence: 19, transactional: true}, recs, now)
	if err != nil {
		t.Fatal(err)
	}
	var rs protocol.RecordSet
	if _, err := rs.ReadFrom(bytes.NewReader(b)); err != nil {
		t.Fatalf("decoding: %v", err)
	}
	stream, ok := rs.Records.(*protocol.RecordStream)
	if !ok || len(stream.Records) != 1 {
		t.Fatalf("records = %T %+v, want one batch", rs.Records, rs.Records)
	}
	batch, ok := stream.Records[0].(*protocol.RecordBatch)
	if !ok {
		t.Fatalf("batch is %T", stream.Records[0])
	}
	if batch.ProducerID != 4242 || batch.ProducerEpoch != 7 || batch.BaseSequence != 19 || !batch.Attributes.Transactional() {
		t.Fatalf("header = pid %d epoch %d seq %d attrs %v", batch.ProducerID, batch.ProducerEpoch, batch.BaseSequence, batch.Attributes)
	}
	for i := 0; ; i++ {
		r, err := batch.ReadRecord()
		if errors.Is(err, io.EOF) {
			if i != len(recs) {
				t.Fatalf("decoded %d records, want %d", i, len(recs))
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		k, _ := readBytes(r.Key)
		v, _ := readBytes(r.Value)
		if r.Offset != int64(i) || !bytes.Equal(k, recs[i].Key) || (k == nil) != (recs[i].Key == nil) ||
			!bytes.Equal(v, recs[i].Value) || (v == nil) != (recs[i].Value == nil) || !r.Time.Equal(now) {
			t.Errorf("record %d = offset %d key %q value %q time %v, want %q %q", i, r.Offset, k, v, r.Time, recs[i].Key, recs[i].Value)
		}
	}
}

func TestEncodeBatchRejectsEmpty(t *testing.T) {
	if _, err := encodeBatch(batchHeader{}, nil, time.Now()); err == nil {
		t.Fatal("empty batch encoded without error")
	}
}
