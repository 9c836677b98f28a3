package nostr

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestSerializeEscaping(t *testing.T) {
	pk, err := ParsePublicKey(testPubHex)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, content, want string
	}{
		{"plain", "hello", `"hello"`},
		{"empty", "", `""`},
		{"newline", "a\nb", `"a\nb"`},
		{"quote", `say "hi"`, `"say \"hi\""`},
		{"backslash", `a\b`, `"a\\b"`},
		{"tab", "a\tb", `"a\tb"`},
		{"carriage return", "a\rb", `"a\rb"`},
		{"backspace", "a\bb", `"a\bb"`},
		{"form feed", "a\fb", `"a\fb"`},
		{"control 0x01", "a\x01b", `"a\u0001b"`},
		{"control 0x1f", "a\x1fb", `"a\u001fb"`},
		{"nul", "a\x00b", `"a\u0000b"`},
		{"del is verbatim", "a\x7fb", "\"a\x7fb\""},
		{"html is verbatim", "<a>&amp;</a>", `"<a>&amp;</a>"`},
		{"slash is verbatim", "a/b", `"a/b"`},
		{"U+2028 and U+2029 are verbatim", "a\u2028b\u2029c", "\"a\u2028b\u2029c\""},
		{"emoji", "⚡🦄", `"⚡🦄"`},
		{"everything", "\n\"\\\t\r\b\f\x01\x1f<>&\u2028🦄", `"\n\"\\\t\r\b\f\u0001\u001f<>&` + "\u2028" + `🦄"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := Event{
				PubKey: pk, CreatedAt: 1700000000, Kind: 23194,
				Tags:    Tags{{"p", testPubHex}, {"x", tc.content}},
				Content: tc.content,
			}
			want := `[0,"` + testPubHex + `",1700000000,23194,[["p","` + testPubHex + `"],["x",` + tc.want + `]],` + tc.want + `]`
			got := e.Serialize()
			if string(got) != want {
				t.Fatalf("Serialize:\n got %q\nwant %q", got, want)
			}
			if e.ComputeID() != EventID(sha256.Sum256([]byte(want))) {
				t.Errorf("ComputeID is not the SHA-256 of the serialisation")
			}
			// The wire JSON uses the same escaping and decodes back to the same strings.
			wire := string(e.AppendJSON(nil))
			if !strings.Contains(wire, `"content":`+tc.want+`,`) {
				t.Errorf("wire JSON %q does not carry content as %q", wire, tc.want)
			}
			var back Event
			if err := json.Unmarshal([]byte(wire), &back); err != nil || back.Content != tc.content || back.Tags[1][1] != tc.content {
				t.Errorf("decode: %v, content %q", err, back.Content)
			}
		})
	}
	// No tags serialises as an empty array.
	e := Event{PubKey: pk, CreatedAt: 0, Kind: 1}
	if got, want := string(e.Serialize()), `[0,"`+testPubHex+`",0,1,[],""]`; got != want {
		t.Errorf("empty event: %s, want %s", got, want)
	}
}

func signedEvent(t testing.TB) Event {
	t.Helper()
	e := Event{
		CreatedAt: 1700000000, Kind: 23194,
		Tags:    Tags{{"p", testPubHex}, {"e", strings.Repeat("ab", 32)}},
		Content: "encrypted payload",
	}
	if err := e.Sign(mustSecret(t, testSecretHex)); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestSignVerify(t *testing.T) {
	e := signedEvent(t)
	if e.PubKey.String() != testSecretPubHex {
		t.Fatalf("Sign set pubkey %s", e.PubKey)
	}
	if err := e.Verify(); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	other := GenerateSecretKey()
	tests := []struct {
		name   string
		tamper func(e *Event)
		want   error
	}{
		{"content", func(e *Event) { e.Content += "!" }, ErrInvalidID},
		{"tag value", func(e *Event) { e.Tags[0][1] = strings.Repeat("0", 64) }, ErrInvalidID},
		{"tag added", func(e *Event) { e.Tags = append(e.Tags, Tag{"t", "x"}) }, ErrInvalidID},
		{"created_at", func(e *Event) { e.CreatedAt++ }, ErrInvalidID},
		{"kind", func(e *Event) { e.Kind = 23195 }, ErrInvalidID},
		{"pubkey", func(e *Event) { e.PubKey = other.Public() }, ErrInvalidID},
		{"sig r", func(e *Event) { e.Sig[0] ^= 1 }, ErrInvalidSignature},
		{"sig s", func(e *Event) { e.Sig[63] ^= 1 }, ErrInvalidSignature},
		{"sig zero", func(e *Event) { e.Sig = [64]byte{} }, ErrInvalidSignature},
		{"id", func(e *Event) { e.ID[5] ^= 1 }, ErrInvalidID},
		// Consistent id but signed by someone else.
		{"id recomputed", func(e *Event) { e.Content = "forged"; e.ID = e.ComputeID() }, ErrInvalidSignature},
		{"pubkey and id swapped", func(e *Event) { e.PubKey = other.Public(); e.ID = e.ComputeID() }, ErrInvalidSignature},
		{"pubkey off the curve", func(e *Event) { e.PubKey = PublicKey{}; e.ID = e.ComputeID() }, ErrInvalidSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := signedEvent(t)
			tc.tamper(&c)
			if err := c.Verify(); !errors.Is(err, tc.want) {
				t.Errorf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
	// Signatures use fresh randomness yet both verify.
	a, b := signedEvent(t), signedEvent(t)
	if a.ID != b.ID || a.Sig == b.Sig || a.Verify() != nil || b.Verify() != nil {
		t.Errorf("two signatures of one event: same sig %v", a.Sig == b.Sig)
	}
}

func TestEventJSONRoundTrip(t *testing.T) {
	e := signedEvent(t)
	e.Content = "line\nquote\" <b> \u2028 🦄"
	if err := e.Sign(mustSecret(t, testSecretHex)); err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var back Event
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, e) {
		t.Fatalf("round trip changed the event:\n%+v\n%+v", back, e)
	}
	if err := back.Verify(); err != nil {
		t.Fatal(err)
	}
	again, _ := json.Marshal(back)
	if string(again) != string(data) {
		t.Errorf("re-marshal differs:\n%s\n%s", again, data)
	}
	// Field order and whitespace do not matter when decoding.
	var m map[string]any
	json.Unmarshal(data, &m)
	indented, _ := json.MarshalIndent(m, "", "  ")
	var fromIndented Event
	if err := json.Unmarshal(indented, &fromIndented); err != nil || !reflect.DeepEqual(fromIndented, e) {
		t.Errorf("reordered JSON: %v", err)
	}
}

func TestEventJSONStrict(t *testing.T) {
	e := signedEvent(t)
	valid := string(e.AppendJSON(nil))
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(valid), &fields); err != nil {
		t.Fatal(err)
	}
	with := func(key, raw string) string {
		m := make(map[string]json.RawMessage, len(fields))
		for k, v := range fields {
			m[k] = v
		}
		if raw == "" {
			delete(m, key)
		} else {
			m[key] = json.RawMessage(raw)
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	id, pub, sig := e.ID.String(), e.PubKey.String(), fmtSig(e.Sig)
	tests := []struct{ name, in string }{
		{"not an object", `[]`},
		{"not json", `{"id":`},
		{"missing id", with("id", "")},
		{"missing pubkey", with("pubkey", "")},
		{"missing created_at", with("created_at", "")},
		{"missing kind", with("kind", "")},
		{"missing tags", with("tags", "")},
		{"missing content", with("content", "")},
		{"missing sig", with("sig", "")},
		{"uppercase id", with("id", `"`+strings.ToUpper(id)+`"`)},
		{"uppercase pubkey", with("pubkey", `"`+strings.ToUpper(pub)+`"`)},
		{"uppercase sig", with("sig", `"`+strings.ToUpper(sig)+`"`)},
		{"short id", with("id", `"`+id[2:]+`"`)},
		{"long pubkey", with("pubkey", `"`+pub+`00"`)},
		{"short sig", with("sig", `"`+sig[2:]+`"`)},
		{"non-hex sig", with("sig", `"`+strings.Repeat("g", 128)+`"`)},
		{"kind negative", with("kind", `-1`)},
		{"kind too big", with("kind", `65536`)},
		{"kind fraction", with("kind", `1.5`)},
		{"kind exponent", with("kind", `1e3`)},
		{"kind quoted", with("kind", `"1"`)},
		{"kind null", with("kind", `null`)},
		{"created_at negative", with("created_at", `-5`)},
		{"created_at quoted", with("created_at", `"1700000000"`)},
		{"created_at fraction", with("created_at", `1700000000.5`)},
		{"tags null", with("tags", `null`)},
		{"tags object", with("tags", `{}`)},
		{"tag not an array", with("tags", `["p"]`)},
		{"tag null", with("tags", `[null]`)},
		{"tag value number", with("tags", `[["p",1]]`)},
		{"content null", with("content", `null`)},
		{"content number", with("content", `5`)},
		{"id number", with("id", `5`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got Event
			// Called directly: json.Unmarshal reports syntax errors before reaching it.
			if err := got.UnmarshalJSON([]byte(tc.in)); !errors.Is(err, ErrInvalidEvent) {
				t.Errorf("Unmarshal(%s) = %v, want ErrInvalidEvent", tc.in, err)
			}
		})
	}
	// Accepted edge values.
	for _, in := range []string{with("kind", "0"), with("kind", "65535"), with("tags", "[]"), with("tags", `[[]]`), with("content", `""`)} {
		var got Event
		if err := json.Unmarshal([]byte(in), &got); err != nil {
			t.Errorf("Unmarshal(%s): %v", in, err)
		}
	}
}

func fmtSig(sig [64]byte) string {
	const digits = "0123456789abcdef"
	b := make([]byte, 0, 128)
	for _, c := range sig {
		b = append(b, digits[c>>4], digits[c&15])
	}
	return string(b)
}

func TestEventHelpers(t *testing.T) {
	tags := Tags{{"e"}, {"p", "a", "b"}, {"p", "c"}}
	if tags.Find("e") != nil || tags.Value("p") != "a" || tags.Value("x") != "" {
		t.Errorf("Find/Value: %v %q", tags.Find("e"), tags.Value("p"))
	}
	kinds := []struct {
		kind                                int
		replaceable, ephemeral, addressable bool
	}{
		{0, true, false, false}, {1, false, false, false}, {3, true, false, false},
		{13194, true, false, false}, {23194, false, true, false}, {30000, false, false, true},
		{9999, false, false, false}, {40000, false, false, false},
	}
	for _, k := range kinds {
		if IsReplaceable(k.kind) != k.replaceable || IsEphemeral(k.kind) != k.ephemeral || IsAddressable(k.kind) != k.addressable {
			t.Errorf("kind %d classified wrongly", k.kind)
		}
	}
	e := Event{Content: "ok", Tags: Tags{{"p", "\xff"}}}
	if e.ValidUTF8() {
		t.Error("ValidUTF8 accepted an invalid tag")
	}
	if _, err := ParseEventID(strings.Repeat("A", 64)); !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("ParseEventID uppercase: %v", err)
	}
}
