package relay

import (
	"context"
	"encoding/hex"
	"fmt"
	"iter"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/nwc-go/nwc/nostr"
)

func mustFilter(t *testing.T, js string) *filter {
	t.Helper()
	f, err := parseFilter([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestSubIndexMatch(t *testing.T) {
	sk := nostr.GenerateSecretKey()
	p1, p2 := strings.Repeat("1", 64), strings.Repeat("2", 64)
	ev := signed(t, sk, 23194, 100, nostr.Tags{{"p", p1}, {"p", p1}, {"e", strings.Repeat("e", 64)}}, "")

	ix := newSubIndex()
	mk := func(id string, filters ...string) *subscription {
		fs := make([]*filter, len(filters))
		for i, js := range filters {
			fs[i] = mustFilter(t, js)
		}
		s := newSubscription(nil, id, fs)
		ix.add(s)
		return s
	}
	byP := mk("byP", `{"kinds":[23194],"#p":["`+p1+`"]}`)
	mk("otherP", `{"#p":["`+p2+`"]}`)
	byID := mk("byID", `{"ids":["`+ev.ID.String()+`"]}`)
	byAuthor := mk("byAuthor", `{"authors":["`+sk.Public().String()+`"],"kinds":[23194]}`)
	mk("wrongKind", `{"authors":["`+sk.Public().String()+`"],"kinds":[1]}`)
	scan := mk("scan", `{"kinds":[23194]}`)
	twice := mk("twice", `{"#p":["`+p1+`"]}`, `{"#e":["`+strings.Repeat("e", 64)+`"]}`, `{}`)
	mk("nothing", `{"ids":[]}`)
	gone := mk("gone", `{"#p":["`+p1+`"]}`)
	ix.remove(gone)

	var got []string
	for _, s := range ix.match(ev) {
		got = append(got, s.id)
	}
	slices.Sort(got)
	want := []string{byAuthor.id, byID.id, byP.id, scan.id, twice.id}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("matched %v, want %v", got, want)
	}
	if n := ix.len(); n != 8 {
		t.Errorf("len %d", n)
	}
	for _, tab := range []*subTable{&ix.byID, &ix.byTag, &ix.byAuthor} {
		for k, ie := range entriesOf(tab) {
			if ie.sub == gone {
				t.Errorf("removed subscription still filed under %x", k)
			}
		}
	}
}

func TestSubscriptionBuffersUntilEOSE(t *testing.T) {
	r, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cancelled := false
	c := &conn{r: r, q: newOutQueue(1 << 20), cancel: func() { cancelled = true }}
	c.queueLimit = c.q.limit
	s := newSubscription(c, "s", []*filter{{}})
	sk := nostr.GenerateSecretKey()
	e1 := signed(t, sk, 1, 1, nil, "also in the stored results")
	e2 := signed(t, sk, 1, 2, nil, "only live")
	e3 := signed(t, sk, 1, 3, nil, "after EOSE")
	for _, ev := range []*nostr.Event{e1, e2} {
		if !s.deliver(ev, ev.AppendJSON(nil)) {
			t.Fatal("not buffered")
		}
	}
	if got := c.q.take(); len(got) != 0 {
		t.Fatalf("%d messages sent before EOSE", len(got))
	}
	s.goLive(map[nostr.EventID]struct{}{e1.ID: {}})
	s.deliver(e3, e3.AppendJSON(nil))
	got := c.q.take()
	if len(got) != 2 || !strings.Contains(string(got[0]), e2.ID.String()) || !strings.Contains(string(got[1]), e3.ID.String()) {
		t.Fatalf("after EOSE got %q", got)
	}
	s.close()
	if s.deliver(e3, e3.AppendJSON(nil)) {
		t.Error("closed subscription accepted an event")
	}

	// A consumer whose queue is full is dropped, once.
	small := &conn{r: r, q: newOutQueue(10), cancel: func() { cancelled = true }}
	small.queueLimit = 10
	s2 := newSubscription(small, "s2", []*filter{{}})
	s2.goLive(nil)
	s2.deliver(e1, e1.AppendJSON(nil)) // an empty queue takes one message, however big
	if s2.deliver(e2, e2.AppendJSON(nil)) || !cancelled || r.Stats().SlowDropped != 1 {
		t.Fatalf("full queue: cancelled %v, stats %+v", cancelled, r.Stats())
	}
}

func TestFilterIndexPrefersSelectiveTags(t *testing.T) {
	ix := newSubIndex()
	f := mustFilter(t, `{"#t":["x"],"#p":["`+strings.Repeat("1", 64)+`"],"#e":["`+strings.Repeat("e", 64)+`"],"authors":["`+strings.Repeat("a", 64)+`"]}`)
	ix.add(newSubscription(nil, "s", []*filter{f}))
	if _, ok := ix.byTag.one[ix.tagKey('e', strings.Repeat("e", 64))]; !ok || ix.byTag.len() != 1 || ix.byAuthor.len() != 0 {
		t.Errorf("filed under %v / %d authors, want only #e", ix.byTag.one, ix.byAuthor.len())
	}
}

// entriesOf yields every key of t with each entry filed under it.
func entriesOf(t *subTable) iter.Seq2[uint64, *indexEntry] {
	return func(yield func(uint64, *indexEntry) bool) {
		for k, ie := range t.one {
			if !yield(k, ie) {
				return
			}
		}
		for k, set := range t.many {
			for ie := range set {
				if !yield(k, ie) {
					return
				}
			}
		}
	}
}

// check fails unless t holds exactly want (key -> entries) and keeps its invariants: a
// key is inline or in a set, never both, and a set has at least two entries.
func checkTable(t *testing.T, tab *subTable, want map[uint64][]*indexEntry) {
	t.Helper()
	got := make(map[uint64][]*indexEntry)
	for k, ie := range entriesOf(tab) {
		got[k] = append(got[k], ie)
	}
	for k, set := range tab.many {
		if _, ok := tab.one[k]; ok {
			t.Errorf("key %d both inline and in a set", k)
		}
		if len(set) < 2 {
			t.Errorf("key %d has a set of %d", k, len(set))
		}
	}
	for k := range want {
		if len(want[k]) == 0 {
			delete(want, k)
		}
	}
	byPtr := func(a, b *indexEntry) int { return strings.Compare(fmt.Sprintf("%p", a), fmt.Sprintf("%p", b)) }
	for k := range got {
		slices.SortFunc(got[k], byPtr)
	}
	for k := range want {
		slices.SortFunc(want[k], byPtr)
	}
	if !maps.EqualFunc(got, want, slices.Equal) {
		t.Errorf("table holds %v, want %v", got, want)
	}
	if tab.len() != len(want) {
		t.Errorf("len %d, want %d", tab.len(), len(want))
	}
	if len(want) == 0 && (tab.one != nil || tab.many != nil) {
		t.Error("empty table keeps its maps")
	}
}

// TestSubTable files entries under colliding and duplicate keys, as distinct values whose
// hashes collide would be, and checks the table after every step.
func TestSubTable(t *testing.T) {
	a, b, c := &indexEntry{}, &indexEntry{}, &indexEntry{}
	type op struct {
		add bool
		k   uint64
		ie  *indexEntry
	}
	tests := []struct {
		name string
		ops  []op
		want map[uint64][]*indexEntry
	}{
		{"one inline", []op{{true, 1, a}}, map[uint64][]*indexEntry{1: {a}}},
		{"same entry twice", []op{{true, 1, a}, {true, 1, a}}, map[uint64][]*indexEntry{1: {a}}},
		{"collision makes a set", []op{{true, 1, a}, {true, 1, b}, {true, 1, c}}, map[uint64][]*indexEntry{1: {a, b, c}}},
		{"set back to inline", []op{{true, 1, a}, {true, 1, b}, {false, 1, a}}, map[uint64][]*indexEntry{1: {b}}},
		{"set of three loses one", []op{{true, 1, a}, {true, 1, b}, {true, 1, c}, {false, 1, b}}, map[uint64][]*indexEntry{1: {a, c}}},
		{"remove absent entry", []op{{true, 1, a}, {false, 1, b}, {false, 2, a}}, map[uint64][]*indexEntry{1: {a}}},
		{"remove twice", []op{{true, 1, a}, {true, 1, b}, {false, 1, b}, {false, 1, b}}, map[uint64][]*indexEntry{1: {a}}},
		{"separate keys", []op{{true, 1, a}, {true, 2, a}, {true, 2, b}, {false, 1, a}}, map[uint64][]*indexEntry{2: {a, b}}},
		{"all gone", []op{{true, 1, a}, {true, 1, b}, {true, 2, c}, {false, 1, a}, {false, 2, c}, {false, 1, b}}, nil},
		{"empty", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tab subTable
			for _, o := range tt.ops {
				if o.add {
					tab.add(o.k, o.ie)
				} else {
					tab.remove(o.k, o.ie)
				}
			}
			checkTable(t, &tab, tt.want)
		})
	}
}

// TestSubTableShrinks empties a table past the size at which it is rebuilt, while a key
// with a set outlives the rest, and checks the set still turns back into an inline entry.
func TestSubTableShrinks(t *testing.T) {
	var tab subTable
	a, b := &indexEntry{}, &indexEntry{}
	tab.add(0, a)
	tab.add(0, b)
	singles := make([]indexEntry, 1000)
	for i := range singles {
		tab.add(uint64(i+1), &singles[i])
	}
	for i := range singles {
		tab.remove(uint64(i+1), &singles[i])
	}
	tab.remove(0, a)
	checkTable(t, &tab, map[uint64][]*indexEntry{0: {b}})
	tab.remove(0, b)
	checkTable(t, &tab, nil)
}

// TestSubIndexMatchesLikeScan compares the index with checking every filter of every
// subscription, over random filters whose values overlap (keys with one entry and with
// many), while subscriptions come and go; at the end nothing is left filed.
func TestSubIndexMatchesLikeScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	hexOf := func(i int) string { return fmt.Sprintf("%064x", i) }
	pick := func(n int) []string {
		out := make([]string, 1+rng.IntN(n))
		for i := range out {
			out[i] = `"` + hexOf(rng.IntN(40)) + `"`
		}
		return out
	}
	randomFilter := func() string {
		switch rng.IntN(6) {
		case 0:
			return `{"ids":[` + strings.Join(pick(3), ",") + `]}`
		case 1:
			return `{"authors":[` + strings.Join(pick(3), ",") + `],"kinds":[1,23194]}`
		case 2:
			return `{"kinds":[23194],"#p":[` + strings.Join(pick(20), ",") + `]}` // duplicates too
		case 3:
			return `{"#e":[` + strings.Join(pick(2), ",") + `],"#p":[` + strings.Join(pick(5), ",") + `]}`
		case 4:
			return `{"kinds":[1]}`
		}
		return `{"#t":["x"]}`
	}
	var events []*nostr.Event
	for i := range 200 {
		tags := nostr.Tags{{"p", hexOf(rng.IntN(40))}}
		if i%2 == 0 {
			tags = append(tags, nostr.Tags{{"e", hexOf(rng.IntN(40))}, {"p", hexOf(rng.IntN(40))}, {"t", "x"}}[:1+rng.IntN(3)]...)
		}
		var id nostr.EventID
		var pk nostr.PublicKey
		hex.Decode(id[:], []byte(hexOf(rng.IntN(40))))
		hex.Decode(pk[:], []byte(hexOf(rng.IntN(40))))
		events = append(events, &nostr.Event{ID: id, PubKey: pk, Kind: []int{1, 23194, 7}[rng.IntN(3)], Tags: tags})
	}

	ix := newSubIndex()
	var subs []*subscription
	compare := func(stage string) {
		t.Helper()
		for _, ev := range events {
			var want []*subscription
			for _, s := range subs {
				if slices.ContainsFunc(s.filters, func(f *filter) bool { return f.matches(ev) }) {
					want = append(want, s)
				}
			}
			got := ix.match(ev)
			if len(got) != len(want) {
				t.Fatalf("%s: matched %d subscriptions, want %d", stage, len(got), len(want))
			}
			for _, s := range want {
				if !slices.Contains(got, s) {
					t.Fatalf("%s: subscription %s not matched", stage, s.id)
				}
			}
		}
	}
	for i := range 300 {
		fs := make([]*filter, 1+rng.IntN(3))
		for j := range fs {
			fs[j] = mustFilter(t, randomFilter())
		}
		s := newSubscription(nil, strconv.Itoa(i), fs)
		ix.add(s)
		subs = append(subs, s)
	}
	compare("all subscribed")
	rng.Shuffle(len(subs), func(i, j int) { subs[i], subs[j] = subs[j], subs[i] })
	for _, s := range subs[150:] {
		ix.remove(s)
	}
	subs = subs[:150]
	compare("half removed")
	for _, s := range subs {
		ix.remove(s)
	}
	subs = nil
	compare("all removed")
	for _, tab := range []*subTable{&ix.byID, &ix.byTag, &ix.byAuthor} {
		checkTable(t, tab, nil)
	}
	if ix.len() != 0 || len(ix.scan) != 0 {
		t.Errorf("%d subscriptions, %d scanned left", ix.len(), len(ix.scan))
	}
}

