package relaypool

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nwc-go/nwc/nostr"
)

func i64(v int64) *int64 { return &v }

func TestSubscribeFiltersAndEOSE(t *testing.T) {
	checkLeaks(t)
	f := newFakeRelay(t, modeNormal)
	alice, bob := nostr.GenerateSecretKey(), nostr.GenerateSecretKey()
	pTag := bob.Public().String()
	f.Store(
		newEvent(t, alice, 1, 100, "a1"),
		newEvent(t, alice, 7, 200, "a7"),
		newEvent(t, bob, 1, 300, "b1", nostr.Tag{"p", pTag}),
		newEvent(t, bob, 23194, 400, "b-req", nostr.Tag{"p", pTag}),
	)
	p := testPool(t, Options{}, f.URL())
	tests := []struct {
		name    string
		filters []nostr.Filter
		want    []string
	}{
		{"kinds", []nostr.Filter{{Kinds: []int{1}}}, []string{"a1", "b1"}},
		{"authors", []nostr.Filter{{Authors: []string{alice.Public().String()}}}, []string{"a1", "a7"}},
		{"p tag", []nostr.Filter{{Tags: map[string][]string{"p": {pTag}}}}, []string{"b-req", "b1"}},
		{"since until", []nostr.Filter{{Since: i64(150), Until: i64(300)}}, []string{"a7", "b1"}},
		{"two filters OR-ed", []nostr.Filter{{Kinds: []int{7}}, {Kinds: []int{23194}}}, []string{"a7", "b-req"}},
		{"nothing", []nostr.Filter{{Kinds: []int{9}}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			sub, err := p.Subscribe(ctx, tt.filters)
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Close()
			got := recv(t, sub, len(tt.want))
			waitEOSE(t, sub)
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			noMore(t, p, sub)

			got2, err := p.QuerySync(ctx, tt.filters)
			if err != nil {
				t.Fatal(err)
			}
			if len(got2) != len(tt.want) {
				t.Fatalf("QuerySync got %d events, want %d", len(got2), len(tt.want))
			}
		})
	}

	// Live events after EOSE, published through the pool itself.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sub, err := p.Subscribe(ctx, []nostr.Filter{{Kinds: []int{23195}}})
	if err != nil {
		t.Fatal(err)
	}
	waitEOSE(t, sub)
	if _, err := p.Publish(ctx, newEvent(t, alice, 23195, 500, "live")); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, sub, 1); got[0] != "live" {
		t.Fatalf("got %v", got)
	}
	cancel() // ending the context ends the subscription
	for range sub.Events() {
	}
}

