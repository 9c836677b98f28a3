package relaypool

import (
	"encoding/hex"
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
	Type      string        // EVENT, OK, EOSE, CLOSED, NOTICE, AUTH
	SubID     string        // EVENT, EOSE, CLOSED
	Event     []byte        // EVENT: the event's JSON, a slice of the message (valid only while it is handled: the read buffer is reused)
	Parsed    *nostr.Event  // EVENT: the event decoded from Event, or nil with ParseErr set
	ParseErr  error         // EVENT: why Event is not a valid event (the message still is valid)
	EventID   nostr.EventID // OK
	OK        bool          // OK
	Message   string        // OK, CLOSED, NOTICE
	Challenge string        // AUTH
}

// parseRelayMessage parses a relay message in one pass, decoding an EVENT's event on the
// way. It accepts exactly the messages that encoding/json decoding into []json.RawMessage
// plus the checks below accepted (a differential fuzz target holds it to that): any valid
// JSON array; elements read as strings may also be null (read as ""), as may OK's boolean
// (false); elements past the ones used are validated and ignored. An EVENT whose event is
// valid JSON but not a valid event is still a valid message: ParseErr says why, and the
// pool counts it as malformed only if a live subscription receives it.
func parseRelayMessage(data []byte) (relayMessage, error) {
	var m relayMessage
	sc := msgScanner{data: data}
	if err := sc.open(); err != nil {
		return m, err
	}
	var labelBuf [16]byte
	label, ok, err := sc.str(labelBuf[:0])
	if err != nil {
		return m, err
	}
	if !ok {
		return m, fmt.Errorf("%w: label is not a string", ErrBadMessage)
	}
	// Constant strings for the known labels: no allocation for them.
	switch string(label) {
	case "EVENT":
		m.Type = "EVENT"
	case "OK":
		m.Type = "OK"
	case "EOSE":
		m.Type = "EOSE"
	case "CLOSED":
		m.Type = "CLOSED"
	case "NOTICE":
		m.Type = "NOTICE"
	case "AUTH":
		m.Type = "AUTH"
	default:
		m.Type = string(label)
		return m, fmt.Errorf("%w: unknown label %.20q", ErrBadMessage, m.Type)
	}
	// first reads element 1, which every type requires.
	first := func() (string, error) {
		if !sc.next() {
			return "", fmt.Errorf("%w: %s: missing element 1", ErrBadMessage, m.Type)
		}
		return sc.strElem(m.Type, 1)
	}
	switch m.Type {
	case "EVENT":
		if !sc.next() {
			return m, fmt.Errorf("%w: EVENT needs 3 elements", ErrBadMessage)
		}
		if m.SubID, err = sc.strElem(m.Type, 1); err != nil {
			return m, err
		}
		if !sc.next() {
			return m, fmt.Errorf("%w: EVENT needs 3 elements", ErrBadMessage)
		}
		if err := sc.event(&m); err != nil {
			return m, err
		}
		if sc.next() {
			return m, fmt.Errorf("%w: EVENT needs 3 elements", ErrBadMessage)
		}
	case "OK":
		if !sc.next() {
			return m, fmt.Errorf("%w: OK: missing element 1", ErrBadMessage)
		}
		var idBuf [64]byte
		id, ok, err := sc.str(idBuf[:0])
		if err != nil {
			return m, err
		}
		if !ok {
			return m, fmt.Errorf("%w: OK: element 1 is not a string", ErrBadMessage)
		}
		if len(id) != 64 || !isLowerHex(id) {
			return m, fmt.Errorf("%w: OK: %w: id must be 64 lowercase hex characters", ErrBadMessage, nostr.ErrInvalidEvent)
		}
		hex.Decode(m.EventID[:], id)
		if !sc.next() {
			return m, fmt.Errorf("%w: OK: element 2 is not a boolean", ErrBadMessage)
		}
		if m.OK, err = sc.boolean(); err != nil {
			return m, err
		}
		// The message is required by NIP-01 but some relays omit it on success.
		if sc.next() {
			if m.Message, err = sc.strElem(m.Type, 3); err != nil {
				return m, err
			}
		}
	case "EOSE":
		if m.SubID, err = first(); err != nil {
			return m, err
		}
	case "CLOSED":
		if m.SubID, err = first(); err != nil {
			return m, err
		}
		if sc.next() {
			if m.Message, err = sc.strElem(m.Type, 2); err != nil {
				return m, err
			}
		}
	case "NOTICE":
		if m.Message, err = first(); err != nil {
			return m, err
		}
	case "AUTH":
		if m.Challenge, err = first(); err != nil {
			return m, err
		}
	}
	if err := sc.close(); err != nil {
		return m, err
	}
	return m, nil
}

