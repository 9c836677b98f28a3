package service_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/nwc-go/nwc/internal/service"
	"github.com/nwc-go/nwc/nip47"
	"github.com/nwc-go/nwc/nostr"
	"github.com/nwc-go/nwc/nostr/relaypool"
	"github.com/nwc-go/nwc/relay"
)

// TestPoolRelaysSplitsREQsWithinRelayLimits: a subscription with more filters than a
// relay takes in one REQ is sent as several REQs, all of which the relay accepts, and the
// events of every REQ come out of the one channel.
func TestPoolRelaysSplitsREQsWithinRelayLimits(t *testing.T) {
	goroutines := runtime.NumGoroutine()
	tests := []struct {
		name           string
		filters, per   int
		wantREQs       int
		relayMaxPerREQ int
	}{
		{name: "one REQ", filters: 2, per: 3, wantREQs: 1, relayMaxPerREQ: 3},
		{name: "exact multiple", filters: 6, per: 2, wantREQs: 3, relayMaxPerREQ: 2},
		{name: "remainder", filters: 7, per: 3, wantREQs: 3, relayMaxPerREQ: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := relay.New(relay.Config{MaxFilters: tc.relayMaxPerREQ, EventsPerSecond: -1})
			if err != nil {
				t.Fatal(err)
			}
			url, stopHTTP, err := relay.ListenAndServe(context.Background(), "127.0.0.1:0", r)
			if err != nil {
				t.Fatal(err)
			}
			pool := relaypool.New(relaypool.Options{})
			t.Cleanup(func() { pool.Close(); stopHTTP(); r.Close() })
			if err := pool.AddRelay(url); err != nil {
				t.Fatal(err)
			}
			// One service key per filter; one request event to each.
			keys := make([]*nostr.SecretKey, tc.filters)
			var filters []nostr.Filter
			for i := range keys {
				keys[i] = nostr.GenerateSecretKey()
				filters = append(filters, nostr.Filter{Kinds: []int{nip47.KindRequest}, Tags: map[string][]string{"p": {keys[i].Public().String()}}})
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			events, stop := service.PoolRelays{Pool: pool, FiltersPerREQ: tc.per}.Subscribe(ctx, filters)
			for r.Stats().Subscriptions < tc.wantREQs {
				select {
				case <-ctx.Done():
					t.Fatalf("relay has %d subscriptions, want %d", r.Stats().Subscriptions, tc.wantREQs)
				case <-time.After(5 * time.Millisecond):
				}
			}
			app := nostr.GenerateSecretKey()
			want := map[nostr.EventID]bool{}
			for _, k := range keys {
				ev := &nostr.Event{CreatedAt: time.Now().Unix(), Kind: nip47.KindRequest, Tags: nostr.Tags{{"p", k.Public().String()}}, Content: "x"}
				if err := ev.Sign(app); err != nil {
					t.Fatal(err)
				}
				want[ev.ID] = true
				if _, err := pool.Publish(ctx, ev); err != nil {
					t.Fatal(err)
				}
			}
			for len(want) > 0 {
				select {
				case ev := <-events:
					if !want[ev.ID] {
						t.Fatalf("unexpected or repeated event %s", ev.ID)
					}
					delete(want, ev.ID)
				case <-ctx.Done():
					t.Fatalf("%d events never arrived", len(want))
				}
			}
			if got := r.Stats().Subscriptions; got != tc.wantREQs {
				t.Errorf("relay has %d subscriptions, want %d", got, tc.wantREQs)
			}
			stop()
			stop()             // idempotent
			for range events { // closes once every REQ has ended
			}
		})
	}
	// Forwarders and the pool's goroutines are gone.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > goroutines && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > goroutines {
		t.Errorf("goroutine leak: %d before, %d after", goroutines, n)
	}
}

// TestPoolRelaysClosedPool: a pool that refuses subscriptions yields a closed channel.
func TestPoolRelaysClosedPool(t *testing.T) {
	pool := relaypool.New(relaypool.Options{})
	pool.Close()
	for _, n := range []int{1, 5} {
		filters := make([]nostr.Filter, n)
		for i := range filters {
			filters[i] = nostr.Filter{Kinds: []int{nip47.KindRequest}}
		}
		events, stop := service.PoolRelays{Pool: pool, FiltersPerREQ: 2}.Subscribe(context.Background(), filters)
		if _, ok := <-events; ok {
			t.Fatalf("%d filters: got an event from a closed pool", n)
		}
		stop()
	}
}
