package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/weirhq/weir/libs/agents"
	"github.com/weirhq/weir/libs/topics"
)

// EncodeKey encodes a key given as a JSON value (string, float64, bool, map, list) the way
// the table stores it and the producer hashes it (agents.EncodeKey), after converting text
// to the table's key type: "42" for a number key, "true" for a bool key, JSON text for a
// list, map, object or model key. Keys starting with byte 0x00 are Weir's own and refused.
func (r TableRoute) EncodeKey(v any) ([]byte, error) {
	v, err := coerceKey(v, r.KeyType)
	if err != nil {
		return nil, err
	}
	key, err := agents.EncodeKey(v)
	if err != nil {
		return nil, err
	}
	if err := CheckKey(key); err != nil {
		return nil, err
	}
	return key, nil
}

// CheckKey refuses an empty key and Weir's own keys (starting with byte 0x00).
func CheckKey(key []byte) error {
	switch {
	case len(key) == 0:
		return errors.New("the key is empty")
	case key[0] == 0:
		return errors.New("keys starting with byte 0x00 are Weir's own entries, not table data")
	}
	return nil
}

// Partition is the partition of the table's task group holding an encoded key: the Java
// client's murmur2 placement, as the producer and the repartitioning use.
func (r TableRoute) Partition(key []byte) int {
	return int(topics.KeyPartition(key, r.Partitions))
}

// coerceKey converts a JSON key value to what the key type holds.
func coerceKey(v any, keyType string) (any, error) {
	s, isString := v.(string)
	switch {
	case v == nil:
		return nil, errors.New("the key is null")
	case keyType == "number" && isString:
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return nil, fmt.Errorf("key %q is not a number (the table's keys are numbers)", s)
		}
		return f, nil
	case keyType == "bool" && isString:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("key %q is not true or false (the table's keys are bools)", s)
		}
		return b, nil
	case StructuredKeyType(keyType) && isString:
		var out any
		if err := json.Unmarshal([]byte(s), &out); err != nil {
			return nil, fmt.Errorf("key %q is not JSON (the table's keys are %s values): %v", s, keyType, err)
		}
		return out, nil
	}
	_, isNumber := v.(float64)
	_, isBool := v.(bool)
	switch {
	case keyType == "number" && !isNumber:
		return nil, fmt.Errorf("the key is a %s, but the table's keys are numbers", jsonKind(v))
	case keyType == "bool" && !isBool:
		return nil, fmt.Errorf("the key is a %s, but the table's keys are bools", jsonKind(v))
	}
	switch v.(type) {
	case map[string]any, []any:
		switch keyType {
		case "string", "number", "bool", "timestamp":
			return nil, fmt.Errorf("the key is a JSON object or list, but the table's keys are %ss", keyType)
		}
	}
	return v, nil
}

// StructuredKeyType reports whether keys of this type are structured JSON documents (lists,
// maps, objects, models); text given for such a key is parsed as JSON.
func StructuredKeyType(keyType string) bool {
	switch keyType {
	case "list", "map", "object":
		return true
	}
	return strings.HasPrefix(keyType, "model")
}

// jsonKind names the JSON type of a decoded value.
func jsonKind(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case []any:
		return "list"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}
