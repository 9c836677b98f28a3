package nostr

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// refWireEvent and refUnmarshalEvent are the encoding/json-based decoder that the
// hand-written one replaced, kept verbatim as the reference for the differential tests.
type refWireEvent struct {
	ID        string          `json:"id"`
	PubKey    string          `json:"pubkey"`
	CreatedAt json.RawMessage `json:"created_at"` // raw, so that a quoted "123" is rejected
	Kind      json.RawMessage `json:"kind"`
	Tags      json.RawMessage `json:"tags"`
	Content   *string         `json:"content"`
	Sig       string          `json:"sig"`
}

func refUnmarshalEvent(data []byte) (Event, error) {
	var w refWireEvent
	if err := json.Unmarshal(data, &w); err != nil {
		return Event{}, fmt.Errorf("%w: %v", ErrInvalidEvent, err)
	}
	var out Event
	var err error
	if out.ID, err = ParseEventID(w.ID); err != nil {
		return Event{}, err
	}
	if !IsHex32(w.PubKey) {
		return Event{}, fmt.Errorf("%w: pubkey must be 64 lowercase hex characters", ErrInvalidEvent)
	}
	hex.Decode(out.PubKey[:], []byte(w.PubKey))
	if len(w.Sig) != 128 || !isLowerHex(w.Sig) {
		return Event{}, fmt.Errorf("%w: sig must be 128 lowercase hex characters", ErrInvalidEvent)
	}
	hex.Decode(out.Sig[:], []byte(w.Sig))
	if out.CreatedAt, err = strconv.ParseInt(string(w.CreatedAt), 10, 64); err != nil || out.CreatedAt < 0 {
		return Event{}, fmt.Errorf("%w: created_at must be a non-negative integer", ErrInvalidEvent)
	}
	kind, err := strconv.ParseInt(string(w.Kind), 10, 32)
	if err != nil || kind < 0 || kind > 65535 {
		return Event{}, fmt.Errorf("%w: kind must be an integer in 0..65535", ErrInvalidEvent)
	}
	out.Kind = int(kind)
	if w.Content == nil {
		return Event{}, fmt.Errorf("%w: content missing", ErrInvalidEvent)
	}
	out.Content = *w.Content
	if len(w.Tags) == 0 || string(w.Tags) == "null" {
		return Event{}, fmt.Errorf("%w: tags missing", ErrInvalidEvent)
	}
	if err := json.Unmarshal(w.Tags, &out.Tags); err != nil {
		return Event{}, fmt.Errorf("%w: tags must be an array of arrays of strings", ErrInvalidEvent)
	}
	for _, t := range out.Tags {
		if t == nil {
			return Event{}, fmt.Errorf("%w: null tag", ErrInvalidEvent)
		}
	}
	return out, nil
}

var eventFieldNames = []string{"id", "pubkey", "created_at", "kind", "tags", "content", "sig"}

// hasCaseVariantKey reports whether the top-level object of data has a key that
// encoding/json would match to an event field although it differs from the field's name
// (e.g. "ID", "Kind", "ſig"): the one place where the two decoders may disagree.
func hasCaseVariantKey(data []byte) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(data, &m) != nil {
		return false
	}
	for k := range m {
		for _, f := range eventFieldNames {
			// encoding/json's foldName is documented to match bytes.EqualFold.
			if k != f && bytes.EqualFold([]byte(k), []byte(f)) {
				return true
			}
		}
	}
	return false
}

