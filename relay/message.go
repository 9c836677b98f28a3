package relay

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/nwc-go/nwc/nostr"
)

// Client message parse errors.
var (
	ErrMalformedMessage = errors.New("relay: malformed message")
	ErrUnknownMessage   = errors.New("relay: unknown message type")
	ErrBadEvent         = errors.New("relay: bad event")
	ErrBadFilter        = errors.New("relay: bad filter")
	ErrBadSubID         = errors.New("relay: bad subscription id")
)

// Client message types.
const (
	msgEvent = "EVENT"
	msgReq   = "REQ"
	msgClose = "CLOSE"
	msgAuth  = "AUTH"
)

const maxSubIDLen = 64

// clientMessage is one decoded client → relay message. After a parse error the fields that
// could be read are still set, so the caller can address its answer (OK for an event id,
// CLOSED for a subscription id).
type clientMessage struct {
	Type    string
	Event   *nostr.Event // EVENT, AUTH
	EventID string       // EVENT/AUTH: the "id" field, when readable, even if the event is bad
	SubID   string       // REQ, CLOSE
	Filters []*filter    // REQ
}

// parseClientMessage decodes a NIP-01/NIP-42 client message. It is pure: no I/O, no clock.
// It does not verify signatures nor apply limits (those need the relay's state).
func parseClientMessage(data []byte) (clientMessage, error) {
	var m clientMessage
	var parts []json.RawMessage
	if err := json.Unmarshal(data, &parts); err != nil {
		return m, fmt.Errorf("%w: not a JSON array", ErrMalformedMessage)
	}
	if len(parts) == 0 {
		return m, fmt.Errorf("%w: empty array", ErrMalformedMessage)
	}
	if err := json.Unmarshal(parts[0], &m.Type); err != nil {
		return m, fmt.Errorf("%w: first element must be a string", ErrMalformedMessage)
	}
	switch m.Type {
	case msgEvent, msgAuth:
		if len(parts) != 2 {
			return m, fmt.Errorf("%w: %s takes exactly one event", ErrMalformedMessage, m.Type)
		}
		m.EventID = peekEventID(parts[1])
		var ev nostr.Event
		if err := ev.UnmarshalJSON(parts[1]); err != nil {
			return m, fmt.Errorf("%w: %w", ErrBadEvent, err)
		}
		m.Event = &ev
		return m, nil
	case msgReq, msgClose:
		if len(parts) < 2 {
			return m, fmt.Errorf("%w: %s needs a subscription id", ErrMalformedMessage, m.Type)
		}
		if err := json.Unmarshal(parts[1], &m.SubID); err != nil {
			return m, fmt.Errorf("%w: subscription id must be a string", ErrBadSubID)
		}
		if m.SubID == "" || len(m.SubID) > maxSubIDLen {
			return m, fmt.Errorf("%w: must be 1..%d characters", ErrBadSubID, maxSubIDLen)
		}
		if m.Type == msgClose {
			if len(parts) != 2 {
				return m, fmt.Errorf("%w: CLOSE takes only a subscription id", ErrMalformedMessage)
			}
			return m, nil
		}
		if len(parts) < 3 {
			return m, fmt.Errorf("%w: REQ needs at least one filter", ErrBadFilter)
		}
		m.Filters = make([]*filter, 0, len(parts)-2)
		for i, raw := range parts[2:] {
			f, err := parseFilter(raw)
			if err != nil {
				return m, fmt.Errorf("filter %d: %w", i, err)
			}
			m.Filters = append(m.Filters, f)
		}
		return m, nil
	default:
		return m, fmt.Errorf("%w: %q", ErrUnknownMessage, truncate(m.Type, 32))
	}
}

