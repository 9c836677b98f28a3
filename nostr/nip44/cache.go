package nip44

import (
	"github.com/nwc-go/nwc/nostr"
	"github.com/nwc-go/nwc/nostr/internal/keycache"
)

// Cache holds conversation keys so that a service talking to many peers derives each key
// (an elliptic-curve multiplication, about 0.1 ms) once. It is bounded: at most max
// entries, about 140 bytes each (100,000 peers take about 14 MB); a full shard evicts an
// arbitrary entry. It is safe for concurrent use.
type Cache struct {
	keys *keycache.Cache
}

// NewCache returns a cache holding at most max conversation keys (at least 1).
func NewCache(max int) *Cache {
	return &Cache{keys: keycache.New(max, ConversationKey)}
}

// Get returns ConversationKey(sk, pub), from the cache when possible. Entries are keyed by
// (sk's public key, pub); errors are not cached.
func (c *Cache) Get(sk *nostr.SecretKey, pub nostr.PublicKey) ([32]byte, error) {
	return c.keys.Get(sk, pub)
}

// Len returns the number of cached keys.
func (c *Cache) Len() int { return c.keys.Len() }
