package relay

import (
	"slices"
	"strings"
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
		for k, ie := range tab.all() {
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
