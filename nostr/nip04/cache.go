package nip04

import (
	"github.com/nwc-go/nwc/nostr"
	"github.com/nwc-go/nwc/nostr/internal/keycache"
)

// Cache holds NIP-04 shared keys; see nip44.Cache, which it mirrors (bounded to max
// entries of about 140 bytes, arbitrary eviction, safe for concurrent use).
type Cache struct {
	keys *keycache.Cache
}

// NewCache returns a cache holding at most max shared keys (at least 1).
func NewCache(max int) *Cache {
	return &Cache{keys: keycache.New(max, SharedKey)}
}

// Get returns SharedKey(sk, pub), from the cache when possible; errors are not cached.
func (c *Cache) Get(sk *nostr.SecretKey, pub nostr.PublicKey) ([32]byte, error) {
	return c.keys.Get(sk, pub)
}

// Len returns the number of cached keys.
func (c *Cache) Len() int { return c.keys.Len() }
