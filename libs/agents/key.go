package agents

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// EncodeKey returns the bytes of a key value, as tables store keys and as repartitioning
// hashes them: strings as their bytes, numbers in decimal notation, bools as "true" or
// "false", bytes as they are, lists and objects as JSON. A null key is an error.
func EncodeKey(k any) ([]byte, error) {
	switch k := k.(type) {
	case nil:
		return nil, fmt.Errorf("encoding a key: the key is null")
	case string:
		return []byte(k), nil
	case []byte:
		return k, nil
	case float64:
		return strconv.AppendFloat(nil, k, 'f', -1, 64), nil
	case bool:
		return strconv.AppendBool(nil, k), nil
	}
	b, err := json.Marshal(k)
	if err != nil {
		return nil, fmt.Errorf("encoding a key of type %T: %w", k, err)
	}
	return b, nil
}
