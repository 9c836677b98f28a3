package relaypool

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/nwc-go/nwc/nostr"
)

// refRelayMessage and refParseRelayMessage are the encoding/json-based parser that the
// one-pass scanner replaced, kept verbatim (but for the result type) as the reference for
// the differential tests.
type refRelayMessage struct {
	Type      string
	SubID     string
	Event     json.RawMessage
	EventID   nostr.EventID
	OK        bool
	Message   string
	Challenge string
}

func refParseRelayMessage(data []byte) (refRelayMessage, error) {
	var m refRelayMessage
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

// refWireEvent and refUnmarshalEvent copy the former encoding/json-based Event decoder
// (nostr/event_decode_test.go holds the original: test files cannot be imported), so that
// the benchmark can measure the whole former receive path.
type refWireEvent struct {
	ID        string          `json:"id"`
	PubKey    string          `json:"pubkey"`
	CreatedAt json.RawMessage `json:"created_at"`
	Kind      json.RawMessage `json:"kind"`
	Tags      json.RawMessage `json:"tags"`
	Content   *string         `json:"content"`
	Sig       string          `json:"sig"`
}

func refUnmarshalEvent(data []byte) (*nostr.Event, error) {
	var w refWireEvent
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, fmt.Errorf("%w: %v", nostr.ErrInvalidEvent, err)
	}
	var out nostr.Event
	var err error
	if out.ID, err = nostr.ParseEventID(w.ID); err != nil {
		return nil, err
	}
	if !nostr.IsHex32(w.PubKey) {
		return nil, fmt.Errorf("%w: pubkey", nostr.ErrInvalidEvent)
	}
	hex.Decode(out.PubKey[:], []byte(w.PubKey))
	if len(w.Sig) != 128 || !isLowerHex([]byte(w.Sig)) {
		return nil, fmt.Errorf("%w: sig", nostr.ErrInvalidEvent)
	}
	hex.Decode(out.Sig[:], []byte(w.Sig))
	if out.CreatedAt, err = strconv.ParseInt(string(w.CreatedAt), 10, 64); err != nil || out.CreatedAt < 0 {
		return nil, fmt.Errorf("%w: created_at", nostr.ErrInvalidEvent)
	}
	kind, err := strconv.ParseInt(string(w.Kind), 10, 32)
	if err != nil || kind < 0 || kind > 65535 {
		return nil, fmt.Errorf("%w: kind", nostr.ErrInvalidEvent)
	}
	out.Kind = int(kind)
	if w.Content == nil {
		return nil, fmt.Errorf("%w: content missing", nostr.ErrInvalidEvent)
	}
	out.Content = *w.Content
	if len(w.Tags) == 0 || string(w.Tags) == "null" {
		return nil, fmt.Errorf("%w: tags missing", nostr.ErrInvalidEvent)
	}
	if err := json.Unmarshal(w.Tags, &out.Tags); err != nil {
		return nil, fmt.Errorf("%w: tags", nostr.ErrInvalidEvent)
	}
	for _, t := range out.Tags {
		if t == nil {
			return nil, fmt.Errorf("%w: null tag", nostr.ErrInvalidEvent)
		}
	}
	return &out, nil
}

// checkMessageAgainstReference is the differential property: both parsers accept the same
// messages with the same fields, and an EVENT's decoded event is what Event.UnmarshalJSON
// (itself held to its reference by the nostr package's tests) makes of the event's bytes.
func checkMessageAgainstReference(t *testing.T, data []byte) relayMessage {
	t.Helper()
	want, refErr := refParseRelayMessage(data)
	got, err := parseRelayMessage(data)
	if err != nil && !errors.Is(err, ErrBadMessage) {
		t.Fatalf("error does not wrap ErrBadMessage: %v", err)
	}
	if (err == nil) != (refErr == nil) {
		t.Fatalf("verdicts differ on %q:\nnew: %v\nref: %v", data, err, refErr)
	}
	if err != nil {
		return got
	}
	if got.Type != want.Type || got.SubID != want.SubID || string(got.Event) != string(want.Event) ||
		(got.Event == nil) != (want.Event == nil) || got.EventID != want.EventID || got.OK != want.OK ||
		got.Message != want.Message || got.Challenge != want.Challenge {
		t.Fatalf("messages differ on %q:\nnew: %+v\nref: %+v", data, got, want)
	}
	if got.Type != "EVENT" {
		if got.Parsed != nil || got.ParseErr != nil {
			t.Fatalf("%s message with an event: %+v", got.Type, got)
		}
		return got
	}
	var ev nostr.Event
	evErr := ev.UnmarshalJSON(got.Event)
	if (evErr == nil) != (got.ParseErr == nil) || (got.Parsed == nil) != (got.ParseErr != nil) {
		t.Fatalf("event verdicts differ on %q: in message %v, alone %v", got.Event, got.ParseErr, evErr)
	}
	if got.ParseErr != nil && !errors.Is(got.ParseErr, nostr.ErrInvalidEvent) {
		t.Fatalf("event error does not wrap ErrInvalidEvent: %v", got.ParseErr)
	}
	if evErr == nil && !reflect.DeepEqual(*got.Parsed, ev) {
		t.Fatalf("events differ on %q:\nin message: %+v\nalone: %+v", got.Event, *got.Parsed, ev)
	}
	return got
}

