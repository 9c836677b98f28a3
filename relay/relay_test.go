package relay

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/nwc-go/nwc/nostr"
)

func TestFilters(t *testing.T) {
	_, url := startRelay(t, Config{EventsPerSecond: -1})
	c := dial(t, url)
	alice, bob := nostr.GenerateSecretKey(), nostr.GenerateSecretKey()
	const base = 1_700_000_000
	p1 := nostr.GenerateSecretKey().Public().String()
	e1 := signed(t, alice, 1, base+1, nostr.Tags{{"p", p1}}, "one")
	e2 := signed(t, alice, 1, base+2, nostr.Tags{{"t", "nwc"}}, "two")
	e3 := signed(t, bob, 7, base+3, nostr.Tags{{"e", e1.ID.String()}}, "three")
	e4 := signed(t, bob, 1, base+4, nil, "four")
	for _, ev := range []*nostr.Event{e1, e2, e3, e4} {
		c.mustPublish(ev)
	}
	tests := []struct {
		name    string
		filters []string
		want    []*nostr.Event
	}{
		{"all newest first", []string{`{}`}, []*nostr.Event{e4, e3, e2, e1}},
		{"ids", []string{`{"ids":["` + e2.ID.String() + `","` + e3.ID.String() + `"]}`}, []*nostr.Event{e3, e2}},
		{"authors", []string{`{"authors":["` + alice.Public().String() + `"]}`}, []*nostr.Event{e2, e1}},
		{"kinds", []string{`{"kinds":[7]}`}, []*nostr.Event{e3}},
		{"#p", []string{`{"#p":["` + p1 + `"]}`}, []*nostr.Event{e1}},
		{"#e", []string{`{"#e":["` + e1.ID.String() + `"]}`}, []*nostr.Event{e3}},
		{"#t and kind", []string{`{"kinds":[1],"#t":["nwc"]}`}, []*nostr.Event{e2}},
		{"since until", []string{`{"since":` + strconv.Itoa(base+2) + `,"until":` + strconv.Itoa(base+3) + `}`}, []*nostr.Event{e3, e2}},
		{"limit", []string{`{"limit":2}`}, []*nostr.Event{e4, e3}},
		{"limit 0 is live only", []string{`{"limit":0}`}, nil},
		{"filters are OR-ed, no duplicates", []string{`{"kinds":[7]}`, `{"authors":["` + bob.Public().String() + `"]}`, `{"ids":["` + e1.ID.String() + `"]}`}, []*nostr.Event{e4, e3, e1}},
		{"conditions are AND-ed", []string{`{"kinds":[7],"authors":["` + alice.Public().String() + `"]}`}, nil},
		{"empty list matches nothing", []string{`{"kinds":[]}`}, nil},
		{"invalid hex matches nothing", []string{`{"authors":["ABC"]}`}, nil},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.t = t
			got := c.req("s"+strconv.Itoa(i), tt.filters...)
			if !slices.Equal(ids(got), ids(tt.want)) {
				t.Errorf("got %v, want %v", ids(got), ids(tt.want))
			}
		})
	}
}

func TestMaxLimitCapsQueries(t *testing.T) {
	_, url := startRelay(t, Config{EventsPerSecond: -1, MaxLimit: 3})
	c := dial(t, url)
	sk := nostr.GenerateSecretKey()
	for i := range 5 {
		c.mustPublish(signed(t, sk, 1, int64(1000+i), nil, ""))
	}
	for _, f := range []string{`{}`, `{"limit":100}`} {
		if got := c.req("s", f); len(got) != 3 || got[0].CreatedAt != 1004 {
			t.Errorf("filter %s: got %d events, want the newest 3", f, len(got))
		}
	}
}

func TestEOSEThenLive(t *testing.T) {
	_, url := startRelay(t, Config{})
	sub, pub := dial(t, url), dial(t, url)
	sk := nostr.GenerateSecretKey()
	stored := signed(t, sk, 1, time.Now().Unix()-10, nil, "stored")
	pub.mustPublish(stored)

	got := sub.req("feed", `{"authors":["`+sk.Public().String()+`"]}`)
	if len(got) != 1 || got[0].ID != stored.ID {
		t.Fatalf("stored: got %v", ids(got))
	}
	live := signed(t, sk, 1, time.Now().Unix(), nil, "live")
	pub.mustPublish(live)
	if ev := sub.nextEvent("feed"); ev.ID != live.ID {
		t.Fatalf("live: got %s", ev.ID)
	}
}

