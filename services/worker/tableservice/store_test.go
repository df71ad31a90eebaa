package tableservice_test

import (
	"encoding/binary"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/weirhq/weir/libs/tables"
)

// storeFiller writes committed table data into a Pebble directory with the Store's
// documented key layout (docs/state.md: t/<changelog topic>/<partition BE32><table>\x00<key>),
// as a restore would have left it, so that the tests read a real tables.Store.
type storeFiller struct {
	t  *testing.T
	db *pebble.DB
}

func newFiller(t *testing.T, dir string) *storeFiller {
	t.Helper()
	db, err := pebble.Open(dir, &pebble.Options{FormatMajorVersion: pebble.FormatNewest})
	if err != nil {
		t.Fatal(err)
	}
	return &storeFiller{t: t, db: db}
}

func dataKey(topic string, p int32, table string, key []byte) []byte {
	k := append([]byte("t/"+topic+"/"), binary.BigEndian.AppendUint32(nil, uint32(p))...)
	k = append(k, table...)
	k = append(k, 0)
	return append(k, key...)
}

func (f *storeFiller) put(topic string, p int32, table string, key, value []byte) {
	f.t.Helper()
	if err := f.db.Set(dataKey(topic, p, table, key), value, pebble.NoSync); err != nil {
		f.t.Fatal(err)
	}
}

// window stores one window of key; its stored value is the end (8 bytes, sign bit
// flipped, big-endian) and the aggregate.
func (f *storeFiller) window(topic string, p int32, table string, key []byte, start, end int64, agg string) {
	v := binary.BigEndian.AppendUint64(nil, uint64(end)^(1<<63))
	f.put(topic, p, table, tables.EncodeWindowKey(key, start), append(v, agg...))
}

// streamTime stores a task's stream time (table weir.windows, key "s": 01 + flipped time).
func (f *storeFiller) streamTime(topic string, p int32, ms int64) {
	v := append([]byte{1}, binary.BigEndian.AppendUint64(nil, uint64(ms)^(1<<63))...)
	f.put(topic, p, tables.WindowsTable, []byte("s"), v)
}

// open closes the filler's database and opens it as a tables.Store.
func (f *storeFiller) open(dir string) *tables.Store {
	f.t.Helper()
	if err := f.db.Close(); err != nil {
		f.t.Fatal(err)
	}
	s, err := tables.Open(dir, tables.Options{CacheBytes: 4 << 20, MemtableBytes: 2 << 20, Logger: quiet})
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { _ = s.Close() })
	return s
}