// peekEventID reads the "id" member of what should be an event object, so that a
// malformed event can still be answered with OK false. It returns "" unless the id is
// 64 lowercase hex characters.
func peekEventID(raw json.RawMessage) string {
	var obj struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(raw, &obj) != nil || !nostr.IsHex32(obj.ID) {
		return ""
	}
	return obj.ID
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// tagCond is one "#x" condition of a filter.
type tagCond struct {
	name   string
	values []string
}

// filter is a nostr.Filter compiled for fast matching: hex ids and authors decoded once.
type filter struct {
	idsSet     bool
	ids        []nostr.EventID
	authorsSet bool
	authors    []nostr.PublicKey
	kindsSet   bool
	kinds      []int
	tags       []tagCond
	since      int64
	until      int64
	hasSince   bool
	hasUntil   bool
	limit      int  // as sent; 0 when absent
	limitZero  bool // "limit":0 was sent explicitly: live events only
}

func parseFilter(raw json.RawMessage) (*filter, error) {
	var nf nostr.Filter
	if err := nf.UnmarshalJSON(raw); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadFilter, err)
	}
	f := compileFilter(&nf)
	if nf.Limit == 0 && bytes.Contains(raw, []byte(`"limit"`)) {
		// nostr.Filter cannot tell "limit":0 from no limit; look at the raw object.
		var probe struct {
			Limit *json.Number `json:"limit"`
		}
		if json.Unmarshal(raw, &probe) == nil && probe.Limit != nil {
			if n, err := strconv.ParseInt(string(*probe.Limit), 10, 64); err == nil && n == 0 {
				f.limitZero = true
			}
		}
	}
	return f, nil
}

// compileFilter decodes hex values; invalid ones can never match and are dropped. A list
// that is present but empty (or has no valid value) matches nothing.
func compileFilter(nf *nostr.Filter) *filter {
	f := &filter{kindsSet: nf.Kinds != nil, kinds: nf.Kinds, limit: nf.Limit}
	if nf.IDs != nil {
		f.idsSet = true
		f.ids = make([]nostr.EventID, 0, len(nf.IDs))
		for _, s := range nf.IDs {
			if id, err := nostr.ParseEventID(s); err == nil {
				f.ids = append(f.ids, id)
			}
		}
	}
	if nf.Authors != nil {
		f.authorsSet = true
		f.authors = make([]nostr.PublicKey, 0, len(nf.Authors))
		for _, s := range nf.Authors {
			// Hex only: a key that is not on the curve simply never matches a (verified) event.
			if nostr.IsHex32(s) {
				var pk nostr.PublicKey
				hex.Decode(pk[:], []byte(s))
				f.authors = append(f.authors, pk)
			}
		}
	}
	for name, values := range nf.Tags {
		f.tags = append(f.tags, tagCond{name: name, values: values})
	}
	// Deterministic order makes index choice reproducible.
	slices.SortFunc(f.tags, func(a, b tagCond) int { return tagPriority(a.name) - tagPriority(b.name) })
	if nf.Since != nil {
		f.hasSince, f.since = true, *nf.Since
	}
	if nf.Until != nil {
		f.hasUntil, f.until = true, *nf.Until
	}
	return f
}

// tagPriority orders tag conditions by how selective they usually are: e (one request), p
// (one key), then the rest alphabetically.
func tagPriority(name string) int {
	switch name {
	case "e":
		return 0
	case "p":
		return 1
	}
	if name == "" {
		return 2
	}
	return 2 + int(name[0])
}

func (f *filter) matches(e *nostr.Event) bool {
	if f.idsSet && !slices.Contains(f.ids, e.ID) {
		return false
	}
	if f.authorsSet && !slices.Contains(f.authors, e.PubKey) {
		return false
	}
	if f.kindsSet && !slices.Contains(f.kinds, e.Kind) {
		return false
	}
	if f.hasSince && e.CreatedAt < f.since {
		return false
	}
	if f.hasUntil && e.CreatedAt > f.until {
		return false
	}
	for _, c := range f.tags {
		if !hasTagValue(e, c.name, c.values) {
			return false
		}
	}
	return true
}

func hasTagValue(e *nostr.Event, name string, values []string) bool {
	for _, t := range e.Tags {
		if len(t) >= 2 && t[0] == name && slices.Contains(values, t[1]) {
			return true
		}
	}
	return false
}