func TestReqReplaceAndClose(t *testing.T) {
	r, url := startRelay(t, Config{})
	sub, pub := dial(t, url), dial(t, url)
	sk := nostr.GenerateSecretKey()
	sub.req("x", `{"kinds":[1]}`)
	sub.req("x", `{"kinds":[2]}`) // replaces: kind 1 no longer matches
	sub.req("y", `{"kinds":[3]}`)
	if n := r.Stats().Subscriptions; n != 2 {
		t.Fatalf("Subscriptions = %d, want 2", n)
	}
	pub.mustPublish(signed(t, sk, 1, time.Now().Unix(), nil, "not for x any more"))
	k2 := signed(t, sk, 2, time.Now().Unix(), nil, "")
	pub.mustPublish(k2)
	if ev := sub.nextEvent("x"); ev.ID != k2.ID {
		t.Fatalf("x got kind %d", ev.Kind)
	}
	sub.send("CLOSE", "y")
	// CLOSE has no answer; a REQ after it is answered only after the CLOSE is handled.
	sub.req("z", `{"ids":[]}`)
	if n := r.Stats().Subscriptions; n != 2 {
		t.Fatalf("after CLOSE y + REQ z: Subscriptions = %d, want 2", n)
	}
	k3 := signed(t, sk, 3, time.Now().Unix(), nil, "y is closed")
	pub.mustPublish(k3)
	k2b := signed(t, sk, 2, time.Now().Unix(), nil, "second")
	pub.mustPublish(k2b)
	if ev := sub.nextEvent("x"); ev.ID != k2b.ID {
		t.Fatalf("closed subscription y still got an event")
	}
}

func TestReplaceable(t *testing.T) {
	_, url := startRelay(t, Config{EventsPerSecond: -1})
	c := dial(t, url)
	sk := nostr.GenerateSecretKey()
	pk := sk.Public().String()
	for _, kind := range []int{0, 3, 13194} {
		older := signed(t, sk, kind, 1000, nil, "older")
		newer := signed(t, sk, kind, 2000, nil, "newer")
		c.mustPublish(older)
		c.mustPublish(newer)
		if r := c.publish(older); !r.ok || !strings.HasPrefix(r.msg, "duplicate:") {
			t.Errorf("kind %d: re-sending the older event: %+v, want OK true duplicate:", kind, r)
		}
		f := `{"kinds":[` + strconv.Itoa(kind) + `],"authors":["` + pk + `"]}`
		if got := c.req("k", f); len(got) != 1 || got[0].ID != newer.ID {
			t.Errorf("kind %d: got %v, want only the newer event", kind, ids(got))
		}
	}

	// Same created_at: the lowest id wins, whatever the arrival order.
	for _, order := range []string{"low first", "high first"} {
		t.Run("tie "+order, func(t *testing.T) {
			c.t = t
			k := nostr.GenerateSecretKey()
			a := signed(t, k, 10002, 5000, nil, "a")
			b := signed(t, k, 10002, 5000, nil, "b")
			low, high := a, b
			if strings.Compare(a.ID.String(), b.ID.String()) > 0 {
				low, high = b, a
			}
			first, second := low, high
			if order == "high first" {
				first, second = high, low
			}
			c.mustPublish(first)
			c.mustPublish(second)
			got := c.req("tie", `{"kinds":[10002],"authors":["`+k.Public().String()+`"]}`)
			if len(got) != 1 || got[0].ID != low.ID {
				t.Errorf("got %v, want lowest id %s", ids(got), low.ID.String()[:8])
			}
		})
	}
}

func TestAddressable(t *testing.T) {
	_, url := startRelay(t, Config{EventsPerSecond: -1})
	c := dial(t, url)
	sk := nostr.GenerateSecretKey()
	a1 := signed(t, sk, 30078, 100, nostr.Tags{{"d", "a"}}, "a1")
	b1 := signed(t, sk, 30078, 100, nostr.Tags{{"d", "b"}}, "b1")
	a2 := signed(t, sk, 30078, 200, nostr.Tags{{"d", "a"}}, "a2")
	noD := signed(t, sk, 30078, 50, nil, "no d tag = empty d")
	for _, ev := range []*nostr.Event{a1, b1, a2, noD} {
		c.mustPublish(ev)
	}
	got := c.req("s", `{"kinds":[30078]}`)
	if want := []*nostr.Event{a2, b1, noD}; !slices.Equal(ids(got), ids(want)) {
		t.Errorf("got %v, want %v", ids(got), ids(want))
	}
}

