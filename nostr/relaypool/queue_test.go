package relaypool

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nwc-go/nwc/nostr"
	embedded "github.com/nwc-go/nwc/relay"
)

// TestManyLargeREQsDoNotTripTheSlowRelayLimit: the subscriptions a pool sends on connect
// (a wallet service with 100,000 connections has ~6.7 MB of #p filters) are not the
// relay's backlog: they must not count against MaxQueueBytes and get the connection
// killed as "slow", over and over.
func TestManyLargeREQsDoNotTripTheSlowRelayLimit(t *testing.T) {
	checkLeaks(t)
	url, _ := startRelay(t, embedded.Config{EventsPerSecond: -1}, "")
	p := New(Options{MaxQueueBytes: 64 << 10, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	t.Cleanup(func() { p.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// 12 subscriptions of 600 keys (~40 KB each, ~480 KB in all), made before the relay
	// is added so that all of them are queued at once when it connects.
	var subs []*Subscription
	for i := range 12 {
		keys := make([]string, 600)
		for j := range keys {
			keys[j] = fmt.Sprintf("%064x", i*1000+j)
		}
		s, err := p.Subscribe(ctx, []nostr.Filter{{Kinds: []int{23194}, Tags: map[string][]string{"p": keys}}})
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, s)
	}
	if err := p.AddRelay(url); err != nil {
		t.Fatal(err)
	}
	// An event for the last subscription's last key arrives: every REQ went through.
	sk := nostr.GenerateSecretKey()
	ev := &nostr.Event{CreatedAt: time.Now().Unix(), Kind: 23194, Tags: nostr.Tags{{"p", fmt.Sprintf("%064x", 11*1000+599)}}}
	if err := ev.Sign(sk); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Publish(ctx, ev); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-subs[11].Events():
		if got.ID != ev.ID {
			t.Fatalf("got event %s, want %s", got.ID, ev.ID)
		}
	case <-ctx.Done():
		t.Fatal("the event never arrived")
	}
	// One connection, never dropped.
	st := p.Relays()[0]
	if !st.Connected || st.Connections != 1 {
		t.Fatalf("relay status %+v: want one connection that stayed up", st)
	}
}
