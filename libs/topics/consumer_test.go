package topics

import (
	"fmt"
	"testing"
	"time"

	"github.com/segmentio/kafka-go/protocol"
)

// TestDecodeRecordsChunks checks that a large fetched record set is delivered as chunks of
// at most chunkRecords, in order, each chunk's next being where the following one starts,
// with the records before the fetch offset skipped.
func TestDecodeRecordsChunks(t *testing.T) {
	const n, from = 2*chunkRecords + 1000, 5
	recs := make([]protocol.Record, n)
	for i := range recs {
		recs[i] = protocol.Record{Offset: int64(i), Time: time.UnixMilli(int64(i)), Key: protocol.NewBytes([]byte(fmt.Sprint("k", i))),
			Value: protocol.NewBytes([]byte(fmt.Sprint("v", i))), Headers: []protocol.Header{{Key: "h", Value: []byte{byte(i)}}}}
	}
	chunks, next, err := decodeRecords(TopicPartition{"t", 3}, protocol.NewRecordReader(recs...), from)
	if err != nil {
		t.Fatal(err)
	}
	if next != n {
		t.Errorf("next = %d, want %d", next, n)
	}
	if len(chunks) != 3 {
		t.Fatalf("%d chunks, want 3", len(chunks))
	}
	want := int64(from)
	for ci, ch := range chunks {
		if len(ch.recs) > chunkRecords || len(ch.recs) == 0 {
			t.Errorf("chunk %d holds %d records", ci, len(ch.recs))
		}
		for _, r := range ch.recs {
			if r.Offset != want || string(r.Key) != fmt.Sprint("k", want) || string(r.Value) != fmt.Sprint("v", want) ||
				r.Topic != "t" || r.Partition != 3 || len(r.Headers) != 1 || r.Headers[0].Value[0] != byte(want) {
				t.Fatalf("chunk %d: record %+v, want offset %d", ci, r, want)
			}
			want++
		}
		if ch.next != want {
			t.Errorf("chunk %d: next %d, want %d", ci, ch.next, want)
		}
	}
	if want != n {
		t.Errorf("decoded up to %d, want %d", want, n)
	}

	// Nothing at or after the fetch offset: no chunk, next unchanged.
	chunks, next, err = decodeRecords(TopicPartition{"t", 3}, protocol.NewRecordReader(recs[:3]...), from)
	if err != nil || len(chunks) != 0 || next != from {
		t.Errorf("records before the offset only: %d chunks, next %d, err %v; want none, %d, nil", len(chunks), next, err, from)
	}
}