// TestSubIndexMemory holds the index to its budget for the wallet service's REQs (at most
// 80 bytes per indexed #p value) and checks that removing every subscription gives the
// memory back rather than leaving empty map buckets behind.
func TestSubIndexMemory(t *testing.T) {
	filters, _ := walletSubs(t, 200, 500)
	per, left := indexHeapPerValue(t, filters)
	t.Logf("%.1f B/value, %d B left", per, left)
	if per > 80 {
		t.Errorf("index holds %.1f B per #p value, budget 80", per)
	}
	if left > 64<<10 {
		t.Errorf("index still holds %d B with no subscription", left)
	}
}

// TestRelayIndexEmptyAfterClose subscribes through real connections, with REQs that
// replace, CLOSEs and connections that go away, and checks nothing stays filed.
func TestRelayIndexEmptyAfterClose(t *testing.T) {
	r, url := startRelay(t, Config{})
	p := func(i int) string { return fmt.Sprintf("%064x", i) }
	var clients []*testClient
	for i := range 20 {
		c := dial(t, url)
		clients = append(clients, c)
		c.req("a", `{"kinds":[23194],"#p":["`+p(i)+`","`+p(i+1000)+`"]}`, `{"authors":["`+p(i)+`"]}`)
		c.req("b", `{"ids":["`+p(i)+`"]}`, `{"kinds":[1]}`)
		if i%2 == 0 {
			c.send("CLOSE", "b")
		}
		// Replaces a; answered only once the CLOSE before it is handled.
		c.req("a", `{"kinds":[23194],"#p":["`+p(i+2000)+`"]}`)
	}
	if n := r.Stats().Subscriptions; n != 30 {
		t.Fatalf("Subscriptions = %d, want 30", n)
	}
	for _, c := range clients[:10] {
		c.ws.CloseNow() // the client goes away
	}
	// The rest answer the relay's close handshake when it shuts down.
	var wg sync.WaitGroup
	for _, c := range clients[10:] {
		wg.Go(func() {
			for {
				if _, _, err := c.ws.Read(context.Background()); err != nil {
					return
				}
			}
		})
	}
	// Close waits for every connection's cleanup, those that went first and the rest.
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	ix := r.subs
	for _, tab := range []*subTable{&ix.byID, &ix.byTag, &ix.byAuthor} {
		checkTable(t, tab, nil)
	}
	if ix.len() != 0 || len(ix.scan) != 0 {
		t.Errorf("%d subscriptions, %d scanned left", ix.len(), len(ix.scan))
	}
}