func TestDeletion(t *testing.T) {
	_, url := startRelay(t, Config{EventsPerSecond: -1})
	c := dial(t, url)
	alice, mallory := nostr.GenerateSecretKey(), nostr.GenerateSecretKey()
	now := time.Now().Unix()
	note := signed(t, alice, 1, now-100, nil, "delete me")
	keep := signed(t, alice, 1, now-100, nil, "keep me")
	addr := signed(t, alice, 30000, now-100, nostr.Tags{{"d", "list"}}, "addressable")
	c.mustPublish(note)
	c.mustPublish(keep)
	c.mustPublish(addr)

	// Someone else's deletion does nothing.
	c.mustPublish(signed(t, mallory, nostr.KindDeletion, now-50, nostr.Tags{{"e", keep.ID.String()}}, ""))
	aTag := "30000:" + alice.Public().String() + ":list"
	del := signed(t, alice, nostr.KindDeletion, now-50, nostr.Tags{{"e", note.ID.String()}, {"a", aTag}}, "")
	c.mustPublish(del)

	got := dial(t, url).req("s", `{"authors":["`+alice.Public().String()+`"]}`)
	if want := []*nostr.Event{del, keep}; !slices.Equal(ids(got), ids(want)) {
		t.Fatalf("after deletion got %v, want %v (deletion stored, note and addressable gone)", ids(got), ids(want))
	}
	if r := c.publish(note); r.ok || !strings.HasPrefix(r.msg, "blocked:") {
		t.Errorf("re-publishing a deleted event: %+v, want OK false blocked:", r)
	}
	if r := c.publish(signed(t, alice, 30000, now-60, nostr.Tags{{"d", "list"}}, "older than the deletion")); r.ok {
		t.Errorf("addressable event older than its deletion accepted: %+v", r)
	}
	newer := signed(t, alice, 30000, now, nostr.Tags{{"d", "list"}}, "newer than the deletion")
	c.mustPublish(newer)
}

func TestEphemeralFanOutNotStored(t *testing.T) {
	r, url := startRelay(t, Config{})
	service := nostr.GenerateSecretKey()
	app := nostr.GenerateSecretKey()
	wallet, other, pub := dial(t, url), dial(t, url), dial(t, url)
	wallet.req("w", `{"kinds":[23194],"#p":["`+service.Public().String()+`"]}`)
	other.req("o", `{"kinds":[23194],"#p":["`+app.Public().String()+`"]}`)

	reqEv := signed(t, app, 23194, time.Now().Unix(), nostr.Tags{{"p", service.Public().String()}}, "request")
	pub.mustPublish(reqEv)
	if ev := wallet.nextEvent("w"); ev.ID != reqEv.ID {
		t.Fatalf("wallet got %s", ev.ID)
	}
	// The other subscriber must not have received it: the next event it sees is its own.
	mine := signed(t, service, 23194, time.Now().Unix(), nostr.Tags{{"p", app.Public().String()}}, "")
	pub.mustPublish(mine)
	if ev := other.nextEvent("o"); ev.ID != mine.ID {
		t.Fatalf("non-matching subscriber got %s", ev.ID)
	}
	if got := pub.req("later", `{"kinds":[23194]}`); len(got) != 0 {
		t.Fatalf("ephemeral events were stored: %v", ids(got))
	}
	st := r.Stats()
	if st.StoredEvents != 0 || st.EventsStored != 0 || st.EventsFannedOut != 2 || st.EventsReceived != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestExpiration(t *testing.T) {
	_, url := startRelay(t, Config{})
	c := dial(t, url)
	sk := nostr.GenerateSecretKey()
	now := time.Now().Unix()
	for _, kind := range []int{1, 13194, 23195} {
		ev := signed(t, sk, kind, now-10, nostr.Tags{{"expiration", strconv.FormatInt(now-1, 10)}}, "")
		if r := c.publish(ev); r.ok || r.msg != "invalid: event has expired" {
			t.Errorf("kind %d: %+v, want OK false \"invalid: event has expired\"", kind, r)
		}
	}
	future := signed(t, sk, 1, now, nostr.Tags{{"expiration", strconv.FormatInt(now+3600, 10)}}, "")
	c.mustPublish(future)
	if got := c.req("s", `{"kinds":[1]}`); len(got) != 1 {
		t.Fatalf("unexpired event not served: %v", ids(got))
	}
}

// Stored events dated too far ahead are refused (a replaceable one would hold its slot
// until then); ephemeral ones are fanned out whatever their date; the limit can be lifted.
func TestFutureDatedEvents(t *testing.T) {
	sk := nostr.GenerateSecretKey()
	now := time.Now().Unix()
	tests := []struct {
		name   string
		cfg    Config
		kind   int
		ahead  int64
		wantOK bool
	}{
		{"regular, 10 min ahead", Config{}, 1, 600, true},
		{"regular, 20 min ahead", Config{}, 1, 1200, false},
		{"replaceable, a year ahead", Config{}, 13194, 365 * 24 * 3600, false},
		{"addressable, 20 min ahead", Config{}, 30000, 1200, false},
		{"ephemeral, a year ahead", Config{}, 23195, 365 * 24 * 3600, true},
		{"replaceable, 2 min ahead, limit 1 min", Config{MaxFuture: time.Minute}, 13194, 120, false},
		{"replaceable, a year ahead, no limit", Config{MaxFuture: -1}, 13194, 365 * 24 * 3600, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, url := startRelay(t, tc.cfg)
			c := dial(t, url)
			ev := signed(t, sk, tc.kind, now+tc.ahead, nostr.Tags{{"d", "x"}}, "")
			r := c.publish(ev)
			if r.ok != tc.wantOK {
				t.Fatalf("OK %v %q, want OK %v", r.ok, r.msg, tc.wantOK)
			}
			if !r.ok && !strings.HasPrefix(r.msg, "invalid: created_at is more than") {
				t.Fatalf("refusal %q, want the invalid: created_at reason", r.msg)
			}
		})
	}
}

