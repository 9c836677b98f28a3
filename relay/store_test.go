package relay

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
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
	checkStored(t, newEntry(ev), ev)
}

// checkShared stores ev, which must be of a replaceable or addressable kind, and a copy of
// it by another author, and checks that the copy shares the common parts of its body yet
// gives back its own exact wire JSON and tags.
func checkShared(t *testing.T, ev *nostr.Event) {
	t.Helper()
	st := newStore(10, 10)
	twin := unsignedEvent(nil, ev.Kind, ev.CreatedAt, ev.Tags, ev.Content)
	for _, x := range []*nostr.Event{ev, twin} {
		if res := st.add(x, nil); res != resAdded {
			t.Fatalf("add: %v", res)
		}
	}
	e := st.byIDLookup(&twin.ID)
	if e == nil || e.sh == nil {
		t.Fatalf("the second event does not share its body parts")
	}
	checkStored(t, e, twin)
	checkStored(t, st.byIDLookup(&ev.ID), ev)
}

// checkStored asserts that e gives back the exact wire JSON and the tags of ev.
func checkStored(t *testing.T, e *entry, ev *nostr.Event) {
	t.Helper()
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
				ev := unsignedEvent(nil, 30000+i, int64(1_700_000_000+j), tags, content)
				checkEntry(t, ev)
				checkShared(t, ev)
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
		checkShared(t, unsignedEvent(nil, 10000, 1, tags, content))
		checkShared(t, unsignedEvent(nil, 30000, 1, tags, content))
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
// measures it with signed events: about 415 bytes when the events share their content and
// other tags, as a service's do, 670 when each content is unique). The bounds are loose so
// that heap measurement noise cannot fail them, yet catch a loss of the sharing or a return
// to keeping the parsed event.
func TestStoreMemoryPerEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 20,000 events")
	}
	const methods = "pay_invoice multi_pay_invoice pay_keysend multi_pay_keysend make_invoice lookup_invoice list_transactions get_balance get_info notifications"
	tests := []struct {
		name    string
		content func(i int) string
		max     float64
	}{
		{"shared content", func(int) string { return methods }, 520},
		{"unique content", func(i int) string { return methods + " c" + strconv.Itoa(100_000+i) }, 900},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines := make([][]byte, 20_000)
			for i := range lines {
				var p nostr.PublicKey
				rand.Read(p[:])
				ev := unsignedEvent(nil, 13194, int64(1_700_000_000+i), nostr.Tags{
					{"encryption", "nip44_v2 nip04"},
					{"notifications", "payment_received payment_sent"},
					{"p", p.String()},
				}, tt.content(i))
				lines[i] = ev.AppendJSON(nil)
			}
			if got := liveHeapPerEvent(t, lines); got > tt.max {
				t.Errorf("a stored info event holds %.0f bytes of heap, want at most %.0f", got, tt.max)
			} else {
				t.Logf("%.0f bytes of heap per stored info event", got)
			}
		})
	}
}

// sharedRefs returns the refcount of every shared body part in st, by the content it
// ends with.
func sharedRefs(t *testing.T, st *store) map[string]int {
	t.Helper()
	out := make(map[string]int)
	for _, sh := range st.shared {
		i := strings.LastIndex(sh.post, bodyContentSep)
		var content string
		if i < 0 || json.Unmarshal([]byte(sh.post[i+len(bodyContentSep):]), &content) != nil {
			t.Fatalf("shared post %q does not end with a content", sh.post)
		}
		if _, dup := out[content]; dup {
			t.Fatalf("two shared parts end with content %q", content)
		}
		out[content] = sh.refs
	}
	return out
}

