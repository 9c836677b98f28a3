package relaypool

import (
	"context"
	"testing"

	"github.com/nwc-go/nwc/nostr"
)

// BenchmarkReceive measures relay-to-subscriber delivery through the pool: parse, filter
// match, dedupe, BIP-340 verification, channel send.
func BenchmarkReceive(b *testing.B) {
	f := newFakeRelay(b, modeNormal)
	p := New(Options{})
	defer p.Close()
	if err := p.AddRelay(f.URL()); err != nil {
		b.Fatal(err)
	}
	sub, err := p.Subscribe(context.Background(), []nostr.Filter{{Kinds: []int{23194}}}, WithBufferSize(b.N+1))
	if err != nil {
		b.Fatal(err)
	}
	<-sub.EOSE()
	evs := make([]*nostr.Event, b.N)
	for i := range evs {
		evs[i] = newEvent(b, testKey, 23194, int64(i), "request")
	}
	b.ResetTimer()
	go func() {
		for _, ev := range evs {
			f.Broadcast(ev)
		}
	}()
	for range b.N {
		<-sub.Events()
	}
}