func TestStoreExpiresAndEvicts(t *testing.T) {
	sk := nostr.GenerateSecretKey()
	st := newStore(3, 2)
	add := func(kind int, at int64, tags nostr.Tags) *nostr.Event {
		ev := signed(t, sk, kind, at, tags, "")
		if res := st.add(ev, ev.AppendJSON(nil)); res != resAdded {
			t.Fatalf("add: %v", res)
		}
		return ev
	}
	add(1, 10, nostr.Tags{{"expiration", "100"}})
	all := []*filter{{}}
	if got := st.query(all, 99, 10); len(got) != 1 {
		t.Fatalf("before expiry: %d events", len(got))
	}
	if got := st.query(all, 100, 10); len(got) != 0 {
		t.Fatalf("expired event served")
	}
	if n := st.sweep(100); n != 1 || st.len() != 0 {
		t.Fatalf("sweep removed %d, %d left", n, st.len())
	}

	// Regular events: cap 3, oldest dropped. Replaceable ones have their own cap (2).
	r1 := add(10000, 1, nil)
	add(10001, 2, nil)
	for i := range 5 {
		add(1, int64(100+i), nil)
	}
	got := st.query([]*filter{{kindsSet: true, kinds: []int{1}}}, 0, 10)
	if len(got) != 3 || got[2].ev.CreatedAt != 102 {
		t.Fatalf("regular cap: got %d events, oldest %d", len(got), got[len(got)-1].ev.CreatedAt)
	}
	add(10002, 3, nil)
	if st.byIDLookup(&r1.ID) != nil || st.len() != 5 {
		t.Fatalf("replaceable cap: oldest not evicted (len %d)", st.len())
	}
}

func TestInvalidMessages(t *testing.T) {
	_, url := startRelay(t, Config{})
	c := dial(t, url)
	sk := nostr.GenerateSecretKey()
	bad := signed(t, sk, 1, time.Now().Unix(), nil, "signed")
	bad.Content = "tampered"
	if r := c.publish(bad); r.ok || !strings.HasPrefix(r.msg, "invalid:") {
		t.Errorf("tampered event: %+v, want OK false invalid:", r)
	}
	forged := signed(t, sk, 1, time.Now().Unix(), nil, "x")
	forged.Sig[0] ^= 1
	if r := c.publish(forged); r.ok || !strings.HasPrefix(r.msg, "invalid:") {
		t.Errorf("bad signature: %+v, want OK false invalid:", r)
	}

	tests := []struct {
		name, raw, wantType, wantPrefix string
	}{
		{"not json", `hello`, "NOTICE", "invalid:"},
		{"unknown type", `["COUNT","x",{}]`, "NOTICE", "invalid:"},
		{"event missing field", `["EVENT",{"id":"` + strings.Repeat("a", 64) + `"}]`, "OK", "invalid:"},
		{"bad filter", `["REQ","s",{"kinds":"x"}]`, "CLOSED", "invalid:"},
		{"no filter", `["REQ","s"]`, "CLOSED", "invalid:"},
		{"sub id too long", `["REQ","` + strings.Repeat("s", 65) + `",{}]`, "CLOSED", "invalid:"},
		{"empty sub id", `["REQ","",{}]`, "NOTICE", "invalid:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.t = t
			c.sendRaw([]byte(tt.raw))
			m := c.expect(tt.wantType)
			reason := m.str(len(m) - 1)
			if !strings.HasPrefix(reason, tt.wantPrefix) {
				t.Errorf("reason %q, want prefix %q", reason, tt.wantPrefix)
			}
		})
	}
}