// checkSharing asserts the sharing bookkeeping against what st holds: every shared part
// counts exactly the entries using it and is listed, every stored replaceable entry that
// holds its parts whole is counted in seen, and nothing else is kept.
func checkSharing(t *testing.T, st *store) {
	t.Helper()
	refs := make(map[*shared]int)
	seen := make(map[uint32]int32)
	for e := range st.byID.all {
		switch {
		case e.sh != nil:
			refs[e.sh]++
		case hasSlot(int(e.Kind)):
			a, b := splitBody(e.body)
			seen[uint32(st.sharedKey(e.body[:a], e.body[b:]))]++
		}
	}
	if len(refs) != len(st.shared) {
		t.Errorf("%d shared parts listed, %d in use", len(st.shared), len(refs))
	}
	for sh, n := range refs {
		if st.shared[sh.key] != sh || sh.refs != n {
			t.Errorf("shared part %q: refs %d, used by %d (listed %v)", sh.post, sh.refs, n, st.shared[sh.key] == sh)
		}
	}
	if !maps.Equal(seen, st.seen) {
		t.Errorf("seen %v, want %v", st.seen, seen)
	}
}

// TestStoreSharesBodyParts follows the shared parts of replaceable events through every way
// an event enters or leaves the store, down to nothing left once no event uses them.
func TestStoreSharesBodyParts(t *testing.T) {
	keys := make([]nostr.PublicKey, 5)
	for i := range keys {
		rand.Read(keys[i][:])
	}
	info := func(i int, at int64, content string, extra ...nostr.Tag) *nostr.Event {
		tags := nostr.Tags{{"encryption", "nip44_v2 nip04"}, {"notifications", "payment_received"}, {"p", strconv.Itoa(i)}}
		return unsignedEvent(&keys[i], 13194, at, append(tags, extra...), content)
	}
	deletion := func(i int, at int64) *nostr.Event {
		return unsignedEvent(&keys[i], nostr.KindDeletion, at, nostr.Tags{{"a", "13194:" + keys[i].String() + ":"}}, "gone")
	}
	list := func(i int, at int64, d string) *nostr.Event {
		return unsignedEvent(&keys[i], 30078, at, nostr.Tags{{"title", "t"}, {"d", d}, {"e", d}, {"client", "c"}}, "L")
	}
	exp := nostr.Tag{"expiration", "50"}
	type step struct {
		add   *nostr.Event
		sweep int64          // if add is nil: expire what is due at this time
		refs  map[string]int // afterwards: content -> refs of its shared parts
		n     int            // events stored afterwards
	}
	tests := []struct {
		name     string
		maxStore int // cap of replaceable events
		steps    []step
	}{
		{"same content, removed by replacement and deletion", 10, []step{
			{add: info(0, 10, "A"), refs: map[string]int{}, n: 1}, // holds its parts itself
			{add: info(1, 10, "A"), refs: map[string]int{"A": 1}, n: 2},
			{add: info(2, 10, "A"), refs: map[string]int{"A": 2}, n: 3},
			{add: info(0, 11, "A"), refs: map[string]int{"A": 3}, n: 3}, // the first holder replaced
			{add: deletion(1, 12), refs: map[string]int{"A": 2}, n: 3},
			{add: deletion(2, 12), refs: map[string]int{"A": 1}, n: 3},
			{add: deletion(0, 12), refs: map[string]int{}, n: 3},
		}},
		{"replacement that changes the content moves the refcount", 10, []step{
			{add: info(0, 10, "A"), refs: map[string]int{}, n: 1},
			{add: info(1, 10, "A"), refs: map[string]int{"A": 1}, n: 2},
			{add: info(2, 10, "A"), refs: map[string]int{"A": 2}, n: 3},
			{add: info(3, 10, "B"), refs: map[string]int{"A": 2}, n: 4},
			{add: info(1, 11, "B"), refs: map[string]int{"A": 1, "B": 1}, n: 4},
			{add: info(2, 11, "B"), refs: map[string]int{"B": 2}, n: 4},
			{add: info(0, 11, "B"), refs: map[string]int{"B": 3}, n: 4},
			{add: info(0, 9, "A"), refs: map[string]int{"B": 3}, n: 4}, // older: refused
			{add: info(3, 11, "A"), refs: map[string]int{"B": 3}, n: 4},
			{add: info(0, 12, "A"), refs: map[string]int{"A": 1, "B": 2}, n: 4},
		}},
		{"expiration", 10, []step{
			{add: info(0, 10, "A", exp), refs: map[string]int{}, n: 1},
			{add: info(1, 10, "A", exp), refs: map[string]int{"A": 1}, n: 2},
			{add: info(2, 10, "B"), refs: map[string]int{"A": 1}, n: 3},
			{add: info(3, 10, "B"), refs: map[string]int{"A": 1, "B": 1}, n: 4},
			{sweep: 49, refs: map[string]int{"A": 1, "B": 1}, n: 4},
			{sweep: 50, refs: map[string]int{"B": 1}, n: 2},
		}},
		{"eviction by the cap", 2, []step{
			{add: info(0, 10, "A"), refs: map[string]int{}, n: 1},
			{add: info(1, 11, "A"), refs: map[string]int{"A": 1}, n: 2},
			{add: info(2, 12, "B"), refs: map[string]int{"A": 1}, n: 2},
			{add: info(3, 13, "B"), refs: map[string]int{"B": 1}, n: 2},
			{add: info(4, 14, "C"), refs: map[string]int{"B": 1}, n: 2}, // evicts B's first holder
			{add: info(0, 15, "C"), refs: map[string]int{"C": 1}, n: 2},
		}},
		{"addressable events share the tags around their d and e tags", 10, []step{
			{add: list(0, 10, "x"), refs: map[string]int{}, n: 1},
			{add: list(1, 10, "x"), refs: map[string]int{"L": 1}, n: 2},
			{add: list(1, 10, "y"), refs: map[string]int{"L": 2}, n: 3},
			{add: unsignedEvent(&keys[1], nostr.KindDeletion, 11, nostr.Tags{{"a", "30078:" + keys[1].String() + ":x"}}, ""), refs: map[string]int{"L": 1}, n: 3},
		}},
		{"regular events are not shared", 10, []step{
			{add: unsignedEvent(&keys[0], 1, 10, nil, "A"), refs: map[string]int{}, n: 1},
			{add: unsignedEvent(&keys[1], 1, 10, nil, "A"), refs: map[string]int{}, n: 2},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newStore(100, tt.maxStore)
			added := make(map[nostr.EventID][]byte)
			for i, s := range tt.steps {
				if s.add != nil {
					added[s.add.ID] = s.add.AppendJSON(nil)
					st.add(s.add, nil)
				} else {
					st.sweep(s.sweep)
				}
				checkSharing(t, st)
				if got := sharedRefs(t, st); !maps.Equal(got, s.refs) || st.len() != s.n {
					t.Fatalf("step %d: refs %v and %d events, want %v and %d", i, got, st.len(), s.refs, s.n)
				}
				// Every stored event still gives back its exact JSON, and indexed tags
				// in the shared parts and between them still find it.
				for _, r := range st.query([]*filter{{}}, 0, 100) {
					if !bytes.Equal(r.json, added[r.ev.ID]) {
						t.Fatalf("step %d: stored JSON\n got %s\nwant %s", i, r.json, added[r.ev.ID])
					}
					for name, value := range r.ev.tags() {
						f := &filter{tags: []tagCond{{name: name, values: []string{value}}}}
						if !slices.ContainsFunc(st.query([]*filter{f}, 0, 100), func(q result) bool { return q.ev == r.ev }) {
							t.Fatalf("step %d: #%s=%s does not find %s", i, name, value, r.json)
						}
					}
				}
			}
			// Once every event is gone, nothing of the shared parts is left.
			for _, e := range st.snapshot() {
				st.mu.Lock()
				st.remove(e)
				st.mu.Unlock()
			}
			if st.len() != 0 || len(st.shared) != 0 || len(st.seen) != 0 {
				t.Fatalf("after removing everything: %d events, %d shared parts, %d seen keys", st.len(), len(st.shared), len(st.seen))
			}
		})
	}
}
