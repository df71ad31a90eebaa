package tables

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
)

// Codec converts table values of type T to and from bytes.
type Codec[T any] interface {
	Encode(T) ([]byte, error)
	Decode([]byte) (T, error)
}

// EncodeInt64 encodes n as 8 big-endian bytes, the format Increment uses.
func EncodeInt64(n int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(n)) }

// DecodeInt64 decodes a value written by EncodeInt64.
func DecodeInt64(b []byte) (int64, error) {
	if len(b) != 8 {
		return 0, fmt.Errorf("value of %d bytes is not an int64 (8 bytes)", len(b))
	}
	return int64(binary.BigEndian.Uint64(b)), nil
}

// Int64Codec stores int64 values as 8 big-endian bytes (compatible with Increment).
type Int64Codec struct{}

func (Int64Codec) Encode(n int64) ([]byte, error) { return EncodeInt64(n), nil }
func (Int64Codec) Decode(b []byte) (int64, error) { return DecodeInt64(b) }

// StringCodec stores strings as their bytes.
type StringCodec struct{}

func (StringCodec) Encode(s string) ([]byte, error) { return []byte(s), nil }
func (StringCodec) Decode(b []byte) (string, error) { return string(b), nil }

// JSONCodec stores values as JSON (encoding/json).
type JSONCodec[T any] struct{}

func (JSONCodec[T]) Encode(v T) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding JSON value: %w", err)
	}
	return b, nil
}

func (JSONCodec[T]) Decode(b []byte) (T, error) {
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return v, fmt.Errorf("decoding JSON value: %w", err)
	}
	return v, nil
}

// Typed is a Table whose values go through a Codec.
type Typed[T any] struct {
	Table Table
	Codec Codec[T]
}

// Get returns the decoded value of key and whether it exists.
func (x Typed[T]) Get(key []byte) (T, bool, error) {
	var zero T
	b, ok, err := x.Table.Get(key)
	if err != nil || !ok {
		return zero, ok, err
	}
	v, err := x.Codec.Decode(b)
	if err != nil {
		return zero, false, fmt.Errorf("reading %s[%q]: %w", x.Table.name, key, err)
	}
	return v, true, nil
}

// Set encodes v and writes it under key.
func (x Typed[T]) Set(key []byte, v T) error {
	b, err := x.Codec.Encode(v)
	if err != nil {
		return fmt.Errorf("writing %s[%q]: %w", x.Table.name, key, err)
	}
	return x.Table.Set(key, b)
}