func TestAuthAllowList(t *testing.T) {
	service, app, stranger := nostr.GenerateSecretKey(), nostr.GenerateSecretKey(), nostr.GenerateSecretKey()
	r, url := startRelay(t, Config{AuthAllow: []nostr.PublicKey{service.Public()}})
	walletFilter := `{"kinds":[23194],"#p":["` + service.Public().String() + `"]}`

	c := dial(t, url)
	challenge := c.expect("AUTH").str(1)
	if len(challenge) < 16 {
		t.Fatalf("challenge %q", challenge)
	}
	// Before AUTH: refused with auth-required.
	if reason := c.reqClosed("w", walletFilter); !strings.HasPrefix(reason, "auth-required:") {
		t.Errorf("unauthenticated REQ: %q", reason)
	}
	if res := c.publish(signed(t, service, 23195, time.Now().Unix(), nil, "")); res.ok || !strings.HasPrefix(res.msg, "auth-required:") {
		t.Errorf("unauthenticated EVENT: %+v", res)
	}

	// Bad AUTH events are rejected with invalid:.
	badAuth := []struct {
		name string
		ev   *nostr.Event
	}{
		{"wrong challenge", signed(t, service, nostr.KindClientAuth, time.Now().Unix(), nostr.Tags{{"relay", url}, {"challenge", "nope"}}, "")},
		{"wrong relay", signed(t, service, nostr.KindClientAuth, time.Now().Unix(), nostr.Tags{{"relay", "wss://elsewhere.example"}, {"challenge", challenge}}, "")},
		{"too old", signed(t, service, nostr.KindClientAuth, time.Now().Unix()-3600, nostr.Tags{{"relay", url}, {"challenge", challenge}}, "")},
		{"wrong kind", signed(t, service, 1, time.Now().Unix(), nostr.Tags{{"relay", url}, {"challenge", challenge}}, "")},
	}
	for _, tt := range badAuth {
		c.send("AUTH", tt.ev)
		if res := c.readOK(tt.ev.ID.String()); res.ok || !strings.HasPrefix(res.msg, "invalid:") {
			t.Errorf("AUTH %s: %+v, want OK false invalid:", tt.name, res)
		}
	}

	// Authenticated but not allowed: restricted.
	if res := c.authenticate(stranger, challenge, url); !res.ok {
		t.Fatalf("AUTH stranger: %+v", res)
	}
	if reason := c.reqClosed("w", walletFilter); !strings.HasPrefix(reason, "restricted:") {
		t.Errorf("REQ by a disallowed key: %q", reason)
	}
	if res := c.publish(signed(t, stranger, 23194, time.Now().Unix(), nil, "")); res.ok || !strings.HasPrefix(res.msg, "restricted:") {
		t.Errorf("EVENT by a disallowed key: %+v", res)
	}

	// A second key on the same socket, allowed (trailing slash and scheme do not matter).
	if res := c.authenticate(service, challenge, strings.Replace(url, "ws://", "wss://", 1)+"/"); !res.ok {
		t.Fatalf("AUTH service: %+v", res)
	}
	c.req("w", walletFilter)
	if res := c.publish(signed(t, stranger, 1, time.Now().Unix(), nil, "")); res.ok || !strings.HasPrefix(res.msg, "restricted:") {
		t.Errorf("event by a disallowed author over an allowed socket: %+v", res)
	}

	// The app is added at run time, connects, authenticates and publishes a request.
	a := dial(t, url)
	appChallenge := a.expect("AUTH").str(1)
	if appChallenge == challenge {
		t.Errorf("challenge reused across connections")
	}
	a.authenticate(app, appChallenge, url)
	if reason := a.reqClosed("r", `{"kinds":[23195]}`); !strings.HasPrefix(reason, "restricted:") {
		t.Errorf("app before Allow: %q", reason)
	}
	r.Allow(app.Public())
	a.req("r", `{"kinds":[23195],"#p":["`+app.Public().String()+`"]}`)
	request := signed(t, app, 23194, time.Now().Unix(), nostr.Tags{{"p", service.Public().String()}}, "")
	a.mustPublish(request)
	if ev := c.nextEvent("w"); ev.ID != request.ID {
		t.Fatalf("service got %s", ev.ID)
	}

	// Revoked: the app's live subscription stops receiving; a new request is refused.
	r.Disallow(app.Public())
	c.mustPublish(signed(t, service, 23195, time.Now().Unix(), nostr.Tags{{"p", app.Public().String()}}, "not delivered"))
	if res := a.publish(signed(t, app, 23194, time.Now().Unix(), nil, "")); res.ok || !strings.HasPrefix(res.msg, "restricted:") {
		t.Errorf("EVENT after Disallow: %+v", res)
	}

	// NIP-11 announces AUTH.
	info := fetchNIP11(t, url)
	if !info.Limitation.AuthRequired || !slices.Contains(info.SupportedNIPs, 42) {
		t.Errorf("NIP-11 %+v", info)
	}
}