func TestParseRelayMessageMatchesReference(t *testing.T) {
	ev := newEvent(t, testKey, 23194, 1700000000, "hi", nostr.Tag{"p", strings.Repeat("ab", 32)})
	evJSON := string(ev.AppendJSON(nil))
	id := ev.ID.String()
	tests := []struct {
		name string
		in   string
		ok   bool
		// event: for an accepted EVENT, whether its event decoded.
		event bool
	}{
		{"event", `["EVENT","s1",` + evJSON + `]`, true, true},
		{"event with whitespace", " [ \"EVENT\" ,\n\"s1\"\t, " + evJSON + " ] \r\n", true, true},
		{"event escaped label and id", `["\u0045VENT","s\u00e9",` + evJSON + `]`, true, true},
		{"event null sub id", `["EVENT",null,` + evJSON + `]`, true, true},
		{"event not an event", `["EVENT","s1",{"x":1}]`, true, false},
		{"event number", `["EVENT","s1",5]`, true, false},
		{"event null", `["EVENT","s1",null]`, true, false},
		{"event nested to the limit", `["EVENT","s1",` + strings.Replace(evJSON, `{`, `{"x":`+strings.Repeat("[", 9998)+strings.Repeat("]", 9998)+`,`, 1) + `]`, true, true},
		{"event with extra key", `["EVENT","s1",` + strings.Replace(evJSON, `{`, `{"x":[{}],`, 1) + `]`, true, true},
		{"event bad id", `["EVENT","s1",` + strings.Replace(evJSON, id, strings.ToUpper(id), 1) + `]`, true, false},
		{"ok", `["OK","` + id + `",true,""]`, true, false},
		{"ok false with reason", `["OK","` + id + `",false,"blocked: no"]`, true, false},
		{"ok without message", `["OK","` + id + `",true]`, true, false},
		{"ok null bool", `["OK","` + id + `",null,"x"]`, true, false},
		{"ok null message", `["OK","` + id + `",true,null]`, true, false},
		{"ok extra elements", `["OK","` + id + `",true,"m",{"a":[1]},2]`, true, false},
		{"ok escaped id", `["OK","\u0061` + id[1:] + `",true]`, true, false},
		{"eose", `["EOSE","s1"]`, true, false},
		{"eose extra", `["EOSE","s1",1,[2]]`, true, false},
		{"eose null", `["EOSE",null]`, true, false},
		{"closed", `["CLOSED","s1","auth-required: x"]`, true, false},
		{"closed bare", `["CLOSED","s1"]`, true, false},
		{"notice", `["NOTICE","h\ud83e\udd84\ud800 \"i\""]`, true, false},
		{"notice invalid utf-8", "[\"NOTICE\",\"a\xffb\"]", true, false},
		{"auth", `["AUTH","chal"]`, true, false},

		{"empty", ``, false, false},
		{"not json", `not json`, false, false},
		{"null", `null`, false, false},
		{"empty array", `[]`, false, false},
		{"empty array spaced", `[ ]`, false, false},
		{"object", `{"a":1}`, false, false},
		{"string", `"EVENT"`, false, false},
		{"label number", `[1,2]`, false, false},
		{"label null", `[null]`, false, false},
		{"label unknown", `["COUNT","s1",{"count":1}]`, false, false},
		{"label lowercase", `["eose","s1"]`, false, false},
		{"trailing garbage", `["EOSE","s1"]x`, false, false},
		{"trailing comma", `["EOSE","s1",]`, false, false},
		{"unterminated", `["EOSE","s1"`, false, false},
		{"invalid extra element", `["EOSE","s1",tru]`, false, false},
		{"literal run-on", `["EOSE",nullx]`, false, false},
		{"event too few", `["EVENT","s1"]`, false, false},
		{"event too many", `["EVENT","s1",` + evJSON + `,1]`, false, false},
		{"event sub id number", `["EVENT",1,{}]`, false, false},
		{"event invalid json", `["EVENT","s1",{"x":}]`, false, false},
		{"event unterminated", `["EVENT","s1",` + evJSON[:len(evJSON)-1] + `]`, false, false},
		// The message's array counts towards encoding/json's 10000 levels: 9999 arrays in
		// the event are fine alone but not in a message.
		{"event too deep", `["EVENT","s1",` + strings.Replace(evJSON, `{`, `{"x":`+strings.Repeat("[", 9999)+strings.Repeat("]", 9999)+`,`, 1) + `]`, false, false},
		{"ok bad id", `["OK","nothex",true,""]`, false, false},
		{"ok uppercase id", `["OK","` + strings.ToUpper(id) + `",true,""]`, false, false},
		{"ok null id", `["OK",null,true]`, false, false},
		{"ok quoted bool", `["OK","` + id + `","true",""]`, false, false},
		{"ok missing bool", `["OK","` + id + `"]`, false, false},
		{"ok missing id", `["OK"]`, false, false},
		{"ok message number", `["OK","` + id + `",true,5]`, false, false},
		{"eose missing", `["EOSE"]`, false, false},
		{"closed message number", `["CLOSED","s",1]`, false, false},
		{"notice number", `["NOTICE",42]`, false, false},
		{"auth missing", `["AUTH"]`, false, false},
		{"control character", "[\"NOTICE\",\"a\nb\"]", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := checkMessageAgainstReference(t, []byte(tc.in))
			_, err := parseRelayMessage([]byte(tc.in))
			if tc.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if tc.ok && got.Type == "EVENT" && (got.Parsed != nil) != tc.event {
				t.Fatalf("event decoded: %v (%v), want %v", got.Parsed != nil, got.ParseErr, tc.event)
			}
		})
	}
	// The parsed event is the signed one.
	m, err := parseRelayMessage([]byte(`["EVENT","s1",` + evJSON + `]`))
	if err != nil || !reflect.DeepEqual(*m.Parsed, *ev) || m.Parsed.Verify() != nil {
		t.Errorf("parsed event differs: %v %+v", err, m.Parsed)
	}
}

