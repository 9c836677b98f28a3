package relaypool

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/nwc-go/nwc/nostr"
)

// ErrBadMessage is returned for a relay message that is not a NIP-01 relay-to-client message.
var ErrBadMessage = errors.New("relaypool: malformed relay message")

// relayMessage is one parsed relay-to-client message. Only the fields of its type are set.
type relayMessage struct {
	Type      string          // EVENT, OK, EOSE, CLOSED, NOTICE, AUTH
	SubID     string          // EVENT, EOSE, CLOSED
	Event     json.RawMessage // EVENT: the event, parsed later (only when a subscription wants it)
	EventID   nostr.EventID   // OK
	OK        bool            // OK
	Message   string          // OK, CLOSED, NOTICE
	Challenge string          // AUTH
}

// parseRelayMessage splits a relay message into its parts. The event of an EVENT message
// stays raw so that events for unknown or closed subscriptions cost no event parsing.
func parseRelayMessage(data []byte) (relayMessage, error) {
	var m relayMessage
	var parts []json.RawMessage
	if err := json.Unmarshal(data, &parts); err != nil {
		return m, fmt.Errorf("%w: %v", ErrBadMessage, err)
	}
	if len(parts) == 0 {
		return m, fmt.Errorf("%w: empty array", ErrBadMessage)
	}
	if err := json.Unmarshal(parts[0], &m.Type); err != nil {
		return m, fmt.Errorf("%w: label is not a string", ErrBadMessage)
	}
	str := func(i int, dst *string) error {
		if i >= len(parts) {
			return fmt.Errorf("%w: %s: missing element %d", ErrBadMessage, m.Type, i)
		}
		if err := json.Unmarshal(parts[i], dst); err != nil {
			return fmt.Errorf("%w: %s: element %d is not a string", ErrBadMessage, m.Type, i)
		}
		return nil
	}
	switch m.Type {
	case "EVENT":
		if len(parts) != 3 {
			return m, fmt.Errorf("%w: EVENT needs 3 elements", ErrBadMessage)
		}
		if err := str(1, &m.SubID); err != nil {
			return m, err
		}
		m.Event = parts[2]
	case "OK":
		var id string
		if err := str(1, &id); err != nil {
			return m, err
		}
		var err error
		if m.EventID, err = nostr.ParseEventID(id); err != nil {
			return m, fmt.Errorf("%w: OK: %v", ErrBadMessage, err)
		}
		if len(parts) < 3 || json.Unmarshal(parts[2], &m.OK) != nil {
			return m, fmt.Errorf("%w: OK: element 2 is not a boolean", ErrBadMessage)
		}
		// The message is required by NIP-01 but some relays omit it on success.
		if len(parts) > 3 {
			if err := str(3, &m.Message); err != nil {
				return m, err
			}
		}
	case "EOSE":
		if err := str(1, &m.SubID); err != nil {
			return m, err
		}
	case "CLOSED":
		if err := str(1, &m.SubID); err != nil {
			return m, err
		}
		if len(parts) > 2 {
			if err := str(2, &m.Message); err != nil {
				return m, err
			}
		}
	case "NOTICE":
		if err := str(1, &m.Message); err != nil {
			return m, err
		}
	case "AUTH":
		if err := str(1, &m.Challenge); err != nil {
			return m, err
		}
	default:
		return m, fmt.Errorf("%w: unknown label %.20q", ErrBadMessage, m.Type)
	}
	return m, nil
}

// hasPrefix reports whether a machine-readable OK/CLOSED reason starts with prefix
// (e.g. "auth-required"), ignoring what follows the colon.
func hasPrefix(reason, prefix string) bool {
	return strings.HasPrefix(reason, prefix+":") || reason == prefix
}

// appendEnvelope builds a client-to-relay message such as ["EVENT",<event>].
func appendEventEnvelope(label string, ev *nostr.Event) []byte {
	b := make([]byte, 0, 256+len(ev.Content))
	b = append(b, `["`...)
	b = append(b, label...)
	b = append(b, `",`...)
	b = ev.AppendJSON(b)
	return append(b, ']')
}

// reqMessage builds ["REQ",<id>,<filter>...].
func reqMessage(subID string, filters []nostr.Filter) ([]byte, error) {
	parts := make([]any, 0, 2+len(filters))
	parts = append(parts, "REQ", subID)
	for i := range filters {
		parts = append(parts, filters[i])
	}
	return json.Marshal(parts)
}

// closeMessage builds ["CLOSE",<id>].
func closeMessage(subID string) []byte {
	b, _ := json.Marshal([]string{"CLOSE", subID})
	return b
}