func TestSameRelayHost(t *testing.T) {
	tests := []struct {
		relay, host string
		want        bool
	}{
		{"ws://127.0.0.1:7447", "127.0.0.1:7447", true},
		{"wss://Relay.Example/", "relay.example", true},
		{"wss://relay.example/nostr", "relay.example:443", true},
		{"relay.example:7447", "relay.example:7447", true},
		{"ws://127.0.0.1:7448", "127.0.0.1:7447", false},
		{"ws://other.example", "relay.example", false},
		{"", "relay.example", false},
		{"ws://[::1]:7447", "[::1]:7447", true},
		{"::::", "relay.example", false},
	}
	for _, tt := range tests {
		if got := sameRelayHost(tt.relay, tt.host); got != tt.want {
			t.Errorf("sameRelayHost(%q, %q) = %v, want %v", tt.relay, tt.host, got, tt.want)
		}
	}
}

func TestLimits(t *testing.T) {
	sk := nostr.GenerateSecretKey()
	tests := []struct {
		name       string
		cfg        Config
		run        func(t *testing.T, c *testClient) string // returns the reason
		wantPrefix string
	}{
		{"too many filters", Config{MaxFilters: 2}, func(t *testing.T, c *testClient) string {
			return c.reqClosed("s", `{}`, `{}`, `{}`)
		}, "error:"},
		{"too many subscriptions", Config{MaxSubsPerConn: 2}, func(t *testing.T, c *testClient) string {
			c.req("a", `{}`)
			c.req("b", `{}`)
			c.req("a", `{"kinds":[1]}`) // replacing does not count
			return c.reqClosed("c", `{}`)
		}, "error:"},
		{"event rate", Config{EventsPerSecond: 0.001}, func(t *testing.T, c *testClient) string {
			c.mustPublish(signed(t, sk, 1, time.Now().Unix(), nil, "burst of one"))
			res := c.publish(signed(t, sk, 1, time.Now().Unix(), nil, "too soon"))
			if res.ok {
				t.Errorf("second event accepted")
			}
			return res.msg
		}, "rate-limited:"},
		{"REQ rate", Config{EventsPerSecond: 0.001}, func(t *testing.T, c *testClient) string {
			c.req("a", `{}`)
			return c.reqClosed("b", `{}`)
		}, "rate-limited:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, url := startRelay(t, tt.cfg)
			if reason := tt.run(t, dial(t, url)); !strings.HasPrefix(reason, tt.wantPrefix) {
				t.Errorf("reason %q, want prefix %q", reason, tt.wantPrefix)
			}
		})
	}
}

func TestMessageTooLarge(t *testing.T) {
	_, url := startRelay(t, Config{MaxMessageBytes: MinMaxMessageBytes})
	c := dial(t, url)
	sk := nostr.GenerateSecretKey()
	// Just under the limit is fine (NWC wants at least 64 KB).
	fits := signed(t, sk, 23194, time.Now().Unix(), nil, strings.Repeat("x", 100<<10))
	c.mustPublish(fits)

	big := signed(t, sk, 23194, time.Now().Unix(), nil, strings.Repeat("x", MinMaxMessageBytes))
	c.send("EVENT", big)
	notice := c.expect("NOTICE")
	if !strings.HasPrefix(notice.str(1), "error:") {
		t.Errorf("NOTICE %q", notice.str(1))
	}
	_, err := c.tryRead()
	if status := websocket.CloseStatus(err); status != websocket.StatusMessageTooBig {
		t.Fatalf("after oversize message: err %v (status %d), want close %d", err, status, websocket.StatusMessageTooBig)
	}
}

func TestConfigValidation(t *testing.T) {
	for _, cfg := range []Config{{MaxMessageBytes: 1000}, {MaxFilters: -1}} {
		if _, err := New(cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("New(%+v) = %v, want ErrInvalidConfig", cfg, err)
		}
	}
}

