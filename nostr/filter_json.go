package nostr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
)

// ErrInvalidFilter is returned for a filter that does not decode.
var ErrInvalidFilter = errors.New("nostr: invalid filter")

// MarshalJSON writes the filter with its tag conditions as "#x" keys.
func (f Filter) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, 6+len(f.Tags))
	if f.IDs != nil {
		m["ids"] = f.IDs
	}
	if f.Authors != nil {
		m["authors"] = f.Authors
	}
	if f.Kinds != nil {
		m["kinds"] = f.Kinds
	}
	if f.Since != nil {
		m["since"] = *f.Since
	}
	if f.Until != nil {
		m["until"] = *f.Until
	}
	if f.Limit > 0 {
		m["limit"] = f.Limit
	}
	names := make([]string, 0, len(f.Tags))
	for name := range f.Tags {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		m["#"+name] = f.Tags[name]
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// UnmarshalJSON reads a filter; unknown non-tag keys are ignored, as relays do.
func (f *Filter) UnmarshalJSON(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidFilter, err)
	}
	var out Filter
	for key, val := range raw {
		var err error
		switch {
		case key == "ids":
			err = json.Unmarshal(val, &out.IDs)
		case key == "authors":
			err = json.Unmarshal(val, &out.Authors)
		case key == "kinds":
			err = json.Unmarshal(val, &out.Kinds)
		case key == "since":
			out.Since = new(int64)
			err = json.Unmarshal(val, out.Since)
		case key == "until":
			out.Until = new(int64)
			err = json.Unmarshal(val, out.Until)
		case key == "limit":
			err = json.Unmarshal(val, &out.Limit)
		case len(key) == 2 && key[0] == '#':
			var vals []string
			if err = json.Unmarshal(val, &vals); err == nil {
				if out.Tags == nil {
					out.Tags = make(map[string][]string)
				}
				out.Tags[key[1:]] = vals
			}
		}
		if err != nil {
			return fmt.Errorf("%w: field %q: %v", ErrInvalidFilter, key, err)
		}
	}
	if out.Limit < 0 {
		return fmt.Errorf("%w: negative limit", ErrInvalidFilter)
	}
	*f = out
	return nil
}
