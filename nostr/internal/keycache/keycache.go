// Package keycache is the bounded, concurrency-safe cache of per-peer symmetric keys
// behind nip44.Cache and nip04.Cache.
package keycache

import (
	"fmt"
	"hash/maphash"
	"sync"

	"github.com/nwc-go/nwc/nostr"
)

// Derive computes the key for a (secret key, peer) pair; it is called on a cache miss.
type Derive func(sk *nostr.SecretKey, pub nostr.PublicKey) ([32]byte, error)

// shardCount spreads lock contention; small caches use one shard so the bound stays exact.
const shardCount = 64

// Cache maps (our public key, peer public key) to a derived 32-byte key. It holds at most
// max entries; when a shard is full, an arbitrary entry of that shard is evicted (Go map
// iteration order is randomised), which is cheap and good enough for keys that are
// recomputed in about 0.1 ms.
//
// Memory: an entry is a 64-byte key and a 32-byte value in a Go map; with map overhead
// that measured about 140 bytes per entry at 100,000 entries (about 14 MB), and can be
// up to twice that right after a shard's map grows (BenchmarkMemoryPerEntry).
type Cache struct {
	derive Derive
	seed   maphash.Seed
	shards []shard
}

type shard struct {
	mu  sync.Mutex
	max int
	m   map[[64]byte][32]byte
}

// New returns a cache holding at most max entries (at least 1).
func New(max int, derive Derive) *Cache {
	if max < 1 {
		max = 1
	}
	n := shardCount
	if max < 4*shardCount {
		n = 1
	}
	c := &Cache{derive: derive, seed: maphash.MakeSeed(), shards: make([]shard, n)}
	for i := range c.shards {
		c.shards[i].max = max / n
		if i < max%n {
			c.shards[i].max++
		}
		c.shards[i].m = make(map[[64]byte][32]byte)
	}
	return c
}

// Get returns the cached key for (sk, pub), deriving and storing it on a miss. Errors are
// not cached. Two goroutines missing on the same pair at once both derive it; the result
// is identical, so no coordination is needed.
func (c *Cache) Get(sk *nostr.SecretKey, pub nostr.PublicKey) ([32]byte, error) {
	if sk == nil {
		return [32]byte{}, fmt.Errorf("%w: nil", nostr.ErrInvalidSecretKey)
	}
	var k [64]byte
	own := sk.Public()
	copy(k[:32], own[:])
	copy(k[32:], pub[:])
	// A seeded hash, so that peers cannot choose keys that all land in one shard.
	s := &c.shards[maphash.Comparable(c.seed, k)%uint64(len(c.shards))]

	s.mu.Lock()
	v, ok := s.m[k]
	s.mu.Unlock()
	if ok {
		return v, nil
	}
	v, err := c.derive(sk, pub)
	if err != nil {
		return [32]byte{}, err
	}
	s.mu.Lock()
	if _, ok := s.m[k]; !ok {
		if len(s.m) >= s.max {
			for old := range s.m {
				delete(s.m, old)
				break
			}
		}
		s.m[k] = v
	}
	s.mu.Unlock()
	return v, nil
}

// Len returns the number of cached entries.
func (c *Cache) Len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}
