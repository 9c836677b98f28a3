package relaypool

// Protocol tests of the embedded relay (package relay), driven through the pool.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nwc-go/nwc/nostr"
	embedded "github.com/nwc-go/nwc/relay"
)

// startRelay runs an embedded relay on 127.0.0.1 (addr "" = a free port) until cleanup.
// It returns the URL and a stop function (idempotent) that closes the server and the relay.
func startRelay(t *testing.T, cfg embedded.Config, addr string) (string, func()) {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	r, err := embedded.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var url string
	var stopSrv func()
	for i := 0; i < 50; i++ { // the same port may need a moment after a stop
		if url, stopSrv, err = embedded.ListenAndServe(context.Background(), addr, r); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		r.Close()
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			stopSrv()
			if err := r.Close(); err != nil {
				t.Errorf("relay close: %v", err)
			}
		}
	}
	t.Cleanup(stop)
	return url, stop
}

func query(t *testing.T, p *Pool, filters ...nostr.Filter) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	evs, err := p.QuerySync(ctx, filters)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ev := range evs {
		out = append(out, ev.Content)
	}
	slices.Sort(out)
	return out
}

func publish(t *testing.T, p *Pool, ev *nostr.Event, opts ...SubOption) (RelayResult, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := p.Publish(ctx, ev, opts...)
	if res == nil {
		t.Fatalf("publish: %v", err)
	}
	rs, _ := res.Wait(ctx)
	return rs[0], err
}

