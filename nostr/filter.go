package nostr

import "slices"

// Filter is a NIP-01 subscription filter. Empty lists match everything; set lists are any-of;
// all fields are AND-ed.
type Filter struct {
	IDs     []string            `json:"ids,omitempty"`
	Authors []string            `json:"authors,omitempty"`
	Kinds   []int               `json:"kinds,omitempty"`
	Tags    map[string][]string `json:"-"` // key is the letter without '#'
	Since   *int64              `json:"since,omitempty"`
	Until   *int64              `json:"until,omitempty"`
	Limit   int                 `json:"limit,omitempty"`
}

// Matches reports whether e passes every condition of f. Limit is not a match condition.
func (f *Filter) Matches(e *Event) bool {
	if len(f.IDs) > 0 && !slices.Contains(f.IDs, e.ID.String()) {
		return false
	}
	if len(f.Authors) > 0 && !slices.Contains(f.Authors, e.PubKey.String()) {
		return false
	}
	if len(f.Kinds) > 0 && !slices.Contains(f.Kinds, e.Kind) {
		return false
	}
	if f.Since != nil && e.CreatedAt < *f.Since {
		return false
	}
	if f.Until != nil && e.CreatedAt > *f.Until {
		return false
	}
	for name, values := range f.Tags {
		if !eventHasTagValue(e, name, values) {
			return false
		}
	}
	return true
}

func eventHasTagValue(e *Event, name string, values []string) bool {
	for _, t := range e.Tags {
		if len(t) >= 2 && t[0] == name && slices.Contains(values, t[1]) {
			return true
		}
	}
	return false
}
