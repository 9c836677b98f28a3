package relay

import (
	"bytes"
	"crypto/rand"
	"slices"
	"strconv"
	"testing"

	"github.com/nwc-go/nwc/nostr"
)

// unsignedEvent returns an event with random id, author (unless pk is set) and signature:
// the store trusts its caller to have verified events, so tests of the store alone need
// no (slow) signing.
func unsignedEvent(pk *nostr.PublicKey, kind int, at int64, tags nostr.Tags, content string) *nostr.Event {
	ev := &nostr.Event{CreatedAt: at, Kind: kind, Tags: tags, Content: content}
	if ev.Tags == nil {
		ev.Tags = nostr.Tags{}
	}
	rand.Read(ev.ID[:])
	rand.Read(ev.Sig[:])
	if pk != nil {
		ev.PubKey = *pk
	} else {
		rand.Read(ev.PubKey[:])
	}
	return ev
}

// tricky holds tags and contents that exercise every escape the wire JSON uses.
var trickyTags = []nostr.Tags{
	{},
	{{}},
	{{"p"}},
	{{"p", "ab"}, {"e", "cd", "wss://relay", "reply"}},
	{{"t", `quote " and backslash \`}, {"\n", "newline name"}, {"\"", `\"`}},
	{{"d", "\x00\x01\x1f\x7f control"}, {"x", "ünïcödé ✓"}, {"", ""}},
	{{"expiration", "100"}, {"nested", "[\"x\"],\"content\":\"y\""}},
}

var trickyContents = []string{"", "plain", "\"quoted\" \\ back\tslash\r\n\b\f\x00", `],"content":"fake`, "ünïcödé ✓"}

func wantRawTags(tags nostr.Tags) [][2]string {
	var out [][2]string
	for _, t := range tags {
		if len(t) >= 2 {
			out = append(out, [2]string{escaped(t[0]), escaped(t[1])})
		}
	}
	return out
}

func gotRawTags(e *entry) [][2]string {
	var out [][2]string
	for name, value := range e.tags() {
		out = append(out, [2]string{name, value})
	}
	return out
}

// checkEntry asserts that the compact form of ev gives back its exact wire JSON and its
// tags.
func checkEntry(t *testing.T, ev *nostr.Event) {
	t.Helper()
	e := newEntry(ev)
	want := ev.AppendJSON(nil)
	if got := e.appendJSON(nil); !bytes.Equal(got, want) {
		t.Fatalf("wire JSON\n got %s\nwant %s", got, want)
	}
	if len(want) > e.jsonLen() {
		t.Errorf("jsonLen %d < %d", e.jsonLen(), len(want))
	}
	// Parsed events hold valid UTF-8 (the JSON decoder replaces bad bytes), so only those
	// have to decode back the same.
	if ev.ValidUTF8() {
		if got := e.tagList(); !slices.EqualFunc(got, ev.Tags, slices.Equal) {
			t.Errorf("tagList: got %q, want %q", got, ev.Tags)
		}
	}
	if got, want := gotRawTags(e), wantRawTags(ev.Tags); !slices.Equal(got, want) {
		t.Errorf("tags: got %q, want %q", got, want)
	}
}

func TestEntryRoundTrip(t *testing.T) {
	for i, tags := range trickyTags {
		for j, content := range trickyContents {
			t.Run(strconv.Itoa(i)+"/"+strconv.Itoa(j), func(t *testing.T) {
				checkEntry(t, unsignedEvent(nil, 30000+i, int64(1_700_000_000+j), tags, content))
			})
		}
	}
}

// FuzzEntry checks the compact form against nostr's encoding for arbitrary tags and
// content, and that the tag scanner never misbehaves on arbitrary input.
func FuzzEntry(f *testing.F) {
	f.Add("p", "ab", "e", "plain")
	f.Add("\"", `\`, "\n", "\"x\\\"]")
	f.Add("d", "\x00", "", `],"content":"`)
	f.Add("[", "]", ",", "[[\"a\",\"b\"]]")
	f.Add("0", "0", "\xed", "0")
	f.Fuzz(func(t *testing.T, name, value, other, content string) {
		tags := nostr.Tags{{name, value}, {other}, {other, name, value}, {}, {value, content}}
		checkEntry(t, unsignedEvent(nil, 1, 1, tags, content))
		for _, body := range []string{content, "[" + content, "[[" + content, "[[\"" + content} {
			for n, v := range rawTags(body) {
				if len(n)+len(v) > len(body) {
					t.Fatalf("rawTags(%q) yielded %q %q", body, n, v)
				}
			}
		}
	})
}

func TestIndex(t *testing.T) {
	a, b, c := &entry{}, &entry{}, &entry{}
	type op struct {
		add  bool
		e    *entry
		want []*entry // entries under the key afterwards
		many bool     // stored as a set
	}
	tests := []struct {
		name string
		ops  []op
	}{
		{"single inline", []op{{true, a, []*entry{a}, false}, {false, a, nil, false}}},
		{"added twice", []op{{true, a, []*entry{a}, false}, {true, a, []*entry{a}, false}}},
		{"grows to a set and back", []op{
			{true, a, []*entry{a}, false},
			{true, b, []*entry{a, b}, true},
			{true, c, []*entry{a, b, c}, true},
			{false, a, []*entry{b, c}, true},
			{false, c, []*entry{b}, false},
			{false, b, nil, false},
		}},
		{"removing an absent entry", []op{{true, a, []*entry{a}, false}, {false, b, []*entry{a}, false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := newIndex()
			for i, o := range tt.ops {
				if o.add {
					x.add(7, o.e)
				} else {
					x.remove(7, o.e)
				}
				var got []*entry
				for e := range x.get(7).all {
					got = append(got, e)
				}
				same := len(got) == len(o.want) && x.get(7).len() == len(o.want)
				for _, e := range o.want {
					same = same && slices.Contains(got, e)
				}
				if !same || (x.many[7] != nil) != o.many || x.get(8).len() != 0 {
					t.Fatalf("op %d: got %d entries (many %v), want %d (many %v)", i, len(got), x.many[7] != nil, len(o.want), o.many)
				}
			}
		})
	}
}

// TestEntryMatchesLikeEvent checks the stored-entry matcher against filter.matches on the
// parsed event for every pair of a set of events and filters.
func TestEntryMatchesLikeEvent(t *testing.T) {
	var pk nostr.PublicKey
	rand.Read(pk[:])
	var evs []*nostr.Event
	for i, tags := range trickyTags {
		evs = append(evs, unsignedEvent(&pk, 1+i%2, int64(100+i), tags, "c"))
	}
	filters := []string{
		`{}`,
		`{"kinds":[1]}`,
		`{"authors":["` + pk.String() + `"],"since":102,"until":104}`,
		`{"ids":["` + evs[3].ID.String() + `"]}`,
		`{"#p":["ab"]}`,
		`{"#e":["cd"],"#p":["ab","zz"]}`,
		`{"#t":["quote \" and backslash \\"]}`,
		`{"#\n":["newline name"]}`,
		`{"#\"":["\\\""]}`,
		`{"#d":["\u0000\u0001\u001f` + "\x7f" + ` control"]}`,
		`{"#x":["ünïcödé ✓"],"#":[""]}`,
		`{"#p":[]}`,
		`{"#p":["a"]}`,
	}
	var compiled []*filter
	for _, raw := range filters {
		f, err := parseFilter([]byte(raw))
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		compiled = append(compiled, f)
	}
	// Longer tag names do not come from JSON filters but the matcher handles them.
	filters = append(filters, "nested", "expiration")
	compiled = append(compiled,
		&filter{tags: []tagCond{{name: "nested", values: []string{`["x"],"content":"y"`}}}},
		&filter{kindsSet: true, kinds: []int{1, 2}, tags: []tagCond{{name: "expiration", values: []string{"1", "100"}}}})
	for k, f := range compiled {
		raw := filters[k]
		matched := 0
		for i, ev := range evs {
			want := f.matches(ev)
			if got := newEntry(ev).matches(f, rawConds(f)); got != want {
				t.Errorf("filter %s, event %d: entry matches %v, event %v", raw, i, got, want)
			}
			if want {
				matched++
			}
		}
		// The store, whatever index it picks, returns the same.
		st := newStore(100, 100)
		for _, ev := range evs {
			st.add(ev, nil)
		}
		if got := st.query([]*filter{f}, 0, 100); len(got) != matched {
			t.Errorf("filter %s: store returned %d events, want %d", raw, len(got), matched)
		}
	}
}

func TestStoreEscapedSlotsAndTags(t *testing.T) {
	st := newStore(100, 100)
	var pk nostr.PublicKey
	rand.Read(pk[:])
	d := "list \"one\"\n\\"
	old := unsignedEvent(&pk, 30000, 10, nostr.Tags{{"d", d}}, "old")
	other := unsignedEvent(&pk, 30000, 11, nostr.Tags{{"d", d + " "}}, "other slot")
	cur := unsignedEvent(&pk, 30000, 12, nostr.Tags{{"d", d}}, "new")
	for _, ev := range []*nostr.Event{old, other, cur} {
		if res := st.add(ev, nil); res != resAdded {
			t.Fatalf("add: %v", res)
		}
	}
	if res := st.add(unsignedEvent(&pk, 30000, 11, nostr.Tags{{"d", d}}, "older"), nil); res != resHaveNewer {
		t.Fatalf("older event in the slot: %v, want resHaveNewer", res)
	}
	f := &filter{tags: []tagCond{{name: "d", values: []string{d}}}}
	if got := st.query([]*filter{f}, 0, 10); len(got) != 1 || got[0].ev.ID != cur.ID || !bytes.Equal(got[0].json, cur.AppendJSON(nil)) {
		t.Fatalf("#d query: %d events", len(got))
	}
	// A deletion naming the slot by its (unescaped) d removes it and blocks older ones.
	del := unsignedEvent(&pk, nostr.KindDeletion, 20, nostr.Tags{{"a", "30000:" + pk.String() + ":" + d}}, "")
	st.add(del, nil)
	if got := st.query([]*filter{f}, 0, 10); len(got) != 0 {
		t.Fatalf("deleted slot still served")
	}
	if res := st.add(unsignedEvent(&pk, 30000, 19, nostr.Tags{{"d", d}}, "older"), nil); res != resDeleted {
		t.Fatalf("event older than its deletion: %v, want resDeleted", res)
	}
	if st.len() != 2 {
		t.Fatalf("%d events stored, want the other slot and the deletion", st.len())
	}
}

// TestEvictedDeletionForgetsTombstones checks that a deletion dropped by the cap no longer
// blocks what it deleted, as before the store was compacted.
func TestEvictedDeletionForgetsTombstones(t *testing.T) {
	st := newStore(1, 10)
	var pk nostr.PublicKey
	rand.Read(pk[:])
	note := unsignedEvent(&pk, 1, 10, nil, "note")
	del := unsignedEvent(&pk, nostr.KindDeletion, 20, nostr.Tags{{"e", note.ID.String()}}, "")
	st.add(note, nil)
	st.add(del, nil)
	if res := st.add(note, nil); res != resDeleted {
		t.Fatalf("deleted note: %v, want resDeleted", res)
	}
	st.add(unsignedEvent(&pk, 1, 30, nil, "newer"), nil) // evicts the deletion (cap 1)
	if len(st.tombIDs) != 0 {
		t.Fatalf("tombstones left after the deletion was evicted: %d", len(st.tombIDs))
	}
	if res := st.add(note, nil); res != resAdded {
		t.Fatalf("note after its deletion was evicted: %v, want resAdded", res)
	}
}

// TestStoreMemoryPerEvent guards the memory a stored info event costs (BenchmarkStoreMemory
// measures it with signed events; about 650 bytes). The bound is loose so that heap
// measurement noise cannot fail it, yet catches a return to keeping the parsed event.
func TestStoreMemoryPerEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 20,000 events")
	}
	lines := make([][]byte, 20_000)
	content := "pay_invoice multi_pay_invoice pay_keysend multi_pay_keysend make_invoice lookup_invoice list_transactions get_balance get_info notifications"
	for i := range lines {
		var p nostr.PublicKey
		rand.Read(p[:])
		ev := unsignedEvent(nil, 13194, int64(1_700_000_000+i), nostr.Tags{
			{"encryption", "nip44_v2 nip04"},
			{"notifications", "payment_received payment_sent"},
			{"p", p.String()},
		}, content)
		lines[i] = ev.AppendJSON(nil)
	}
	if got := liveHeapPerEvent(t, lines); got > 900 {
		t.Errorf("a stored info event holds %.0f bytes of heap, want at most 900", got)
	}
}