func TestPersistence(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "relay")
	sk := nostr.GenerateSecretKey()
	now := time.Now().Unix()
	info := signed(t, sk, 13194, now, nil, "pay_invoice get_balance")
	oldInfo := signed(t, sk, 13194, now-100, nil, "old")
	note := signed(t, sk, 1, now, nil, "note")
	gone := signed(t, sk, 1, now, nil, "deleted")
	del := signed(t, sk, nostr.KindDeletion, now, nostr.Tags{{"e", gone.ID.String()}}, "")
	request := signed(t, sk, 23194, now, nil, "ephemeral")
	soon := signed(t, sk, 1, now, nostr.Tags{{"expiration", strconv.FormatInt(now+3600, 10)}}, "")

	func() {
		r, err := New(Config{DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		url, stop, err := ListenAndServe(context.Background(), "127.0.0.1:0", r)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		defer stop()
		c := dial(t, url)
		defer c.ws.CloseNow()
		for _, ev := range []*nostr.Event{oldInfo, info, note, gone, del, request, soon} {
			c.mustPublish(ev) // OK comes after fsync
		}
	}()

	st, err := os.Stat(filepath.Join(dir, logName))
	if err != nil {
		t.Fatal(err)
	}
	if perm := st.Mode().Perm(); perm != 0o600 {
		t.Errorf("log file mode %o, want 600", perm)
	}
	// A torn last line (crash mid-write) is skipped.
	f, err := os.OpenFile(filepath.Join(dir, logName), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"id":"trunc`)
	f.Close()

	_, url := startRelay(t, Config{DataDir: dir})
	c := dial(t, url)
	got := c.req("s", `{"authors":["`+sk.Public().String()+`"]}`)
	want := map[nostr.EventID]bool{info.ID: true, note.ID: true, del.ID: true, soon.ID: true}
	if len(got) != len(want) {
		t.Fatalf("after restart: %d events %v, want %d", len(got), ids(got), len(want))
	}
	for _, ev := range got {
		if !want[ev.ID] {
			t.Errorf("unexpected event kind %d %q after restart", ev.Kind, ev.Content)
		}
	}
	if r := c.publish(gone); r.ok {
		t.Errorf("deleted event accepted after restart")
	}
}

func TestCompaction(t *testing.T) {
	dir := t.TempDir()
	r, err := New(Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	sk := nostr.GenerateSecretKey()
	// Drive the store and log directly: 3 x compactMin replacements of one slot.
	ctx := context.Background()
	const n = 3 * compactMin
	done := make(chan error, n)
	var last *nostr.Event
	for i := range n {
		last = signed(t, sk, 13194, int64(i+1), nil, "")
		if r.store.add(last, last.AppendJSON(nil)) != resAdded {
			t.Fatal("not added")
		}
		if !r.disk.append(ctx, last.AppendJSON(nil), func(err error) { done <- err }) {
			t.Fatal("append refused")
		}
	}
	for range n {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, logName))
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(string(b), "\n"); lines > compactMin+1 {
		t.Errorf("log has %d lines for 1 live event: not compacted", lines)
	}
	r2, err := New(Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	got := r2.store.query([]*filter{{}}, 0, 10)
	if len(got) != 1 || got[0].ev.ID != last.ID {
		t.Fatalf("after reload: %d events", len(got))
	}
}

func TestSlowSubscriberDoesNotBlockOthers(t *testing.T) {
	r, url := startRelay(t, Config{EventsPerSecond: -1, MaxMessageBytes: MinMaxMessageBytes})
	target := nostr.GenerateSecretKey()
	filter := `{"kinds":[23195],"#p":["` + target.Public().String() + `"]}`
	slow, fast, pub := dial(t, url), dial(t, url), dial(t, url)
	slow.req("s", filter) // then never reads again
	fast.req("f", filter)

	sk := nostr.GenerateSecretKey()
	content := strings.Repeat("z", 100<<10)
	// The slow client's socket buffers and then its queue (4 MiB) fill up; the relay must
	// drop it while the publisher and the fast subscriber keep going.
	for i := 0; ; i++ {
		if i == 2000 {
			t.Fatalf("slow subscriber never dropped after %d events (%d MB)", i, i/10)
		}
		ev := signed(t, sk, 23195, time.Now().Unix(), nostr.Tags{{"p", target.Public().String()}}, content)
		pub.mustPublish(ev)
		if got := fast.nextEvent("f"); got.ID != ev.ID {
			t.Fatalf("fast subscriber got %s, want %s", got.ID, ev.ID)
		}
		if r.Stats().SlowDropped > 0 {
			break
		}
	}
	// The dropped client sees its connection end after what was already sent.
	for {
		if _, err := slow.tryRead(); err != nil {
			break
		}
	}
	if st := r.Stats(); st.SlowDropped != 1 {
		t.Fatalf("SlowDropped = %d", st.SlowDropped)
	}
}

type nip11Info struct {
	Name          string `json:"name"`
	SupportedNIPs []int  `json:"supported_nips"`
	Software      string `json:"software"`
	Limitation    struct {
		MaxMessageLength int  `json:"max_message_length"`
		MaxSubscriptions int  `json:"max_subscriptions"`
		MaxFilters       int  `json:"max_filters"`
		AuthRequired     bool `json:"auth_required"`
	} `json:"limitation"`
}

func fetchNIP11(t *testing.T, wsURL string) nip11Info {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+strings.TrimPrefix(wsURL, "ws://"), nil)
	req.Header.Set("Accept", "application/nostr+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("no CORS header")
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/nostr+json" {
		t.Errorf("Content-Type %q", ct)
	}
	var info nip11Info
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		t.Fatal(err)
	}
	return info
}

func TestNIP11(t *testing.T) {
	_, url := startRelay(t, Config{Name: "test relay", MaxFilters: 7})
	info := fetchNIP11(t, url)
	if info.Name != "test relay" || info.Limitation.MaxFilters != 7 || info.Limitation.MaxMessageLength != DefaultMaxMessageBytes ||
		info.Limitation.MaxSubscriptions != DefaultMaxSubsPerConn || info.Limitation.AuthRequired ||
		!slices.Equal(info.SupportedNIPs, []int{1, 9, 11, 40}) || info.Software == "" {
		t.Errorf("NIP-11 %+v", info)
	}
	resp, err := http.Get("http://" + strings.TrimPrefix(url, "ws://"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") == "application/nostr+json" {
		t.Errorf("plain GET: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

func TestCloseLeaksNothing(t *testing.T) {
	before := runtime.NumGoroutine()
	r, err := New(Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	url, stop, err := ListenAndServe(context.Background(), "127.0.0.1:0", r)
	if err != nil {
		t.Fatal(err)
	}
	sk := nostr.GenerateSecretKey()
	clients := make([]*testClient, 5)
	for i := range clients {
		clients[i] = dial(t, url)
		clients[i].req("s", `{"kinds":[1,23194]}`)
	}
	pub := dial(t, url)
	pub.mustPublish(signed(t, sk, 1, time.Now().Unix(), nil, "stored"))
	pub.mustPublish(signed(t, sk, 23194, time.Now().Unix(), nil, "ephemeral"))
	if n := r.Stats().Connections; n != len(clients)+1 {
		t.Fatalf("Connections = %d", n)
	}
	// Clients keep reading (and so answer the close handshake); each reports how it ended.
	ended := make(chan error, len(clients))
	for _, c := range clients {
		go func() {
			var err error
			for err == nil {
				_, _, err = c.ws.Read(context.Background())
			}
			ended <- err
		}()
	}
	go func() {
		var err error
		for err == nil {
			_, _, err = pub.ws.Read(context.Background())
		}
	}()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	for range clients {
		if err := <-ended; websocket.CloseStatus(err) != websocket.StatusGoingAway {
			t.Errorf("client saw %v, want going away", err)
		}
	}
	// After Close the handler refuses.
	resp, err := http.Get("http://" + strings.TrimPrefix(url, "ws://"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("after Close: HTTP %d", resp.StatusCode)
	}
	stop()
	pub.ws.CloseNow()
	for _, c := range clients {
		c.ws.CloseNow()
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	waitGoroutines(t, before)
}

// waitGoroutines polls until the goroutine count is back to n (goroutines take a moment to
// return after the channel or socket they wait on closes).
func waitGoroutines(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, want %d:\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestReplaceableCap: MaxReplaceableEvents caps replaceable events apart from regular ones
// (defaulting to MaxStoredEvents), so a wallet's relay can keep more info events.
func TestReplaceableCap(t *testing.T) {
	for _, tc := range []struct {
		cfg                  Config
		wantRegular, wantRep int
	}{
		{Config{}, DefaultMaxStoredEvents, DefaultMaxStoredEvents},
		{Config{MaxStoredEvents: 7}, 7, 7},
		{Config{MaxStoredEvents: 7, MaxReplaceableEvents: 50}, 7, 50},
	} {
		r, err := New(tc.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if r.store.maxRegular != tc.wantRegular || r.store.maxReplace != tc.wantRep {
			t.Errorf("%+v: caps %d/%d, want %d/%d", tc.cfg, r.store.maxRegular, r.store.maxReplace, tc.wantRegular, tc.wantRep)
		}
		r.Close()
	}
	if _, err := New(Config{MaxReplaceableEvents: -1}); err == nil {
		t.Error("a negative MaxReplaceableEvents was accepted")
	}
}

// TestDataDirLock: a second relay on the same data directory is refused with
// ErrDataDirInUse (two writers would interleave the event log); once the first closes, the
// directory can be opened again.
func TestDataDirLock(t *testing.T) {
	dir := t.TempDir()
	first, err := New(Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if second, err := New(Config{DataDir: dir}); !errors.Is(err, ErrDataDirInUse) {
		if second != nil {
			second.Close()
		}
		t.Fatalf("second relay on the same dir: %v, want ErrDataDirInUse", err)
	}
	other, err := New(Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatalf("relay on another dir: %v", err)
	}
	other.Close()
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := New(Config{DataDir: dir})
	if err != nil {
		t.Fatalf("reopen after close: %v", err)
	}
	again.Close()
}
