package nostr

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// FuzzEventJSON: whatever decodes must survive Verify without panicking and round-trip
// through our encoder: re-encoding, decoding again and re-encoding gives identical events
// and bytes, and the verdict of Verify does not change.
func FuzzEventJSON(f *testing.F) {
	e := signedEvent(f)
	f.Add(string(e.AppendJSON(nil)))
	e.Content = "line\n\"q\" \\ \t\r\b\f\x01\x1f <>& \u2028 🦄"
	e.Tags = append(e.Tags, Tag{"x", "\x00"}, Tag{})
	if err := e.Sign(mustSecret(f, testSecretHex)); err != nil {
		f.Fatal(err)
	}
	f.Add(string(e.AppendJSON(nil)))
	f.Add(`{"id":"` + e.ID.String() + `","pubkey":"` + e.PubKey.String() + `","created_at":1,"kind":1,"tags":[],"content":"\ud83e\udd84 \u00e9","sig":"` + fmtSig(e.Sig) + `"}`)
	f.Add(`{"kind":"1"}`)
	f.Add(`{}`)
	f.Fuzz(func(t *testing.T, in string) {
		var e1 Event
		if err := json.Unmarshal([]byte(in), &e1); err != nil {
			return
		}
		verr := e1.Verify()
		data := e1.AppendJSON(nil)
		var e2 Event
		if err := json.Unmarshal(data, &e2); err != nil {
			t.Fatalf("re-encoded event does not decode: %v\n%s", err, data)
		}
		if !reflect.DeepEqual(e1, e2) {
			t.Fatalf("round trip changed the event:\n%+v\n%+v", e1, e2)
		}
		if again := e2.AppendJSON(nil); string(again) != string(data) {
			t.Fatalf("encoding not stable:\n%s\n%s", data, again)
		}
		if (verr == nil) != (e2.Verify() == nil) {
			t.Fatalf("Verify changed after round trip: %v", verr)
		}
	})
}

// FuzzFilterJSON: a filter that decodes re-encodes to one that decodes to the same filter.
func FuzzFilterJSON(f *testing.F) {
	for _, s := range []string{`{}`, `{"kinds":[23194],"#p":["` + strings.Repeat("a", 64) + `"]}`,
		`{"ids":["x"],"authors":[],"since":1,"until":2,"limit":5,"#e":["y"],"#pp":["z"]}`, `{"limit":-1}`, `[]`, `{"since":"x"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var a Filter
		if err := json.Unmarshal(data, &a); err != nil {
			return
		}
		out, err := json.Marshal(a)
		if err != nil {
			t.Fatalf("marshal %+v: %v", a, err)
		}
		var b Filter
		if err := json.Unmarshal(out, &b); err != nil {
			t.Fatalf("re-decode %s: %v", out, err)
		}
		again, _ := json.Marshal(b)
		if string(again) != string(out) {
			t.Fatalf("not stable: %s then %s", out, again)
		}
	})
}
