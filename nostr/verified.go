package nostr

import "sync"

// verifiedSigs remembers the (id, signature) pairs this process signed or verified, so an
// event checked once is not checked again with BIP-340 by the next component that handles
// it: a wallet service with its embedded relay receives every request twice (relay, then
// relay pool) and hands every response it signed to its own relay. A hit still recomputes
// the id (Verify does that first), and the id commits to the public key and the content,
// so a known signature cannot vouch for anything else. Bounded: the oldest pairs are
// forgotten first.
var verifiedSigs = newSigCache(16, 1024)

// sigCache is a set of (id, signature) pairs in shards by the id's first byte, so that
// verifying goroutines rarely wait for each other.
type sigCache struct {
	shards []sigShard
}

type sigShard struct {
	mu   sync.Mutex
	sigs map[EventID][64]byte
	ring []EventID
	next int
	max  int
}

func newSigCache(shards, perShard int) *sigCache {
	c := &sigCache{shards: make([]sigShard, shards)}
	for i := range c.shards {
		c.shards[i] = sigShard{sigs: make(map[EventID][64]byte, perShard), max: perShard}
	}
	return c
}

func (c *sigCache) shard(id *EventID) *sigShard { return &c.shards[int(id[0])%len(c.shards)] }

// has reports whether id was signed or verified with exactly sig.
func (c *sigCache) has(id *EventID, sig *[64]byte) bool {
	s := c.shard(id)
	s.mu.Lock()
	got, ok := s.sigs[*id]
	s.mu.Unlock()
	return ok && got == *sig
}

// add remembers (id, sig), forgetting the shard's oldest pair when it is full.
func (c *sigCache) add(id *EventID, sig *[64]byte) {
	s := c.shard(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.sigs[*id]; ok {
		s.sigs[*id] = *sig
		return
	}
	if len(s.ring) < s.max {
		s.ring = append(s.ring, *id)
	} else {
		delete(s.sigs, s.ring[s.next])
		s.ring[s.next] = *id
		s.next = (s.next + 1) % s.max
	}
	s.sigs[*id] = *sig
}
