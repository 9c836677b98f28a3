package relaypool

import (
	"errors"
	"strings"
	"testing"

	"github.com/nwc-go/nwc/nostr"
)

func TestParseRelayMessage(t *testing.T) {
	id := strings.Repeat("ab", 32)
	tests := []struct {
		in   string
		want relayMessage
		err  bool
	}{
		{`["EVENT","s1",{"x":1}]`, relayMessage{Type: "EVENT", SubID: "s1", Event: []byte(`{"x":1}`)}, false},
		{`["OK","` + id + `",true,""]`, relayMessage{Type: "OK", OK: true}, false},
		{`["OK","` + id + `",false,"blocked: no"]`, relayMessage{Type: "OK", Message: "blocked: no"}, false},
		{`["OK","` + id + `",true]`, relayMessage{Type: "OK", OK: true}, false},
		{`["EOSE","s1"]`, relayMessage{Type: "EOSE", SubID: "s1"}, false},
		{`["CLOSED","s1","auth-required: x"]`, relayMessage{Type: "CLOSED", SubID: "s1", Message: "auth-required: x"}, false},
		{`["CLOSED","s1"]`, relayMessage{Type: "CLOSED", SubID: "s1"}, false},
		{`["NOTICE","hi"]`, relayMessage{Type: "NOTICE", Message: "hi"}, false},
		{`["AUTH","chal"]`, relayMessage{Type: "AUTH", Challenge: "chal"}, false},
		{`not json`, relayMessage{}, true},
		{`[]`, relayMessage{}, true},
		{`[1,2]`, relayMessage{}, true},
		{`{"a":1}`, relayMessage{}, true},
		{`["EVENT","s1"]`, relayMessage{}, true},
		{`["EVENT",1,{}]`, relayMessage{}, true},
		{`["OK","nothex",true,""]`, relayMessage{}, true},
		{`["OK","` + id + `","true",""]`, relayMessage{}, true},
		{`["OK","` + id + `"]`, relayMessage{}, true},
		{`["OK","` + id + `",true,5]`, relayMessage{}, true},
		{`["EOSE"]`, relayMessage{}, true},
		{`["NOTICE",42]`, relayMessage{}, true},
		{`["AUTH"]`, relayMessage{}, true},
		{`["COUNT","s1",{"count":1}]`, relayMessage{}, true},
	}
	for _, tt := range tests {
		got, err := parseRelayMessage([]byte(tt.in))
		if tt.err {
			if !errors.Is(err, ErrBadMessage) {
				t.Errorf("%s: err = %v, want ErrBadMessage", tt.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		if got.Type == "OK" {
			tt.want.EventID, _ = nostr.ParseEventID(id)
		}
		if got.Type != tt.want.Type || got.SubID != tt.want.SubID || string(got.Event) != string(tt.want.Event) ||
			got.EventID != tt.want.EventID || got.OK != tt.want.OK || got.Message != tt.want.Message || got.Challenge != tt.want.Challenge {
			t.Errorf("%s: got %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestHasPrefix(t *testing.T) {
	tests := []struct {
		reason, prefix string
		want           bool
	}{
		{"auth-required: please", "auth-required", true},
		{"auth-required", "auth-required", true},
		{"auth-requiredx: no", "auth-required", false},
		{"restricted: no", "auth-required", false},
		{"", "auth-required", false},
	}
	for _, tt := range tests {
		if got := hasPrefix(tt.reason, tt.prefix); got != tt.want {
			t.Errorf("hasPrefix(%q, %q) = %v", tt.reason, tt.prefix, got)
		}
	}
}

func FuzzParseRelayMessage(f *testing.F) {
	id := strings.Repeat("0f", 32)
	for _, s := range []string{
		`["EVENT","s",{"id":"` + id + `"}]`, `["OK","` + id + `",true,"duplicate: x"]`, `["EOSE","s"]`,
		`["CLOSED","s","auth-required: x"]`, `["NOTICE","n"]`, `["AUTH","c"]`, `[]`, `["OK"]`, `"x"`, `[null]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseRelayMessage(data)
		if err != nil {
			if !errors.Is(err, ErrBadMessage) {
				t.Fatalf("error not wrapping ErrBadMessage: %v", err)
			}
			return
		}
		switch m.Type {
		case "EVENT", "OK", "EOSE", "CLOSED", "NOTICE", "AUTH":
		default:
			t.Fatalf("accepted unknown type %q", m.Type)
		}
		if m.Type == "EVENT" {
			var ev nostr.Event
			_ = ev.UnmarshalJSON(m.Event) // must not panic
		}
	})
}