func TestRelayFiltersAndEOSE(t *testing.T) {
	checkLeaks(t)
	url, _ := startRelay(t, embedded.Config{}, "")
	p := testPool(t, Options{}, url)
	alice, bob := nostr.GenerateSecretKey(), nostr.GenerateSecretKey()
	bobHex := bob.Public().String()
	evs := []*nostr.Event{
		newEvent(t, alice, 1, 100, "a1"),
		newEvent(t, alice, 7, 200, "a7"),
		newEvent(t, bob, 1, 300, "b1", nostr.Tag{"p", bobHex}),
		newEvent(t, bob, 30078, 400, "b-addr", nostr.Tag{"d", "x"}, nostr.Tag{"p", bobHex}),
	}
	for _, ev := range evs {
		if rr, err := publish(t, p, ev); err != nil || rr.Status != StatusAccepted {
			t.Fatalf("publish %s: %v %+v", ev.Content, err, rr)
		}
	}
	tests := []struct {
		name   string
		filter nostr.Filter
		want   []string
	}{
		{"kinds", nostr.Filter{Kinds: []int{1}}, []string{"a1", "b1"}},
		{"authors", nostr.Filter{Authors: []string{alice.Public().String()}}, []string{"a1", "a7"}},
		{"#p", nostr.Filter{Tags: map[string][]string{"p": {bobHex}}}, []string{"b-addr", "b1"}},
		{"#d", nostr.Filter{Tags: map[string][]string{"d": {"x"}}}, []string{"b-addr"}},
		{"ids", nostr.Filter{IDs: []string{evs[1].ID.String()}}, []string{"a7"}},
		{"since/until", nostr.Filter{Since: i64(150), Until: i64(300)}, []string{"a7", "b1"}},
		{"limit takes the newest", nostr.Filter{Limit: 2}, []string{"b-addr", "b1"}},
		{"no match", nostr.Filter{Kinds: []int{2}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := query(t, p, tt.filter); !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRelayReplaceable(t *testing.T) {
	checkLeaks(t)
	url, _ := startRelay(t, embedded.Config{}, "")
	p := testPool(t, Options{}, url)
	svc := nostr.GenerateSecretKey()
	info := nostr.Filter{Kinds: []int{13194}, Authors: []string{svc.Public().String()}}
	steps := []struct {
		createdAt int64
		content   string
		want      []string
	}{
		{100, "v1", []string{"v1"}},
		{200, "v2", []string{"v2"}},
		{150, "older", []string{"v2"}}, // accepted (duplicate:) but not kept
	}
	for _, st := range steps {
		if rr, err := publish(t, p, newEvent(t, svc, 13194, st.createdAt, st.content)); err != nil {
			t.Fatalf("%s: %v %+v", st.content, err, rr)
		}
		if got := query(t, p, info); !slices.Equal(got, st.want) {
			t.Fatalf("after %s: got %v, want %v", st.content, got, st.want)
		}
	}
	// Same created_at: the lowest id wins whatever the order of arrival.
	a, b := newEvent(t, svc, 13194, 300, "tie-a"), newEvent(t, svc, 13194, 300, "tie-b")
	low := a
	if strings.Compare(b.ID.String(), a.ID.String()) < 0 {
		low = b
	}
	for _, ev := range []*nostr.Event{a, b} {
		publish(t, p, ev)
	}
	if got := query(t, p, info); !slices.Equal(got, []string{low.Content}) {
		t.Fatalf("tie: got %v, want %s", got, low.Content)
	}
}

func TestRelayEphemeralFanOut(t *testing.T) {
	checkLeaks(t)
	url, _ := startRelay(t, embedded.Config{}, "")
	svc, app := nostr.GenerateSecretKey(), nostr.GenerateSecretKey()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	filter := []nostr.Filter{{Kinds: []int{23194}, Tags: map[string][]string{"p": {svc.Public().String()}}}}
	var subs []*Subscription
	for range 3 {
		sp := testPool(t, Options{}, url)
		s, err := sp.Subscribe(ctx, filter)
		if err != nil {
			t.Fatal(err)
		}
		waitEOSE(t, s)
		subs = append(subs, s)
	}
	pub := testPool(t, Options{}, url)
	if rr, err := publish(t, pub, newEvent(t, app, 23194, time.Now().Unix(), "other service", nostr.Tag{"p", app.Public().String()})); err != nil {
		t.Fatal(err, rr)
	}
	if rr, err := publish(t, pub, newEvent(t, app, 23194, time.Now().Unix(), "request", nostr.Tag{"p", svc.Public().String()})); err != nil {
		t.Fatal(err, rr)
	}
	for i, s := range subs {
		if got := recv(t, s, 1); got[0] != "request" {
			t.Fatalf("subscriber %d got %v", i, got)
		}
	}
	if got := query(t, pub, nostr.Filter{Kinds: []int{23194}}); len(got) != 0 {
		t.Fatalf("ephemeral events were stored: %v", got)
	}
}

func TestRelayExpiration(t *testing.T) {
	checkLeaks(t)
	url, _ := startRelay(t, embedded.Config{}, "")
	p := testPool(t, Options{}, url)
	now := time.Now().Unix()
	exp := func(at int64) nostr.Tag { return nostr.Tag{"expiration", strconv.FormatInt(at, 10)} }
	rr, err := publish(t, p, newEvent(t, testKey, 1, now, "expired", exp(now-10)))
	if !errors.Is(err, ErrNotAccepted) || rr.Status != StatusRejected || !hasPrefix(rr.Message, "invalid") {
		t.Fatalf("expired event: %v %+v", err, rr)
	}
	soon := time.Now().Unix() + 3 // room for a slow publish on a loaded machine
	if rr, err := publish(t, p, newEvent(t, testKey, 1, now, "soon", exp(soon))); err != nil {
		t.Fatal(err, rr)
	}
	if _, err := publish(t, p, newEvent(t, testKey, 1, now, "lasting", exp(now+3600))); err != nil {
		t.Fatal(err)
	}
	// The relay must stop serving the event once its expiration has passed.
	waitFor(t, "expiration", func() bool { return time.Now().Unix() > soon })
	if got := query(t, p, nostr.Filter{Kinds: []int{1}}); !slices.Equal(got, []string{"lasting"}) {
		t.Fatalf("after expiration: %v", got)
	}
}

func TestRelayAuthAllowList(t *testing.T) {
	checkLeaks(t)
	svc, app, stranger := nostr.GenerateSecretKey(), nostr.GenerateSecretKey(), nostr.GenerateSecretKey()
	url, _ := startRelay(t, embedded.Config{AuthAllow: []nostr.PublicKey{svc.Public(), app.Public()}}, "")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// The service authenticates eagerly with its pool-wide key.
	svcPool := testPool(t, Options{AuthKeys: func(string) []*nostr.SecretKey { return []*nostr.SecretKey{svc} }}, url)
	reqs, err := svcPool.Subscribe(ctx, []nostr.Filter{{Kinds: []int{23194}, Tags: map[string][]string{"p": {svc.Public().String()}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer reqs.Close()
	waitEOSE(t, reqs)
	if e := reqs.RelayErrors(); len(e) != 0 {
		t.Fatalf("service subscription refused: %v", e)
	}

	// The app authenticates lazily with its per-call key, on refusal.
	appPool := testPool(t, Options{}, url)
	if rr, err := publish(t, appPool, newEvent(t, app, 23194, time.Now().Unix(), "pay", nostr.Tag{"p", svc.Public().String()}), WithAuthKey(app)); err != nil {
		t.Fatalf("app publish: %v %+v", err, rr)
	}
	if got := recv(t, reqs, 1); got[0] != "pay" {
		t.Fatalf("got %v", got)
	}

	tests := []struct {
		name   string
		key    *nostr.SecretKey
		prefix string
	}{
		{"no key", nil, "auth-required"},
		{"key not on the allow-list", stranger, "restricted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp := testPool(t, Options{}, url)
			var opts []SubOption
			if tt.key != nil {
				opts = append(opts, WithAuthKey(tt.key))
			}
			s, err := sp.Subscribe(ctx, []nostr.Filter{{Kinds: []int{23194}}}, opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			waitEOSE(t, s)
			if reason := s.RelayErrors()[url]; !hasPrefix(reason, tt.prefix) {
				t.Fatalf("CLOSED reason %q, want %s", reason, tt.prefix)
			}
			ev := newEvent(t, app, 23194, time.Now().Unix(), "x")
			if tt.key != nil {
				ev = newEvent(t, tt.key, 23194, time.Now().Unix(), "x")
			}
			rr, err := publish(t, sp, ev, opts...)
			if !errors.Is(err, ErrNotAccepted) || !hasPrefix(rr.Message, tt.prefix) {
				t.Fatalf("publish: %v %+v, want %s", err, rr, tt.prefix)
			}
		})
	}
}

func TestRelayLimits(t *testing.T) {
	checkLeaks(t)
	url, _ := startRelay(t, embedded.Config{MaxSubsPerConn: 2, MaxFilters: 2, EventsPerSecond: 2}, "")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	t.Run("filters per REQ", func(t *testing.T) {
		p := testPool(t, Options{}, url)
		s, err := p.Subscribe(ctx, []nostr.Filter{{Kinds: []int{1}}, {Kinds: []int{2}}, {Kinds: []int{3}}})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		waitEOSE(t, s)
		if reason := s.RelayErrors()[url]; !strings.Contains(reason, "too many filters") {
			t.Fatalf("CLOSED reason %q", reason)
		}
	})
	t.Run("subscriptions per connection", func(t *testing.T) {
		p := testPool(t, Options{}, url)
		var refused int
		for i := range 3 {
			s, err := p.Subscribe(ctx, []nostr.Filter{{Kinds: []int{i}}})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			waitEOSE(t, s)
			if reason := s.RelayErrors()[url]; reason != "" {
				if !strings.Contains(reason, "too many subscriptions") {
					t.Fatalf("CLOSED reason %q", reason)
				}
				refused++
			}
		}
		if refused != 1 {
			t.Fatalf("%d subscriptions refused, want 1", refused)
		}
	})
	t.Run("events per second", func(t *testing.T) {
		p := testPool(t, Options{}, url)
		var limited int
		for i := range 10 {
			rr, err := publish(t, p, newEvent(t, testKey, 1, int64(i), fmt.Sprint(i)))
			if err != nil {
				if !hasPrefix(rr.Message, "rate-limited") {
					t.Fatalf("refusal %+v", rr)
				}
				limited++
			}
		}
		if limited == 0 {
			t.Fatal("10 events at once, none rate-limited")
		}
	})
	t.Run("message size", func(t *testing.T) {
		p := testPool(t, Options{PublishTimeout: 500 * time.Millisecond}, url)
		big := newEvent(t, testKey, 1, 1, strings.Repeat("x", embedded.DefaultMaxMessageBytes+1))
		if _, err := publish(t, p, big); !errors.Is(err, ErrNotAccepted) {
			t.Fatalf("oversized event: %v", err)
		}
		// 64 KB payloads (the NWC minimum) pass.
		ok := newEvent(t, testKey, 1, 1, strings.Repeat("y", 64<<10))
		if rr, err := publish(t, testPool(t, Options{}, url), ok); err != nil {
			t.Fatalf("64 KB event: %v %+v", err, rr)
		}
	})
}

func TestRelayRejectsInvalidSignature(t *testing.T) {
	checkLeaks(t)
	url, _ := startRelay(t, embedded.Config{}, "")
	p := testPool(t, Options{}, url)
	tests := []struct {
		name   string
		tamper func(*nostr.Event)
	}{
		{"signature", func(e *nostr.Event) { e.Sig[0] ^= 1 }},
		{"content after signing", func(e *nostr.Event) { e.Content += "!" }},
		{"id", func(e *nostr.Event) { e.ID[0] ^= 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := newEvent(t, testKey, 1, 1, "x")
			tt.tamper(ev)
			rr, err := publish(t, p, ev)
			if !errors.Is(err, ErrNotAccepted) || rr.Status != StatusRejected || !hasPrefix(rr.Message, "invalid") {
				t.Fatalf("%v %+v", err, rr)
			}
		})
	}
	if got := query(t, p, nostr.Filter{}); len(got) != 0 {
		t.Fatalf("stored %v", got)
	}
}

// TestRelayRestartMidSubscription stops the relay (server and relay) and starts a new one
// with the same data dir on the same port: the pool reconnects and resubscribes by itself,
// live events published after the restart arrive, and the stored info event survived.
func TestRelayRestartMidSubscription(t *testing.T) {
	checkLeaks(t)
	dir := t.TempDir()
	url, stop := startRelay(t, embedded.Config{DataDir: dir}, "")
	svc := nostr.GenerateSecretKey()
	p := testPool(t, Options{MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}, url)
	if _, err := publish(t, p, newEvent(t, svc, 13194, 100, "info")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sub, err := p.Subscribe(ctx, []nostr.Filter{{Kinds: []int{23194}, Tags: map[string][]string{"p": {svc.Public().String()}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	waitEOSE(t, sub)

	stop()
	waitFor(t, "disconnect", func() bool { return !p.Relays()[0].Connected })
	url2, _ := startRelay(t, embedded.Config{DataDir: dir}, strings.TrimPrefix(url, "ws://"))
	if url2 != url {
		t.Fatalf("restarted on %s, want %s", url2, url)
	}
	waitFor(t, "reconnect", func() bool { return p.Relays()[0].Connections == 2 })
	// The stored info event survived, and this query (on the same socket, after the
	// resubscription) proves the relay has the resubscription before we publish.
	if got := query(t, p, nostr.Filter{Kinds: []int{13194}}); !slices.Equal(got, []string{"info"}) {
		t.Fatalf("info event after restart: %v", got)
	}
	other := testPool(t, Options{}, url)
	if rr, err := publish(t, other, newEvent(t, nostr.GenerateSecretKey(), 23194, time.Now().Unix(), "after restart", nostr.Tag{"p", svc.Public().String()})); err != nil {
		t.Fatal(err, rr)
	}
	if got := recv(t, sub, 1); got[0] != "after restart" {
		t.Fatalf("got %v", got)
	}
}