func TestDedupeAcrossRelays(t *testing.T) {
	checkLeaks(t)
	f1, f2 := newFakeRelay(t, modeNormal), newFakeRelay(t, modeNormal)
	stored := newEvent(t, testKey, 1, 100, "stored")
	f1.Store(stored)
	f2.Store(stored)
	p := testPool(t, Options{}, f1.URL(), f2.URL())
	waitConnected(t, p, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sub, err := p.Subscribe(ctx, []nostr.Filter{{Kinds: []int{1}}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	waitEOSE(t, sub)
	if got := recv(t, sub, 1); got[0] != "stored" {
		t.Fatalf("got %v", got)
	}
	// A live event published to both relays arrives once.
	res, err := p.Publish(ctx, newEvent(t, testKey, 1, 200, "live"))
	if err != nil {
		t.Fatal(err)
	}
	if rs, _ := res.Wait(ctx); rs[0].Status != StatusAccepted || rs[1].Status != StatusAccepted {
		t.Fatalf("results %+v", rs)
	}
	if got := recv(t, sub, 1); got[0] != "live" {
		t.Fatalf("got %v", got)
	}
	noMore(t, p, sub)
	if d := p.Stats().Duplicates; d < 2 {
		t.Fatalf("Duplicates = %d, want >= 2", d)
	}
}

// fakeRelayURLs starts a fake relay per mode (-1: a URL where nothing listens).
func fakeRelayURLs(t *testing.T, modes []fakeMode) []string {
	var urls []string
	for _, m := range modes {
		if m < 0 {
			urls = append(urls, deadURL(t))
		} else {
			urls = append(urls, newFakeRelay(t, m).URL())
		}
	}
	return urls
}

func TestPublishAggregation(t *testing.T) {
	tests := []struct {
		name    string
		modes   []fakeMode // -1: dead URL
		wantErr bool
		want    []Status
	}{
		{"one good, one dead, one garbage", []fakeMode{modeNormal, -1, modeGarbage}, false,
			[]Status{StatusAccepted, StatusNotConnected, StatusTimeout}},
		{"dead and garbage only", []fakeMode{-1, modeGarbage}, true,
			[]Status{StatusNotConnected, StatusTimeout}},
		{"two good", []fakeMode{modeNormal, modeNormal}, false,
			[]Status{StatusAccepted, StatusAccepted}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkLeaks(t)
			urls := fakeRelayURLs(t, tt.modes)
			p := testPool(t, Options{PublishTimeout: 500 * time.Millisecond}, urls...)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			res, err := p.Publish(ctx, newEvent(t, testKey, 1, time.Now().Unix(), "hello"))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrNotAccepted) {
				t.Fatalf("err = %v, want ErrNotAccepted", err)
			}
			rs, err := res.Wait(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range rs {
				if r.URL != urls[i] || r.Status != tt.want[i] {
					t.Errorf("relay %d: %+v, want %s", i, r, tt.want[i])
				}
			}
		})
	}
}

func TestPublishRejected(t *testing.T) {
	checkLeaks(t)
	f := newFakeRelay(t, modeNormal)
	p := testPool(t, Options{}, f.URL())
	ev := newEvent(t, testKey, 1, 1, "tampered")
	ev.Content = "changed after signing"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := p.Publish(ctx, ev)
	if !errors.Is(err, ErrNotAccepted) {
		t.Fatalf("err = %v", err)
	}
	rs := res.Results()
	if rs[0].Status != StatusRejected || !hasPrefix(rs[0].Message, "invalid") {
		t.Fatalf("results %+v", rs)
	}
}

// PublishAsync reports once, without the caller waiting: nil at the first OK true, an
// ErrNotAccepted error when every relay refused or timed out.
func TestPublishAsync(t *testing.T) {
	tests := []struct {
		name    string
		modes   []fakeMode // -1: dead URL
		tamper  bool
		wantErr bool
	}{
		{"accepted by one of two", []fakeMode{modeNormal, -1}, false, false},
		{"rejected", []fakeMode{modeNormal}, true, true},
		{"nobody answers", []fakeMode{modeGarbage}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkLeaks(t)
			urls := fakeRelayURLs(t, tt.modes)
			p := testPool(t, Options{PublishTimeout: 500 * time.Millisecond}, urls...)
			ev := newEvent(t, testKey, 1, time.Now().Unix(), "hello")
			if tt.tamper {
				ev.Content = "changed after signing"
			}
			calls := make(chan error, 2)
			if err := p.PublishAsync(ev, func(err error) { calls <- err }); err != nil {
				t.Fatal(err)
			}
			var err error
			select {
			case err = <-calls:
			case <-time.After(10 * time.Second):
				t.Fatal("done was never called")
			}
			if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, ErrNotAccepted)) {
				t.Fatalf("done(%v), want error %v (ErrNotAccepted)", err, tt.wantErr)
			}
			// Exactly once: wait past the publish timeout for a second call.
			select {
			case again := <-calls:
				t.Fatalf("done called twice (second: %v)", again)
			case <-time.After(700 * time.Millisecond):
			}
		})
	}
}