// checkAgainstReference is the differential property: outside case-variant keys, both
// decoders accept the same inputs and produce identical events.
func checkAgainstReference(t *testing.T, data []byte) {
	t.Helper()
	want, refErr := refUnmarshalEvent(data)
	var got Event
	err := got.UnmarshalJSON(data)
	if err != nil && !errors.Is(err, ErrInvalidEvent) {
		t.Fatalf("error does not wrap ErrInvalidEvent: %v", err)
	}
	parsed, perr := ParseEventJSON(data)
	if (err == nil) != (perr == nil) || err == nil && !reflect.DeepEqual(*parsed, got) {
		t.Fatalf("ParseEventJSON and UnmarshalJSON differ: %v / %v", err, perr)
	}
	if (err == nil || refErr == nil) && hasCaseVariantKey(data) {
		return
	}
	if (err == nil) != (refErr == nil) {
		t.Fatalf("verdicts differ on %q:\nnew: %v\nref: %v", data, err, refErr)
	}
	if err == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("events differ on %q:\nnew: %#v\nref: %#v", data, got, want)
	}
}

func TestUnmarshalEventMatchesReference(t *testing.T) {
	e := signedEvent(t)
	id, pub, sig := e.ID.String(), e.PubKey.String(), fmtSig(e.Sig)
	// obj builds an event object from its members (raw JSON), in the given order.
	obj := func(members ...string) string { return "{" + strings.Join(members, ",") + "}" }
	base := func(extra ...string) []string {
		m := []string{`"id":"` + id + `"`, `"pubkey":"` + pub + `"`, `"created_at":1700000000`, `"kind":23194`,
			`"tags":[["p","` + testPubHex + `"]]`, `"content":"hi"`, `"sig":"` + sig + `"`}
		return append(m, extra...)
	}
	replace := func(key, raw string) string {
		m := base()
		for i, kv := range m {
			if strings.HasPrefix(kv, `"`+key+`":`) {
				m[i] = `"` + key + `":` + raw
			}
		}
		return obj(m...)
	}
	canonical := string(e.AppendJSON(nil))
	tests := []struct {
		name string
		in   string
		ok   bool
		// check, when set, inspects an accepted event (beyond equality with the reference).
		check func(Event) bool
	}{
		{"canonical", canonical, true, func(g Event) bool { return reflect.DeepEqual(g, e) }},
		{"whitespace everywhere", " \t\r\n{ \"id\" :\n\"" + id + "\" , \"pubkey\"\t:\"" + pub + "\",\"created_at\" : 1 ,\"kind\": 2,\"tags\" : [ [ \"a\" , \"b\" ] , [ ] ] ,\"content\" : \"\" , \"sig\":\"" + sig + "\" } \n",
			true, func(g Event) bool { return g.CreatedAt == 1 && g.Kind == 2 && len(g.Tags) == 2 && len(g.Tags[1]) == 0 }},
		{"reordered", obj(append(base()[3:], base()[:3]...)...), true, nil},
		{"unknown keys ignored", obj(base(`"x":{"a":[1,2.5e-3,true,false,null,{"b":"\u00e9"}]}`, `"":[]`, `"ids":"zz"`)...), true, nil},
		{"unknown key before fields", obj(append([]string{`"z":[[[[]]]]`}, base()...)...), true, nil},
		{"escaped key", strings.Replace(canonical, `"kind"`, `"\u006bind"`, 1), true, nil},
		{"escaped hex", strings.Replace(canonical, `"id":"`+id[:1], `"id":"\u00`+hex.EncodeToString([]byte(id[:1])), 1), true, nil},
		{"escaped slash in content", replace("content", `"a\/b"`), true, func(g Event) bool { return g.Content == "a/b" }},
		{"all short escapes", replace("content", `"\"\\\/\b\f\n\r\t"`), true, func(g Event) bool { return g.Content == "\"\\/\b\f\n\r\t" }},
		{"unicode escapes", replace("content", `"\u00e9\u20AC\ud83e\udd84\u0000"`), true, func(g Event) bool { return g.Content == "é€🦄\x00" }},
		{"lone high surrogate", replace("content", `"\ud83ex"`), true, func(g Event) bool { return g.Content == "\uFFFDx" }},
		{"lone low surrogate", replace("content", `"\udd84"`), true, func(g Event) bool { return g.Content == "\uFFFD" }},
		{"high then non-low escape", replace("content", `"\ud83e\u0041"`), true, func(g Event) bool { return g.Content == "\uFFFDA" }},
		{"two high surrogates then low", replace("content", `"\ud800\ud83e\udd84"`), true, func(g Event) bool { return g.Content == "\uFFFD🦄" }},
		{"invalid utf-8 replaced", replace("content", "\"a\xffb\xed\xa0\x80c\xe2\x82\""), true, func(g Event) bool { return g.Content == "a\uFFFDb\uFFFD\uFFFD\uFFFDc\uFFFD\uFFFD" }},
		{"raw utf-8 and DEL kept", replace("content", "\"é🦄\x7f\uFFFD\""), true, func(g Event) bool { return g.Content == "é🦄\x7f\uFFFD" }},
		{"tags empty", replace("tags", `[]`), true, func(g Event) bool { return g.Tags != nil && len(g.Tags) == 0 }},
		{"tags one empty tag", replace("tags", `[[]]`), true, func(g Event) bool { return len(g.Tags) == 1 && g.Tags[0] != nil && len(g.Tags[0]) == 0 }},
		{"tag null value is empty", replace("tags", `[["p",null]]`), true, func(g Event) bool { return g.Tags[0][1] == "" }},
		{"kind 0", replace("kind", `0`), true, nil},
		{"kind -0", replace("kind", `-0`), true, func(g Event) bool { return g.Kind == 0 }},
		{"kind 65535", replace("kind", `65535`), true, nil},
		{"created_at 0", replace("created_at", `0`), true, nil},
		{"created_at max int64", replace("created_at", `9223372036854775807`), true, func(g Event) bool { return g.CreatedAt == 1<<63-1 }},
		{"content empty", replace("content", `""`), true, nil},
		{"duplicate id: last wins", obj(base(`"id":"` + strings.Repeat("0", 64) + `"`)...), true, func(g Event) bool { return g.ID == EventID{} }},
		{"duplicate: bad id fixed later", obj(append([]string{`"id":"zz"`}, base()...)...), true, nil},
		{"duplicate: null id keeps the earlier", obj(base(`"id":null`)...), true, func(g Event) bool { return g.ID == e.ID }},
		{"duplicate: bad kind fixed later", obj(append([]string{`"kind":"x"`}, base()...)...), true, nil},
		{"duplicate: null tags fixed later", obj(append([]string{`"tags":null`}, base()...)...), true, nil},
		{"duplicate: tags replaced", obj(base(`"tags":[["x"]]`)...), true, func(g Event) bool { return len(g.Tags) == 1 && g.Tags[0][0] == "x" }},
		{"duplicate: null content set later", obj(append([]string{`"content":null`}, base()...)...), true, nil},
		{"many tags", replace("tags", `[`+strings.Repeat(`["t","`+strings.Repeat("v", 40)+`","x"],`, 40)+`["e"]]`), true, func(g Event) bool { return len(g.Tags) == 41 && g.Tags[39][2] == "x" }},
		{"big content", replace("content", `"`+strings.Repeat("A", 5000)+`"`), true, func(g Event) bool { return len(g.Content) == 5000 }},
		{"deep unknown value", obj(base(`"x":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999))...), true, nil},

		{"empty input", ``, false, nil},
		{"null", `null`, false, nil},
		{"array", `[]`, false, nil},
		{"string", `"x"`, false, nil},
		{"empty object", `{}`, false, nil},
		{"not json", `{"id":`, false, nil},
		{"trailing garbage", canonical + `x`, false, nil},
		{"second object", canonical + `{}`, false, nil},
		{"trailing comma", obj(base(``)...), false, nil},
		{"missing colon", strings.Replace(canonical, `"kind":`, `"kind"`, 1), false, nil},
		{"single quotes", strings.Replace(canonical, `"kind"`, `'kind'`, 1), false, nil},
		{"unterminated", canonical[:len(canonical)-1], false, nil},
		{"unterminated string", canonical[:len(canonical)-3], false, nil},
		{"raw newline in content", replace("content", "\"a\nb\""), false, nil},
		{"raw NUL in tag", replace("tags", "[[\"a\x00\"]]"), false, nil},
		{"bad escape", replace("content", `"\x41"`), false, nil},
		{"short \\u", replace("content", `"\u12"`), false, nil},
		{"bad hex in \\u", replace("content", `"\u12g4"`), false, nil},
		{"high surrogate then bad escape", replace("content", `"\ud83e\uzzzz"`), false, nil},
		{"missing id", obj(base()[1:]...), false, nil},
		{"missing pubkey", obj(append(base()[:1], base()[2:]...)...), false, nil},
		{"missing created_at", obj(append(base()[:2], base()[3:]...)...), false, nil},
		{"missing kind", obj(append(base()[:3], base()[4:]...)...), false, nil},
		{"missing tags", obj(append(base()[:4], base()[5:]...)...), false, nil},
		{"missing content", obj(append(base()[:5], base()[6:]...)...), false, nil},
		{"missing sig", obj(base()[:6]...), false, nil},
		{"id null", replace("id", `null`), false, nil},
		{"id number", replace("id", `5`), false, nil},
		{"id object", replace("id", `{}`), false, nil},
		{"uppercase id", replace("id", `"`+strings.ToUpper(id)+`"`), false, nil},
		{"short id", replace("id", `"`+id[2:]+`"`), false, nil},
		{"long pubkey", replace("pubkey", `"`+pub+`00"`), false, nil},
		{"short sig", replace("sig", `"`+sig[2:]+`"`), false, nil},
		{"non-hex sig", replace("sig", `"`+strings.Repeat("g", 128)+`"`), false, nil},
		{"sig with escaped quote", replace("sig", `"`+sig[:127]+`\""`), false, nil},
		{"later bad id wins", obj(base(`"id":"zz"`)...), false, nil},
		{"kind negative", replace("kind", `-1`), false, nil},
		{"kind too big", replace("kind", `65536`), false, nil},
		{"kind huge", replace("kind", `99999999999999999999999`), false, nil},
		{"kind fraction", replace("kind", `1.5`), false, nil},
		{"kind 1.0", replace("kind", `1.0`), false, nil},
		{"kind exponent", replace("kind", `1e3`), false, nil},
		{"kind leading zero", replace("kind", `01`), false, nil},
		{"kind plus", replace("kind", `+1`), false, nil},
		{"kind quoted", replace("kind", `"1"`), false, nil},
		{"kind null", replace("kind", `null`), false, nil},
		{"kind true", replace("kind", `true`), false, nil},
		{"kind bad literal", replace("kind", `nul`), false, nil},
		{"later null kind wins", obj(base(`"kind":null`)...), false, nil},
		{"created_at negative", replace("created_at", `-5`), false, nil},
		{"created_at overflow", replace("created_at", `9223372036854775808`), false, nil},
		{"created_at quoted", replace("created_at", `"1700000000"`), false, nil},
		{"created_at fraction", replace("created_at", `1700000000.5`), false, nil},
		{"created_at minus only", replace("created_at", `-`), false, nil},
		{"tags null", replace("tags", `null`), false, nil},
		{"tags object", replace("tags", `{}`), false, nil},
		{"tags string", replace("tags", `"x"`), false, nil},
		{"tag not an array", replace("tags", `["p"]`), false, nil},
		{"tag null", replace("tags", `[null]`), false, nil},
		{"tag value number", replace("tags", `[["p",1]]`), false, nil},
		{"tag value array", replace("tags", `[["p",["x"]]]`), false, nil},
		{"tags trailing comma", replace("tags", `[["p"],]`), false, nil},
		{"tag trailing comma", replace("tags", `[["p",]]`), false, nil},
		{"tags unclosed", replace("tags", `[["p"]`), false, nil},
		{"content null", replace("content", `null`), false, nil},
		{"content number", replace("content", `5`), false, nil},
		{"later null content wins", obj(base(`"content":null`)...), false, nil},
		{"unknown value invalid", obj(base(`"x":[1,]`)...), false, nil},
		{"unknown value bad number", obj(base(`"x":-`)...), false, nil},
		{"unknown key unterminated", obj(base(`"x`)...), false, nil},
		{"too deep unknown value", obj(base(`"x":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000))...), false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkAgainstReference(t, []byte(tc.in))
			got := Event{Kind: -7} // must be left alone on error
			err := got.UnmarshalJSON([]byte(tc.in))
			if !tc.ok {
				if !errors.Is(err, ErrInvalidEvent) || got.Kind != -7 {
					t.Fatalf("accepted or wrong error: %v (event %+v)", err, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if tc.check != nil && !tc.check(got) {
				t.Fatalf("unexpected event %#v", got)
			}
		})
	}
}

// TestUnmarshalEventCaseVariantKeys pins the one deliberate difference: encoding/json fills
// a field from a key that differs in case, the hand-written decoder does not.
func TestUnmarshalEventCaseVariantKeys(t *testing.T) {
	e := signedEvent(t)
	canonical := string(e.AppendJSON(nil))
	tests := []struct{ name, in string }{
		{"ID", strings.Replace(canonical, `"id"`, `"ID"`, 1)},
		{"Kind", strings.Replace(canonical, `"kind"`, `"Kind"`, 1)},
		{"long s in sig", strings.Replace(canonical, `"sig"`, `"ſig"`, 1)},
		{"Kelvin sign in kind", strings.Replace(canonical, `"kind"`, "\"\u212aind\"", 1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !hasCaseVariantKey([]byte(tc.in)) {
				t.Fatal("hasCaseVariantKey missed it")
			}
			if _, err := refUnmarshalEvent([]byte(tc.in)); err != nil {
				t.Fatalf("reference refused: %v", err)
			}
			var got Event
			if err := got.UnmarshalJSON([]byte(tc.in)); !errors.Is(err, ErrInvalidEvent) {
				t.Fatalf("accepted a case-variant key: %v", err)
			}
		})
	}
	// Next to the exact key, a variant is just an unknown key.
	in := strings.Replace(canonical, `{`, `{"KIND":"x",`, 1)
	var got Event
	if err := got.UnmarshalJSON([]byte(in)); err != nil || got.Kind != e.Kind {
		t.Errorf("variant beside the exact key: %v, kind %d", err, got.Kind)
	}
}

func TestDecodeEventJSON(t *testing.T) {
	e := signedEvent(t)
	canonical := string(e.AppendJSON(nil))
	tests := []struct {
		name  string
		in    string
		depth int
		n     int // bytes consumed, -1 for an error
	}{
		{"followed by more", " " + canonical + `,"x"]`, 1, len(canonical) + 1},
		{"alone", canonical, 0, len(canonical)},
		{"not an event", `{"x":1}]`, 1, -1},
		{"at the depth limit", canonical, maxJSONDepth - 3, len(canonical)},
		{"tags beyond the depth limit", canonical, maxJSONDepth - 2, -1},
		{"object beyond the depth limit", canonical, maxJSONDepth, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev, n, err := DecodeEventJSON([]byte(tc.in), tc.depth)
			if tc.n < 0 {
				if !errors.Is(err, ErrInvalidEvent) || ev != nil {
					t.Fatalf("got %v, %v", ev, err)
				}
				return
			}
			if err != nil || n != tc.n || !reflect.DeepEqual(*ev, e) {
				t.Fatalf("got n=%d err=%v, want n=%d", n, err, tc.n)
			}
		})
	}
	if _, err := ParseEventJSON([]byte(canonical + " x")); !errors.Is(err, ErrInvalidEvent) || !errors.Is(err, ErrInvalidJSON) {
		t.Errorf("trailing data: %v", err)
	}
}

func TestSkipJSONValue(t *testing.T) {
	tests := []struct {
		in    string
		depth int
		n     int // -1: error
	}{
		{`0`, 0, 1}, {`-0.5e+10,`, 0, 8}, {` 12]`, 0, 3}, {`1E5`, 0, 3}, {`true false`, 0, 4}, {`null`, 0, 4},
		{`"a\"\\\/\b\f\n\r\t\u00e9"x`, 0, 25}, {"\"\xff\xfe\"", 0, 4}, {`[]`, 0, 2}, {`{ }`, 0, 3},
		{`[1, "a", {"k": [null]} ]`, 0, 24}, {`{"a":1,"b":{"c":[]}}`, 0, 20}, {`[[]]`, maxJSONDepth - 2, 4},
		{``, 0, -1}, {`-`, 0, -1}, {`01`, 0, 1}, {`1.`, 0, -1}, {`.5`, 0, -1}, {`1e`, 0, -1}, {`+1`, 0, -1},
		{`tru`, 0, -1}, {`nul`, 0, -1}, {`"abc`, 0, -1}, {"\"a\x1fb\"", 0, -1}, {`"\a"`, 0, -1}, {`"\u12"`, 0, -1},
		{`[1,]`, 0, -1}, {`[1 2]`, 0, -1}, {`{"a"}`, 0, -1}, {`{"a":}`, 0, -1}, {`{a:1}`, 0, -1}, {`{"a":1,}`, 0, -1},
		{`[}`, 0, -1}, {`{]`, 0, -1}, {`[[]]`, maxJSONDepth - 1, -1}, {`]`, 0, -1},
	}
	for _, tc := range tests {
		n, err := SkipJSONValue([]byte(tc.in), tc.depth)
		if tc.n < 0 {
			if !errors.Is(err, ErrInvalidJSON) {
				t.Errorf("SkipJSONValue(%q) = %d, %v; want an error", tc.in, n, err)
			}
		} else if err != nil || n != tc.n {
			t.Errorf("SkipJSONValue(%q) = %d, %v; want %d", tc.in, n, err, tc.n)
		}
	}
}

func TestUnquoteJSONString(t *testing.T) {
	tests := []struct {
		in, want string
		n        int // -1: error
	}{
		{`"abc"def`, "abc", 5},
		{` "" `, "", 3},
		{`"\u0041\ud83e\udd84\ud800"`, "A🦄\uFFFD", 26},
		{"\"\xc3\xa9\xc3\"", "é\uFFFD", 5},
		{`abc`, "", -1},
		{`"abc`, "", -1},
		{`"\ud83e\u12"`, "", -1},
	}
	for _, tc := range tests {
		got, n, err := UnquoteJSONString([]byte("prefix:"), []byte(tc.in))
		if tc.n < 0 {
			if !errors.Is(err, ErrInvalidJSON) {
				t.Errorf("UnquoteJSONString(%q) = %q, %v; want an error", tc.in, got, err)
			}
		} else if err != nil || n != tc.n || string(got) != "prefix:"+tc.want {
			t.Errorf("UnquoteJSONString(%q) = %q, %d, %v; want %q, %d", tc.in, got, n, err, tc.want, tc.n)
		}
	}
}

// TestTagsDoNotAlias: tags share one backing array, yet appending to one tag must not
// overwrite the next.
func TestTagsDoNotAlias(t *testing.T) {
	e := signedEvent(t)
	var got Event
	if err := got.UnmarshalJSON(e.AppendJSON(nil)); err != nil {
		t.Fatal(err)
	}
	next := got.Tags[1][0]
	got.Tags[0] = append(got.Tags[0], "extra")
	if got.Tags[1][0] != next {
		t.Fatalf("append to tag 0 changed tag 1: %q", got.Tags[1])
	}
}

// fuzzSeedEvents returns wire events signed with fresh keys, plus variants that stress
// the decoder's corners.
func fuzzSeedEvents(t testing.TB) []string {
	t.Helper()
	var seeds []string
	for i, content := range []string{"", "hello", "line\n\"q\" \\ \t\r\b\f\x01\x1f <>& \u2028 🦄", "\x00\xff\xed\xa0\x80", nwcContent()} {
		e := Event{CreatedAt: 1700000000 + int64(i), Kind: 23194 + i, Content: content,
			Tags: Tags{{"p", testPubHex}, {"encryption", "nip44_v2"}, {}, {"x", content}}}
		if err := e.Sign(GenerateSecretKey()); err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, string(e.AppendJSON(nil)))
	}
	ev := seeds[1]
	seeds = append(seeds,
		strings.Replace(ev, `"content":"hello"`, `"content":"\ud83e\udd84\ud800\u00e9\/"`, 1),
		strings.Replace(ev, `"kind":23195`, `"kind":1,"kind":"x","Kind":2`, 1),
		strings.Replace(ev, `{`, `{"tags":null,"x":[{"y":[1.5e3,-0,true]}],`, 1),
		strings.Replace(ev, `"tags":[`, `"tags":[["p",null],`, 1),
		strings.Replace(ev, `,"`, ` , "`, -1),
		`{"kind":"1"}`, `{}`, `[]`, `null`, `"\u00e9"`, `{"id":null,"content":null}`,
	)
	return seeds
}

// nwcContent is the base64 of a ~225-byte NIP-44 payload, as in an NWC request.
func nwcContent() string {
	raw := make([]byte, 225)
	for i := range raw {
		raw[i] = byte(i*131 + 7)
	}
	return base64.StdEncoding.EncodeToString(raw)
}

// FuzzUnmarshalEventDiff: the hand-written decoder and the encoding/json-based reference
// agree on every input without case-variant keys.
func FuzzUnmarshalEventDiff(f *testing.F) {
	for _, s := range fuzzSeedEvents(f) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkAgainstReference(t, data)
	})
}

// FuzzJSONScan: SkipJSONValue accepts exactly what encoding/json calls valid, and
// UnquoteJSONString decodes strings as encoding/json does.
func FuzzJSONScan(f *testing.F) {
	for _, s := range []string{`"a\u00e9\ud83e\udd84\ud800x"`, "\"\xff\xed\xa0\x80\"", `[1,{"a":[true,null,-0.5e3]}]`,
		`{"a":}`, ` 0 `, `01`, `"\u12"`, `[[[[]]]]`, `"\"\\\/\b\f\n\r\t"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := SkipJSONValue(data, 0)
		ok := err == nil && skipSpace(data, n) == len(data)
		if ok != json.Valid(data) {
			t.Fatalf("SkipJSONValue(%q) = %d, %v; json.Valid = %v", data, n, err, !ok)
		}
		var want string
		wantErr := json.Unmarshal(data, &want)
		got, n, err := UnquoteJSONString(nil, data)
		if err == nil && skipSpace(data, n) != len(data) {
			err = errors.New("trailing data")
		}
		isString := bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte(`"`))
		if !isString {
			return // json.Unmarshal also accepts null into a string
		}
		if (err == nil) != (wantErr == nil) || err == nil && string(got) != want {
			t.Fatalf("UnquoteJSONString(%q) = %q, %v; encoding/json: %q, %v", data, got, err, want, wantErr)
		}
	})
}

func BenchmarkEventUnmarshal(b *testing.B) {
	sk, ev := benchEvent(b)
	ev.Tags = Tags{{"p", "3bf0c63fcb93463407af97a5e5ee64fa883d107ef9e558472c4eb9aaaefa459d"}}
	ev.Content = nwcContent()
	if err := ev.Sign(sk); err != nil {
		b.Fatal(err)
	}
	data := ev.AppendJSON(nil)
	b.Run("reference", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := refUnmarshalEvent(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("new", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		var got Event
		for b.Loop() {
			if err := got.UnmarshalJSON(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}
