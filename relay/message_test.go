package relay

import (
	"errors"
	"strings"
	"testing"

	"github.com/nwc-go/nwc/nostr"
)

func sampleEventJSON(t testing.TB) (string, *nostr.Event) {
	sk, err := nostr.SecretKeyFromBytes([]byte(strings.Repeat("\x01", 32)))
	if err != nil {
		t.Fatal(err)
	}
	ev := signed(t, sk, 23194, 1_700_000_000, nostr.Tags{{"p", strings.Repeat("ab", 32)}, {"expiration", "1800000000"}}, "hello \"nwc\"\n")
	return string(ev.AppendJSON(nil)), ev
}

func TestParseClientMessage(t *testing.T) {
	evJSON, ev := sampleEventJSON(t)
	id := ev.ID.String()
	tests := []struct {
		name      string
		in        string
		wantErr   error
		wantType  string
		wantSub   string
		wantEvID  string
		wantNFilt int
	}{
		{"event", `["EVENT",` + evJSON + `]`, nil, msgEvent, "", id, 0},
		{"auth", `["AUTH",` + evJSON + `]`, nil, msgAuth, "", id, 0},
		{"req", `["REQ","sub",{"kinds":[23194],"#p":["x"]},{"limit":0}]`, nil, msgReq, "sub", "", 2},
		{"close", `["CLOSE","sub"]`, nil, msgClose, "sub", "", 0},
		{"whitespace", " [ \"CLOSE\" , \"s\" ] ", nil, msgClose, "s", "", 0},
		{"not json", `{`, ErrMalformedMessage, "", "", "", 0},
		{"object", `{"EVENT":1}`, ErrMalformedMessage, "", "", "", 0},
		{"empty array", `[]`, ErrMalformedMessage, "", "", "", 0},
		{"type not string", `[1,2]`, ErrMalformedMessage, "", "", "", 0},
		{"unknown", `["COUNT","s",{}]`, ErrUnknownMessage, "COUNT", "", "", 0},
		{"event with sub id", `["EVENT","s",` + evJSON + `]`, ErrMalformedMessage, msgEvent, "", "", 0},
		{"bad event keeps id", `["EVENT",{"id":"` + id + `","kind":"x"}]`, ErrBadEvent, msgEvent, "", id, 0},
		{"uppercase id not echoed", `["EVENT",{"id":"` + strings.ToUpper(id) + `"}]`, ErrBadEvent, msgEvent, "", "", 0},
		{"req no filter", `["REQ","s"]`, ErrBadFilter, msgReq, "s", "", 0},
		{"req bad filter", `["REQ","s",{"limit":-1}]`, ErrBadFilter, msgReq, "s", "", 0},
		{"req filter not object", `["REQ","s",[]]`, ErrBadFilter, msgReq, "s", "", 0},
		{"sub id number", `["REQ",1,{}]`, ErrBadSubID, msgReq, "", "", 0},
		{"sub id empty", `["CLOSE",""]`, ErrBadSubID, msgClose, "", "", 0},
		{"sub id 65", `["REQ","` + strings.Repeat("a", 65) + `",{}]`, ErrBadSubID, msgReq, strings.Repeat("a", 65), "", 0},
		{"sub id 64", `["CLOSE","` + strings.Repeat("a", 64) + `"]`, nil, msgClose, strings.Repeat("a", 64), "", 0},
		{"close extra", `["CLOSE","s",{}]`, ErrMalformedMessage, msgClose, "s", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := parseClientMessage([]byte(tt.in))
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if m.Type != tt.wantType || m.SubID != tt.wantSub || m.EventID != tt.wantEvID || len(m.Filters) != tt.wantNFilt {
				t.Errorf("got type %q sub %q id %q filters %d", m.Type, m.SubID, m.EventID, len(m.Filters))
			}
			if err == nil && (m.Type == msgEvent || m.Type == msgAuth) && (m.Event == nil || m.Event.ID != ev.ID || m.Event.Verify() != nil) {
				t.Errorf("event not decoded faithfully")
			}
		})
	}
}

func TestFilterLimitZero(t *testing.T) {
	for _, tt := range []struct {
		in        string
		zero      bool
		wantLimit int
	}{
		{`{}`, false, 0},
		{`{"limit":0}`, true, 0},
		{`{"limit":5}`, false, 5},
		{`{"kinds":[1],"limit" : 0}`, true, 0},
		{`{"#t":["limit"]}`, false, 0},
	} {
		f, err := parseFilter([]byte(tt.in))
		if err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		if f.limitZero != tt.zero || f.limit != tt.wantLimit {
			t.Errorf("%s: limitZero %v limit %d", tt.in, f.limitZero, f.limit)
		}
	}
}

// FuzzClientMessage feeds arbitrary bytes to the client message parser: it must never
// panic, and what it accepts must be well-formed enough for the relay to act on.
func FuzzClientMessage(f *testing.F) {
	evJSON, ev := sampleEventJSON(f)
	for _, seed := range []string{
		`["EVENT",` + evJSON + `]`,
		`["AUTH",` + evJSON + `]`,
		`["REQ","sub",{"kinds":[23194],"#p":["` + strings.Repeat("ab", 32) + `"],"since":1,"until":2,"limit":10}]`,
		`["REQ","s",{"ids":["` + ev.ID.String() + `"],"authors":["` + ev.PubKey.String() + `"]},{"limit":0}]`,
		`["CLOSE","sub"]`,
		`["COUNT","c",{}]`,
		`["EVENT",{"id":"` + ev.ID.String() + `"}]`,
		`[]`, `{}`, `[1]`, `["REQ"]`, `["REQ","",{}]`, "\x00", `["EVENT",null]`, `["REQ","s",null]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseClientMessage(data)
		if err != nil {
			if m.EventID != "" && !nostr.IsHex32(m.EventID) {
				t.Fatalf("error path echoes a non-hex id %q", m.EventID)
			}
			return
		}
		switch m.Type {
		case msgEvent, msgAuth:
			if m.Event == nil {
				t.Fatal("no event")
			}
			// What the relay will send back out must parse again to the same event.
			var again nostr.Event
			if err := again.UnmarshalJSON(m.Event.AppendJSON(nil)); err != nil || again.ID != m.Event.ID || again.Content != m.Event.Content {
				t.Fatalf("event does not round-trip: %v", err)
			}
			for _, f := range []*filter{{}, {kindsSet: true, kinds: []int{m.Event.Kind}}} {
				if !f.matches(m.Event) {
					t.Fatal("trivial filter does not match")
				}
			}
		case msgReq:
			if len(m.SubID) == 0 || len(m.SubID) > maxSubIDLen || len(m.Filters) == 0 {
				t.Fatalf("accepted REQ sub %q with %d filters", m.SubID, len(m.Filters))
			}
			for _, f := range m.Filters {
				f.matches(ev) // must not panic
				if f.limit < 0 {
					t.Fatal("negative limit")
				}
			}
		case msgClose:
			if len(m.SubID) == 0 || len(m.SubID) > maxSubIDLen {
				t.Fatalf("accepted CLOSE sub %q", m.SubID)
			}
		default:
			t.Fatalf("accepted unknown type %q", m.Type)
		}
	})
}