// msgScanner walks the elements of a relay message's top-level array. After open, the
// scanner stands at the first element; next moves to the following one.
type msgScanner struct {
	data []byte
	i    int
	end  bool // the closing bracket was consumed
}

func (sc *msgScanner) bad(what string) error {
	return fmt.Errorf("%w: %s at offset %d", ErrBadMessage, what, sc.i)
}

func (sc *msgScanner) skipSpace() {
	for sc.i < len(sc.data) {
		switch sc.data[sc.i] {
		case ' ', '\t', '\n', '\r':
			sc.i++
		default:
			return
		}
	}
}

func (sc *msgScanner) peek() byte {
	if sc.i < len(sc.data) {
		return sc.data[sc.i]
	}
	return 0
}

// open consumes '[' and requires a first element.
func (sc *msgScanner) open() error {
	sc.skipSpace()
	if sc.peek() != '[' {
		// Not an array. (A top-level null decoded to an empty slice before: refused too.)
		return sc.bad("not a JSON array")
	}
	sc.i++
	sc.skipSpace()
	if sc.peek() == ']' {
		return fmt.Errorf("%w: empty array", ErrBadMessage)
	}
	return nil
}

// next moves past the current element's separator: true if another element follows,
// false if the array ended. An unexpected byte is left for close to report.
func (sc *msgScanner) next() bool {
	if sc.end {
		return false
	}
	sc.skipSpace()
	switch sc.peek() {
	case ',':
		sc.i++
		sc.skipSpace()
		return true
	case ']':
		sc.i++
		sc.end = true
	}
	return false
}

// close validates and skips the remaining elements, then requires the end of the input.
func (sc *msgScanner) close() error {
	for !sc.end {
		sc.skipSpace()
		switch sc.peek() {
		case ',':
			sc.i++
			n, err := nostr.SkipJSONValue(sc.data[sc.i:], 1)
			if err != nil {
				return fmt.Errorf("%w: %w", ErrBadMessage, err)
			}
			sc.i += n
		case ']':
			sc.i++
			sc.end = true
		default:
			return sc.bad("expected ',' or ']'")
		}
	}
	sc.skipSpace()
	if sc.i != len(sc.data) {
		return sc.bad("data after the message")
	}
	return nil
}

// str reads a string (appended to dst) or null (read as empty, as encoding/json leaves a
// string untouched by null); ok is false for any other value.
func (sc *msgScanner) str(dst []byte) (s []byte, ok bool, err error) {
	switch sc.peek() {
	case '"':
		s, n, err := nostr.UnquoteJSONString(dst, sc.data[sc.i:])
		if err != nil {
			return nil, false, fmt.Errorf("%w: %w", ErrBadMessage, err)
		}
		sc.i += n
		return s, true, nil
	case 'n':
		return dst, sc.literal("null"), nil
	}
	return nil, false, nil
}

// strElem reads element i of a message of type typ as a string.
func (sc *msgScanner) strElem(typ string, i int) (string, error) {
	var buf [64]byte // sub ids and short messages decode here, then cost one string copy
	b, ok, err := sc.str(buf[:0])
	if err == nil && !ok {
		err = fmt.Errorf("%w: %s: element %d is not a string", ErrBadMessage, typ, i)
	}
	return string(b), err
}

func (sc *msgScanner) boolean() (bool, error) {
	switch {
	case sc.literal("true"):
		return true, nil
	case sc.literal("false"), sc.literal("null"):
		return false, nil
	}
	return false, fmt.Errorf("%w: OK: element 2 is not a boolean", ErrBadMessage)
}

// literal consumes lit if the input continues with it.
func (sc *msgScanner) literal(lit string) bool {
	if len(sc.data)-sc.i >= len(lit) && string(sc.data[sc.i:sc.i+len(lit)]) == lit {
		sc.i += len(lit)
		return true
	}
	return false
}

// event decodes the EVENT's event. A value that is valid JSON but not an event leaves
// ParseErr set; one that is not JSON makes the message invalid.
func (sc *msgScanner) event(m *relayMessage) error {
	rest := sc.data[sc.i:]
	ev, n, err := nostr.DecodeEventJSON(rest, 1)
	if err != nil {
		var serr error
		if n, serr = nostr.SkipJSONValue(rest, 1); serr != nil {
			return fmt.Errorf("%w: %w", ErrBadMessage, serr)
		}
		m.ParseErr = err
	}
	m.Event, m.Parsed = rest[:n:n], ev
	sc.i += n
	return nil
}

func isLowerHex(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
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