// nwcRequest returns a realistic NWC request event: kind 23194, a p tag and ~300 bytes of
// base64 NIP-44 content.
func nwcRequest(t testing.TB) *nostr.Event {
	raw := make([]byte, 225)
	for i := range raw {
		raw[i] = byte(i*131 + 7)
	}
	return newEvent(t, testKey, 23194, 1700000000, base64.StdEncoding.EncodeToString(raw),
		nostr.Tag{"p", "3bf0c63fcb93463407af97a5e5ee64fa883d107ef9e558472c4eb9aaaefa459d"})
}

// FuzzParseRelayMessageDiff: the one-pass parser agrees with the encoding/json-based
// reference on every input.
func FuzzParseRelayMessageDiff(f *testing.F) {
	ev := nwcRequest(f)
	other := newEvent(f, nostr.GenerateSecretKey(), 1, 0, "line\n\"q\" \\ \x01 \u2028 🦄 \xff", nostr.Tag{}, nostr.Tag{"x", ""})
	id := ev.ID.String()
	for _, s := range []string{
		`["EVENT","s1",` + string(ev.AppendJSON(nil)) + `]`,
		`["EVENT","sub",` + string(other.AppendJSON(nil)) + "]\n",
		`["EVENT","s1",{"x":1}]`, `["EVENT",null,null]`,
		`["OK","` + id + `",true,""]`, `["OK","` + id + `",false,"duplicate: x",{}]`, `["OK","` + id + `",null]`,
		`["EOSE","s"]`, `["CLOSED","s","auth-required: x"]`, `["NOTICE","\ud83e\udd84\ud800"]`, `["AUTH","c"]`,
		`[]`, `["OK"]`, `"x"`, `[null]`, `null`, ` [ "EOSE" , "s" , [ 1 , { "a" : -0.5e3 } ] ] `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkMessageAgainstReference(t, data)
	})
}

// BenchmarkParseRelayMessage compares the former path (encoding/json for the message,
// then again for the event) with the one-pass parser, for an NWC request and an OK.
func BenchmarkParseRelayMessage(b *testing.B) {
	ev := nwcRequest(b)
	msgs := []struct{ name, data string }{
		{"event", `["EVENT","nwc-sub-1",` + string(ev.AppendJSON(nil)) + `]`},
		{"ok", `["OK","` + ev.ID.String() + `",true,""]`},
	}
	for _, msg := range msgs {
		data := []byte(msg.data)
		b.Run(msg.name+"/reference", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				m, err := refParseRelayMessage(data)
				if err != nil {
					b.Fatal(err)
				}
				if m.Type == "EVENT" {
					if _, err := refUnmarshalEvent(m.Event); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
		b.Run(msg.name+"/new", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				m, err := parseRelayMessage(data)
				if err != nil || m.ParseErr != nil {
					b.Fatal(err, m.ParseErr)
				}
			}
		})
	}
}
