package nip47

import (
	"bytes"
	"encoding/json"
	"errors"
)

// A small JSON object scanner for the request/response envelopes: it hands out the raw
// bytes of each member's value without copying, so Open allocates little on the hot
// path. It runs only on input json.Valid has accepted, so it need not handle malformed
// JSON.

var (
	errNotJSON   = errors.New("not valid JSON")
	errNotObject = errors.New("not a JSON object")
	errNotString = errors.New("not a string")
)

// scanObject calls fn with the (unescaped) key and raw value of every member of the
// JSON object data, in order.
func scanObject(data []byte, fn func(key, val []byte) error) error {
	if !json.Valid(data) {
		return errNotJSON
	}
	i := skipWS(data, 0)
	if data[i] != '{' {
		return errNotObject
	}
	i++
	for {
		i = skipWS(data, i)
		switch data[i] {
		case '}':
			return nil
		case ',':
			i = skipWS(data, i+1)
		}
		end := skipString(data, i)
		key := data[i+1 : end-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			var s string
			if err := json.Unmarshal(data[i:end], &s); err != nil {
				return err
			}
			key = []byte(s)
		}
		i = skipWS(data, end) + 1 // past ':'
		i = skipWS(data, i)
		vend := skipValue(data, i)
		if err := fn(key, data[i:vend]); err != nil {
			return err
		}
		i = vend
	}
}

func skipWS(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString returns the index just past the string starting at data[i] == '"'.
func skipString(data []byte, i int) int {
	for j := i + 1; ; j++ {
		switch data[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
}

// skipValue returns the index just past the value starting at data[i].
func skipValue(data []byte, i int) int {
	switch data[i] {
	case '"':
		return skipString(data, i)
	case '{', '[':
		depth := 0
		for j := i; ; {
			switch data[j] {
			case '"':
				j = skipString(data, j)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
			j++
		}
	}
	j := i
	for j < len(data) {
		switch data[j] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return j
		}
		j++
	}
	return j
}

// decodeString returns the contents of the JSON string val (nil for null). The result
// aliases val unless the string has escapes.
func decodeString(val []byte) ([]byte, error) {
	if isNull(val) {
		return nil, nil
	}
	if val[0] != '"' {
		return nil, errNotString
	}
	inner := val[1 : len(val)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return inner, nil
	}
	var s string
	if err := json.Unmarshal(val, &s); err != nil {
		return nil, err
	}
	return []byte(s), nil
}
