package tableservice

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	weirv1 "github.com/weirhq/weir/gen/weir/v1"
	"github.com/weirhq/weir/libs/cluster"
)

// EncodeKey encodes a request's key for table r: the bytes the tables store it under and
// the producer hashes (see cluster.TableRoute.EncodeKey). Errors are INVALID_ARGUMENT.
func EncodeKey(k *weirv1.TableKey, r cluster.TableRoute) ([]byte, error) {
	if k == nil || (len(k.GetEncoded()) == 0 && k.GetValue() == nil) {
		return nil, invalid(errors.New("a key is required"))
	}
	if enc := k.GetEncoded(); len(enc) > 0 {
		if err := cluster.CheckKey(enc); err != nil {
			return nil, invalid(err)
		}
		return enc, nil
	}
	key, err := r.EncodeKey(k.GetValue().AsInterface())
	if err != nil {
		return nil, invalid(err)
	}
	return key, nil
}

// DecodeKey returns a stored key as the key type has it (a string when it does not parse).
func DecodeKey(b []byte, keyType string) *structpb.Value {
	switch {
	case keyType == "number":
		if f, err := strconv.ParseFloat(string(b), 64); err == nil {
			return structpb.NewNumberValue(f)
		}
	case keyType == "bool":
		if v, err := strconv.ParseBool(string(b)); err == nil {
			return structpb.NewBoolValue(v)
		}
	case keyType == "json" || cluster.StructuredKeyType(keyType):
		var v structpb.Value
		if json.Valid(b) && protojson.Unmarshal(b, &v) == nil {
			return &v
		}
	}
	return structpb.NewStringValue(textOf(b))
}

// DecodeValue returns a stored value as JSON, or (nil, raw) when it is not JSON.
func DecodeValue(b []byte) (*structpb.Value, []byte) {
	var v structpb.Value
	if len(b) > 0 && json.Valid(b) && protojson.Unmarshal(b, &v) == nil {
		return &v, nil
	}
	return nil, bytes.Clone(b)
}

func textOf(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// EncodeCursor and DecodeCursor turn a sort key into a page cursor and back.
func EncodeCursor(sortKey []byte) string { return base64.RawURLEncoding.EncodeToString(sortKey) }

// DecodeCursor decodes a cursor; an empty cursor is no cursor.
func DecodeCursor(c string) ([]byte, error) {
	if c == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return nil, invalid(fmt.Errorf("cursor %q is not one this service returned", c))
	}
	return b, nil
}

func invalid(err error) error { return connect.NewError(connect.CodeInvalidArgument, err) }
