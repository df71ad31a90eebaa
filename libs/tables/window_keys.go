package tables

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// Key layout of windowed tables (see docs/state.md, "Windowed tables").
//
// A windowed table is an ordinary table of the task whose user keys are window keys:
//
//	<escaped user key> 0x00 0x01 <window start: 8 bytes, big-endian, sign bit flipped>
//
// The escape turns every 0x00 of the user key into 0x00 0xFF, so 0x00 0x01 only ever
// terminates the key: one key's windows are one contiguous range (prefix
// WindowKeyPrefix(key)), ordered by start (the flipped sign bit makes negative times sort
// first), and keys keep their bytewise order. The value is
//
//	<window end: 8 bytes, big-endian, sign bit flipped> <aggregate>
//
// so a window's end (variable for sessions) is known without the spec.
//
// The windowing bookkeeping of all windowed tables of a task lives in the reserved table
// WindowsTable (a name the app language cannot produce: app tables are identifiers, with no
// dots), whose changelog records commit atomically with the windows they describe:
//
//	s                                         stream time: 0x01, then 8 bytes (flipped BE)
//	c <close-at 8B> <table> 0x00 <window key>  open window, closes when stream time ≥ close-at
//	x <expire-at 8B> <table> 0x00 <window key> closed window, deleted when stream time ≥ expire-at

// WindowsTable is the reserved table holding the stream time and the close and expiry
// indexes of a task's windowed tables.
const WindowsTable = "weir.windows"

const (
	streamTimeKey    = "s"
	closeIndexByte   = 'c'
	expiryIndexByte  = 'x'
	streamTimeFormat = 1
)

var windowKeyEnd = []byte{0, 1}

func flipTime(ms int64) uint64 { return uint64(ms) ^ (1 << 63) }

func unflipTime(u uint64) int64 { return int64(u ^ (1 << 63)) }

// WindowKeyPrefix is the prefix of every window key of a user key.
func WindowKeyPrefix(key []byte) []byte {
	out := make([]byte, 0, len(key)+2+8)
	for _, c := range key {
		out = append(out, c)
		if c == 0 {
			out = append(out, 0xff)
		}
	}
	return append(out, windowKeyEnd...)
}

// EncodeWindowKey is the table key of a user key's window starting at start (ms).
func EncodeWindowKey(key []byte, start int64) []byte {
	return binary.BigEndian.AppendUint64(WindowKeyPrefix(key), flipTime(start))
}

// DecodeWindowKey splits a window key into the user key and the window start.
func DecodeWindowKey(wk []byte) (key []byte, start int64, err error) {
	if len(wk) < 10 || !bytes.Equal(wk[len(wk)-10:len(wk)-8], windowKeyEnd) {
		return nil, 0, fmt.Errorf("decoding window key %q: not a window key", truncate(wk))
	}
	start = unflipTime(binary.BigEndian.Uint64(wk[len(wk)-8:]))
	esc := wk[:len(wk)-10]
	key = make([]byte, 0, len(esc))
	for i := 0; i < len(esc); i++ {
		key = append(key, esc[i])
		if esc[i] == 0 {
			if i+1 >= len(esc) || esc[i+1] != 0xff {
				return nil, 0, fmt.Errorf("decoding window key %q: bad escape at byte %d", truncate(wk), i)
			}
			i++
		}
	}
	return key, start, nil
}

// encodeWindowValue is a window's stored value: its end, then the aggregate.
func encodeWindowValue(end int64, agg []byte) []byte {
	out := make([]byte, 0, 8+len(agg))
	out = binary.BigEndian.AppendUint64(out, flipTime(end))
	return append(out, agg...)
}

// DecodeWindowValue splits a stored window value into the window end and the aggregate
// (which aliases v).
func DecodeWindowValue(v []byte) (end int64, agg []byte, err error) {
	if len(v) < 8 {
		return 0, nil, fmt.Errorf("decoding window value: %d bytes, want at least 8", len(v))
	}
	return unflipTime(binary.BigEndian.Uint64(v)), v[8:], nil
}

// indexKey is a close (c) or expiry (x) index key in WindowsTable.
func indexKey(kind byte, at int64, table string, wk []byte) []byte {
	out := make([]byte, 0, 1+8+len(table)+1+len(wk))
	out = append(out, kind)
	out = binary.BigEndian.AppendUint64(out, flipTime(at))
	out = append(out, table...)
	out = append(out, 0)
	return append(out, wk...)
}

// parseIndexKey splits an index key (without its kind byte check) into time, table and
// window key.
func parseIndexKey(k []byte) (at int64, table string, wk []byte, err error) {
	if len(k) < 1+8+2 {
		return 0, "", nil, fmt.Errorf("window index key %q is too short", truncate(k))
	}
	at = unflipTime(binary.BigEndian.Uint64(k[1:9]))
	rest := k[9:]
	i := bytes.IndexByte(rest, 0)
	if i <= 0 {
		return 0, "", nil, fmt.Errorf("window index key %q has no table", truncate(k))
	}
	return at, string(rest[:i]), rest[i+1:], nil
}

func encodeStreamTime(st int64) []byte {
	return binary.BigEndian.AppendUint64([]byte{streamTimeFormat}, flipTime(st))
}

func decodeStreamTime(v []byte) (int64, error) {
	if len(v) != 9 {
		return 0, fmt.Errorf("decoding stream time: %d bytes, want 9", len(v))
	}
	if v[0] != streamTimeFormat {
		return 0, errors.New("decoding stream time: unknown format (written by a newer Weir?)")
	}
	return unflipTime(binary.BigEndian.Uint64(v[1:])), nil
}

// encodeTime is a time as 8 bytes (the close index's value: the window's expire-at).
func encodeTime(ms int64) []byte { return binary.BigEndian.AppendUint64(nil, flipTime(ms)) }

func decodeTime(b []byte) (int64, error) {
	if len(b) != 8 {
		return 0, fmt.Errorf("decoding a time: %d bytes, want 8", len(b))
	}
	return unflipTime(binary.BigEndian.Uint64(b)), nil
}
