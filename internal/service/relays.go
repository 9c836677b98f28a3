package service

import (
	"context"
	"sync"

	"github.com/nwc-go/nwc/nostr"
	"github.com/nwc-go/nwc/nostr/relaypool"
)

// DefaultFiltersPerREQ is how many filters PoolRelays puts in one REQ: with FilterChunk's
// 500 keys each, a REQ is about 100 KB, under the 128 KiB message limit common relays
// have, and within every relay's filters-per-REQ limit (ours allows 20). 100,000
// connections take 67 REQs, under our relay's 100 subscriptions per connection.
const DefaultFiltersPerREQ = 3

// PoolRelays adapts a relay pool to the Relays the service consumes.
type PoolRelays struct {
	Pool *relaypool.Pool
	// FiltersPerREQ splits a subscription with more filters into several REQs, merged into
	// one channel (0 = DefaultFiltersPerREQ).
	FiltersPerREQ int
}

// PublishAsync queues ev for every relay and calls done once with the outcome (the
// service's answers: a worker need not wait for the relay's OK).
func (p PoolRelays) PublishAsync(ev *nostr.Event, done func(error)) error {
	return p.Pool.PublishAsync(ev, done)
}

// Publish implements Relays: nil once one relay accepted the event.
func (p PoolRelays) Publish(ctx context.Context, ev *nostr.Event) error {
	_, err := p.Pool.Publish(ctx, ev)
	return err
}

// subBuffer is the capacity of each REQ's event channel.
const subBuffer = 4096

// Subscribe implements Relays. A subscription the pool refuses (closed pool) yields a
// closed channel, which ends the caller's loop. Filters beyond FiltersPerREQ go into
// further REQs; their events are merged, and the channel closes once every REQ has ended.
func (p PoolRelays) Subscribe(ctx context.Context, filters []nostr.Filter) (<-chan *nostr.Event, func()) {
	per := p.FiltersPerREQ
	if per <= 0 {
		per = DefaultFiltersPerREQ
	}
	if len(filters) <= per {
		sub, err := p.Pool.Subscribe(ctx, filters, relaypool.WithBufferSize(subBuffer))
		if err != nil {
			return closedEvents(), func() {}
		}
		return sub.Events(), sub.Close
	}
	var subs []*relaypool.Subscription
	closeAll := func() {
		for _, s := range subs {
			s.Close()
		}
	}
	for i := 0; i < len(filters); i += per {
		sub, err := p.Pool.Subscribe(ctx, filters[i:min(i+per, len(filters))], relaypool.WithBufferSize(subBuffer))
		if err != nil {
			closeAll()
			return closedEvents(), func() {}
		}
		subs = append(subs, sub)
	}
	out := make(chan *nostr.Event, subBuffer)
	done := make(chan struct{})
	var wg sync.WaitGroup
	for _, sub := range subs {
		wg.Go(func() {
			for ev := range sub.Events() {
				select {
				case out <- ev:
				case <-done: // stopped: nobody reads out any more
					return
				}
			}
		})
	}
	go func() { wg.Wait(); close(out) }()
	var once sync.Once
	return out, func() {
		once.Do(func() {
			close(done)
			closeAll()
		})
	}
}

func closedEvents() <-chan *nostr.Event {
	ch := make(chan *nostr.Event)
	close(ch)
	return ch
}
