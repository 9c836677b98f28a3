package service

import (
	"context"

	"github.com/nwc-go/nwc/nostr"
	"github.com/nwc-go/nwc/nostr/relaypool"
)

// PoolRelays adapts a relay pool to the Relays the service consumes.
type PoolRelays struct{ Pool *relaypool.Pool }

// Publish implements Relays: nil once one relay accepted the event.
func (p PoolRelays) Publish(ctx context.Context, ev *nostr.Event) error {
	_, err := p.Pool.Publish(ctx, ev)
	return err
}

// Subscribe implements Relays. A subscription the pool refuses (closed pool) yields a
// closed channel, which ends the caller's loop.
func (p PoolRelays) Subscribe(ctx context.Context, filters []nostr.Filter) (<-chan *nostr.Event, func()) {
	sub, err := p.Pool.Subscribe(ctx, filters, relaypool.WithBufferSize(4096))
	if err != nil {
		ch := make(chan *nostr.Event)
		close(ch)
		return ch, func() {}
	}
	return sub.Events(), sub.Close
}