func TestSlowRelaysDoNotDelayOthers(t *testing.T) {
	checkLeaks(t)
	gated := newFakeRelay(t, modeNormal)
	gated.okGate = make(chan struct{})
	noHandshake := newFakeRelay(t, modeNoHandshake)
	good := newFakeRelay(t, modeNormal)
	const publishTimeout = 8 * time.Second
	p := testPool(t, Options{PublishTimeout: publishTimeout, ConnectTimeout: 5 * time.Second},
		gated.URL(), noHandshake.URL(), good.URL())
	waitFor(t, "gated and good connected", func() bool {
		rs := p.Relays()
		return rs[0].Connected && rs[2].Connected
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	res, err := p.Publish(ctx, newEvent(t, testKey, 1, time.Now().Unix(), "x"))
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > publishTimeout/2 {
		t.Fatalf("publish took %v: a slow relay delayed it", d)
	}
	rs := res.Results()
	if rs[0].Status != StatusPending || rs[1].Status != StatusPending || rs[2].Status != StatusAccepted {
		t.Fatalf("results %+v", rs)
	}
	close(gated.okGate)
	waitFor(t, "gated relay's OK", func() bool { return res.Results()[0].Status == StatusAccepted })

	// Subscriptions too: the good relay's EOSE and events are not held back by the others.
	sub, err := p.Subscribe(ctx, []nostr.Filter{{Kinds: []int{1}}}, WithEOSETimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if got := recv(t, sub, 1); got[0] != "x" {
		t.Fatalf("got %v", got)
	}
}

func TestReconnectAndResubscribe(t *testing.T) {
	checkLeaks(t)
	f := newFakeRelay(t, modeNormal)
	f.reqs = make(chan []nostr.Filter, 16)
	f.Store(newEvent(t, testKey, 1, 1000, "old"))
	p := testPool(t, Options{MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}, f.URL())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sub, err := p.Subscribe(ctx, []nostr.Filter{{Kinds: []int{1, 23194}}}, WithSinceOnResubscribe(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	first := recvREQ(t, f)
	if first[0].Since != nil {
		t.Fatalf("first REQ has since %d", *first[0].Since)
	}
	if got := recv(t, sub, 1); got[0] != "old" {
		t.Fatalf("got %v", got)
	}
	waitEOSE(t, sub)

	for round := 1; round <= 2; round++ {
		f.Restart()
		resub := recvREQ(t, f) // the pool came back by itself and resubscribed
		// since = newest event seen from this relay - the 10 s margin.
		if want := []int64{990, 1990}[round-1]; resub[0].Since == nil || *resub[0].Since != want {
			t.Fatalf("round %d: resubscription since = %v, want %d", round, resub[0].Since, want)
		}
		waitConnected(t, p, 1)
		// An event published after the restart arrives (ephemeral: only live delivery).
		if _, err := p.Publish(ctx, newEvent(t, testKey, 23194, 2000, fmt.Sprint("after restart ", round))); err != nil {
			t.Fatal(err)
		}
		if got := recv(t, sub, 1); got[0] != fmt.Sprint("after restart ", round) {
			t.Fatalf("got %v", got)
		}
	}
	if st := p.Relays()[0]; st.Connections != 3 {
		t.Fatalf("connections = %d, want 3", st.Connections)
	}
}

func TestPublishWaitsForReconnect(t *testing.T) {
	checkLeaks(t)
	f := newFakeRelay(t, modeNormal)
	p := testPool(t, Options{}, f.URL())
	waitConnected(t, p, 1)
	f.Stop()
	waitFor(t, "disconnect", func() bool { return !p.Relays()[0].Connected })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := p.Publish(ctx, newEvent(t, testKey, 1, 1, "queued"))
		errc <- err
	}()
	f.start(f.addr)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func TestAuth(t *testing.T) {
	checkLeaks(t)
	client, service, stranger := nostr.GenerateSecretKey(), nostr.GenerateSecretKey(), nostr.GenerateSecretKey()
	f := newFakeRelay(t, modeNormal)
	f.auth = true
	f.allow = map[nostr.PublicKey]bool{client.Public(): true, service.Public(): true}
	other := nostr.GenerateSecretKey()
	f.Store(
		newEvent(t, other, 1, 100, "for client", nostr.Tag{"p", client.Public().String()}),
		newEvent(t, other, 1, 100, "for service", nostr.Tag{"p", service.Public().String()}),
		newEvent(t, other, 1, 100, "for stranger", nostr.Tag{"p", stranger.Public().String()}),
	)
	p := testPool(t, Options{}, f.URL())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// The fake relay serves a filter only if its #p keys are authenticated on the connection.
	tests := []struct {
		name       string
		key        *nostr.SecretKey
		p          *nostr.SecretKey
		wantEvents []string
		wantClosed string // prefix of the CLOSED reason
	}{
		{"no key", nil, client, nil, "auth-required"},
		{"key not allowed", stranger, stranger, nil, "auth-required"},
		{"client key", client, client, []string{"for client"}, ""},
		{"service key on the same socket", service, service, []string{"for service"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []SubOption
			if tt.key != nil {
				opts = append(opts, WithAuthKey(tt.key))
			}
			sub, err := p.Subscribe(ctx, []nostr.Filter{{Kinds: []int{1}, Tags: map[string][]string{"p": {tt.p.Public().String()}}}}, opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Close()
			got := recv(t, sub, len(tt.wantEvents))
			waitEOSE(t, sub)
			if !slices.Equal(got, tt.wantEvents) {
				t.Fatalf("got %v, want %v", got, tt.wantEvents)
			}
			reason := sub.RelayErrors()[f.URL()]
			if tt.wantClosed == "" && reason != "" || !hasPrefix(reason, tt.wantClosed) && tt.wantClosed != "" {
				t.Fatalf("CLOSED reason %q, want prefix %q", reason, tt.wantClosed)
			}
		})
	}
	if keys := f.authedKeys(); !slices.Equal(keys, []int{2}) {
		t.Fatalf("authenticated keys per connection = %v, want [2] (one socket, two keys)", keys)
	}

	// Publishing as the author: refused with auth-required, authenticated, retried once.
	author := nostr.GenerateSecretKey()
	f.mu.Lock()
	f.allow[author.Public()] = true
	f.mu.Unlock()
	res, err := p.Publish(ctx, newEvent(t, author, 23194, 1, "req"), WithAuthKey(author))
	if err != nil {
		t.Fatalf("publish: %v (%+v)", err, res.Results())
	}
	// Refused for good: the key is not on the allow-list.
	res, err = p.Publish(ctx, newEvent(t, stranger, 23194, 1, "req2"), WithAuthKey(stranger))
	if !errors.Is(err, ErrNotAccepted) || !hasPrefix(res.Results()[0].Message, "auth-required") {
		t.Fatalf("publish as stranger: %v %+v", err, res.Results())
	}
}

func TestAuthEagerWithPoolKeys(t *testing.T) {
	checkLeaks(t)
	k1, k2 := nostr.GenerateSecretKey(), nostr.GenerateSecretKey()
	f := newFakeRelay(t, modeNormal)
	f.auth = true
	f.Store(newEvent(t, k1, 1, 1, "one"))
	p := testPool(t, Options{AuthKeys: func(url string) []*nostr.SecretKey {
		if url != f.URL() {
			t.Errorf("AuthKeys(%q)", url)
		}
		return []*nostr.SecretKey{k1, k2}
	}}, f.URL())
	waitFor(t, "eager authentication of both keys", func() bool { return slices.Equal(f.authedKeys(), []int{2}) })
	sub, err := p.Subscribe(context.Background(), []nostr.Filter{{Kinds: []int{1}}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if got := recv(t, sub, 1); got[0] != "one" {
		t.Fatalf("got %v", got)
	}
	res, err := p.Publish(context.Background(), newEvent(t, k2, 1, 2, "two"))
	if err != nil {
		t.Fatalf("%v %+v", err, res.Results())
	}
}

func TestBackoffDoesNotSpin(t *testing.T) {
	tests := []struct {
		name string
		mode fakeMode // -1: nothing listens
	}{
		{"accepts then closes at once", modeHangUp},
		{"connection refused", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkLeaks(t)
			var url string
			var f *fakeRelay
			if tt.mode < 0 {
				url = deadURL(t)
			} else {
				f = newFakeRelay(t, tt.mode)
				url = f.URL()
			}
			const minB = 20 * time.Millisecond
			p := testPool(t, Options{MinBackoff: minB, MaxBackoff: 80 * time.Millisecond}, url)
			start := time.Now()
			waitFor(t, "a few attempts", func() bool { return p.Relays()[0].Attempts >= 4 })
			time.Sleep(300 * time.Millisecond) // the measurement window, not synchronisation
			p.Close()
			elapsed := time.Since(start)
			attempts := p.Relays()[0].Attempts
			// Every wait is at least minB, so attempts <= elapsed/minB + 1.
			if limit := int(elapsed/minB) + 1; attempts > limit {
				t.Fatalf("%d attempts in %v (limit %d): spinning", attempts, elapsed, limit)
			}
			if f != nil && f.connects.Load() > int64(attempts) {
				t.Fatalf("relay saw %d connections, pool made %d attempts", f.connects.Load(), attempts)
			}
			if p.Relays()[0].LastError == nil {
				t.Fatal("no LastError recorded")
			}
		})
	}
}

func TestBackoffBounds(t *testing.T) {
	minB, maxB := 100*time.Millisecond, 30*time.Second
	tests := []struct {
		failures int
		ceil     time.Duration
	}{
		{0, minB}, {1, minB}, {2, 2 * minB}, {5, 16 * minB}, {9, 256 * minB}, {10, maxB}, {64, maxB}, {1 << 30, maxB},
	}
	for _, tt := range tests {
		for range 200 {
			d := backoff(minB, maxB, tt.failures)
			if d < minB || d > tt.ceil {
				t.Fatalf("backoff(%d) = %v, want in [%v, %v]", tt.failures, d, minB, tt.ceil)
			}
		}
	}
}

func TestSubscriberThatDoesNotRead(t *testing.T) {
	checkLeaks(t)
	f := newFakeRelay(t, modeNormal)
	for i := range 10 {
		f.Store(newEvent(t, testKey, 1, int64(i), fmt.Sprint(i)))
	}
	p := testPool(t, Options{}, f.URL())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lazy, err := p.Subscribe(ctx, []nostr.Filter{{Kinds: []int{1}}}, WithBufferSize(2))
	if err != nil {
		t.Fatal(err)
	}
	defer lazy.Close()
	busy, err := p.Subscribe(ctx, []nostr.Filter{{Kinds: []int{1}}})
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	if got := recv(t, busy, 10); len(got) != 10 {
		t.Fatal(got)
	}
	waitEOSE(t, lazy)
	if d := lazy.Dropped(); d != 8 {
		t.Fatalf("Dropped = %d, want 8", d)
	}
	if got := recv(t, lazy, 2); !slices.Equal(got, []string{"0", "1"}) {
		t.Fatalf("got %v", got)
	}
}

func TestUntrustedEventsDropped(t *testing.T) {
	checkLeaks(t)
	f := newFakeRelay(t, modeNormal)
	p := testPool(t, Options{}, f.URL())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sub, err := p.Subscribe(ctx, []nostr.Filter{{Kinds: []int{1}}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	waitEOSE(t, sub)

	badSig := newEvent(t, testKey, 1, 1, "bad sig")
	badSig.Sig[5] ^= 1
	badID := newEvent(t, testKey, 1, 1, "original")
	badID.Content = "bad id"
	otherKind := newEvent(t, testKey, 2, 1, "other kind")
	good := newEvent(t, testKey, 1, 1, "good")
	raw := func(s *Subscription, ev *nostr.Event) {
		f.SendRaw(`["EVENT","` + s.ID() + `",` + string(ev.AppendJSON(nil)) + `]`)
	}
	f.Broadcast(badSig)
	f.Broadcast(badID)
	raw(sub, otherKind) // the relay ignores our filter
	f.SendRaw(`["EVENT","` + sub.ID() + `",{"id":"x"}]`)
	f.SendRaw(`["EVENT","unknown-sub",` + string(good.AppendJSON(nil)) + `]`)
	f.Broadcast(good)
	if got := recv(t, sub, 1); got[0] != "good" {
		t.Fatalf("got %v", got)
	}

	// good is now in the verified cache. A forged copy (same id and sig, other content)
	// sent to a subscription that has not seen it must still be caught.
	sub2, err := p.Subscribe(ctx, []nostr.Filter{{Kinds: []int{1}}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub2.Close()
	waitEOSE(t, sub2)
	forged := *good
	forged.Content = "forged"
	raw(sub2, &forged)
	raw(sub, good)  // duplicate
	raw(sub2, good) // cache hit, delivered
	if got := recv(t, sub2, 1); got[0] != "good" {
		t.Fatalf("got %v", got)
	}
	noMore(t, p, sub)
	noMore(t, p, sub2)
	st := p.Stats()
	if want := (Stats{Invalid: 3, Unmatched: 1, Malformed: 1, Duplicates: 1}); st != want {
		t.Fatalf("stats %+v, want %+v", st, want)
	}
}

func TestGarbageRelayDoesNotBreakSubscriptions(t *testing.T) {
	checkLeaks(t)
	g, f := newFakeRelay(t, modeGarbage), newFakeRelay(t, modeNormal)
	f.Store(newEvent(t, testKey, 1, 1, "ok"))
	p := testPool(t, Options{EOSETimeout: 300 * time.Millisecond}, g.URL(), f.URL())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	evs, err := p.QuerySync(ctx, []nostr.Filter{{Kinds: []int{1}}})
	if err != nil || len(evs) != 1 || evs[0].Content != "ok" {
		t.Fatalf("QuerySync = %v, %v", evs, err)
	}
}

func TestQuerySyncErrors(t *testing.T) {
	checkLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	empty := testPool(t, Options{})
	if _, err := empty.QuerySync(ctx, []nostr.Filter{{}}); !errors.Is(err, ErrNoRelays) {
		t.Fatalf("no relays: %v", err)
	}
	if _, err := empty.Publish(ctx, newEvent(t, testKey, 1, 1, "")); !errors.Is(err, ErrNoRelays) {
		t.Fatalf("publish, no relays: %v", err)
	}
	if _, err := empty.Subscribe(ctx, nil); !errors.Is(err, ErrNoFilters) {
		t.Fatalf("no filters: %v", err)
	}
	dead := testPool(t, Options{}, deadURL(t))
	waitFor(t, "failed attempt", func() bool { return dead.Relays()[0].LastError != nil })
	if _, err := dead.QuerySync(ctx, []nostr.Filter{{}}); !errors.Is(err, ErrNoAnswer) {
		t.Fatalf("dead relay: %v", err)
	}
	g := newFakeRelay(t, modeGarbage)
	garbage := testPool(t, Options{}, g.URL())
	waitConnected(t, garbage, 1)
	if _, err := garbage.QuerySync(ctx, []nostr.Filter{{}}, WithEOSETimeout(200*time.Millisecond)); !errors.Is(err, ErrNoAnswer) {
		t.Fatalf("garbage relay: %v", err)
	}
	short, cancelShort := context.WithCancel(ctx)
	cancelShort()
	if _, err := garbage.QuerySync(short, []nostr.Filter{{}}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

func TestAddRemoveRelay(t *testing.T) {
	checkLeaks(t)
	f1, f2 := newFakeRelay(t, modeNormal), newFakeRelay(t, modeNormal)
	f2.Store(newEvent(t, testKey, 1, 1, "from f2"))
	p := testPool(t, Options{}, f1.URL())
	if err := p.AddRelay(f1.URL() + "/"); err != nil { // same relay, normalised
		t.Fatal(err)
	}
	if n := len(p.Relays()); n != 1 {
		t.Fatalf("%d relays", n)
	}
	if err := p.AddRelay("http://example.com"); !errors.Is(err, ErrInvalidURL) {
		t.Fatalf("http URL: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sub, err := p.Subscribe(ctx, []nostr.Filter{{Kinds: []int{1}}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	waitEOSE(t, sub)
	if err := p.AddRelay(f2.URL()); err != nil { // a relay added later gets live subscriptions
		t.Fatal(err)
	}
	if got := recv(t, sub, 1); got[0] != "from f2" {
		t.Fatalf("got %v", got)
	}
	p.RemoveRelay(f2.URL())
	if n := len(p.Relays()); n != 1 {
		t.Fatalf("%d relays after remove", n)
	}
	p.Close()
	if err := p.AddRelay(f2.URL()); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
	if _, err := p.Subscribe(ctx, []nostr.Filter{{}}); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
	if _, ok := <-sub.Events(); ok {
		t.Fatal("events channel still open after pool Close")
	}
}

func TestNormalizeURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"wss://Relay.Example.com/", "wss://relay.example.com"},
		{"  ws://127.0.0.1:7000  ", "ws://127.0.0.1:7000"},
		{"WSS://r.example/path", "wss://r.example/path"},
		{"https://r.example", ""},
		{"wss://", ""},
		{"wss://user@r.example", ""},
		{"::", ""},
	}
	for _, tt := range tests {
		got, err := NormalizeURL(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("NormalizeURL(%q) = %q, want error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizeURL(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
		}
	}
}

// TestCloseLeaksNothing runs a busy pool (good, dead, garbage, hanging relays; live
// subscriptions; pending publishes) and checks that Close stops every goroutine.
func TestCloseLeaksNothing(t *testing.T) {
	checkLeaks(t)
	good, garbage, hang := newFakeRelay(t, modeNormal), newFakeRelay(t, modeGarbage), newFakeRelay(t, modeNoHandshake)
	gated := newFakeRelay(t, modeNormal)
	gated.okGate = make(chan struct{})
	p := New(Options{MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond, PingInterval: 10 * time.Millisecond})
	for _, u := range []string{good.URL(), garbage.URL(), hang.URL(), gated.URL(), deadURL(t)} {
		if err := p.AddRelay(u); err != nil {
			t.Fatal(err)
		}
	}
	waitConnected(t, p, 3)
	ctx := context.Background()
	var subs []*Subscription
	for i := range 5 {
		s, err := p.Subscribe(ctx, []nostr.Filter{{Kinds: []int{i}}})
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, s)
	}
	res, err := p.Publish(ctx, newEvent(t, testKey, 1, 1, "x"))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	for _, s := range subs {
		for range s.Events() { // ends only if Close closed the channel
		}
	}
	if rs, _ := res.Wait(ctx); rs[3].Status != StatusFailed {
		t.Fatalf("gated relay's result after Close: %+v", rs[3])
	}
	if _, err := p.Publish(ctx, newEvent(t, testKey, 1, 1, "x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("publish after close: %v", err)
	}
}

func recvREQ(t *testing.T, f *fakeRelay) []nostr.Filter {
	t.Helper()
	select {
	case fs := <-f.reqs:
		return fs
	case <-time.After(10 * time.Second):
		t.Fatal("no REQ reached the relay")
		return nil
	}
}
