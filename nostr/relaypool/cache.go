package relaypool

import (
	"sync"
	"sync/atomic"

	"github.com/nwc-go/nwc/nostr"
)

// verifiedCache remembers the (id, signature) pairs already verified so that an event that
// several subscriptions or relays deliver is checked with BIP-340 once. A hit still
// recomputes the id (cheap), so a relay cannot pass off other content under a known id.
type verifiedCache struct {
	mu   sync.Mutex
	sigs map[nostr.EventID][64]byte
	ring []nostr.EventID
	next int
	n    int
}

func newVerifiedCache(n int) verifiedCache {
	return verifiedCache{sigs: make(map[nostr.EventID][64]byte), n: n}
}

func (c *verifiedCache) verify(ev *nostr.Event) bool {
	c.mu.Lock()
	sig, ok := c.sigs[ev.ID]
	c.mu.Unlock()
	if ok && sig == ev.Sig {
		return ev.ComputeID() == ev.ID
	}
	if ev.Verify() != nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.sigs[ev.ID]; ok {
		return true
	}
	if len(c.ring) < c.n {
		c.ring = append(c.ring, ev.ID)
	} else {
		delete(c.sigs, c.ring[c.next])
		c.ring[c.next] = ev.ID
		c.next = (c.next + 1) % c.n
	}
	c.sigs[ev.ID] = ev.Sig
	return true
}

type counters struct {
	malformed, unmatched, duplicates, invalid atomic.Uint64
}

// Stats counts events the pool did not deliver, over its lifetime.
type Stats struct {
	Malformed  uint64 // EVENT messages whose event did not parse
	Unmatched  uint64 // events that match none of their subscription's filters
	Duplicates uint64 // events already delivered to their subscription
	Invalid    uint64 // events with a wrong id or signature
}

// Stats returns the pool's counters.
func (p *Pool) Stats() Stats {
	return Stats{
		Malformed:  p.stats.malformed.Load(),
		Unmatched:  p.stats.unmatched.Load(),
		Duplicates: p.stats.duplicates.Load(),
		Invalid:    p.stats.invalid.Load(),
	}
}
