package nip44

import (
	"errors"
	"sync"
	"testing"

	"github.com/nwc-go/nwc/nostr"
)

func TestCache(t *testing.T) {
	service := nostr.GenerateSecretKey()
	peers := make([]*nostr.SecretKey, 6)
	for i := range peers {
		peers[i] = nostr.GenerateSecretKey()
	}
	c := NewCache(4)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 30 {
				p := peers[(g+i)%len(peers)]
				got, err := c.Get(service, p.Public())
				if err != nil {
					t.Error(err)
					return
				}
				// The peer derives the same key from its side.
				want, err := ConversationKey(p, service.Public())
				if err != nil || got != want {
					t.Errorf("cached key differs from the peer's: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := c.Len(); n < 1 || n > 4 {
		t.Errorf("Len = %d, want 1..4", n)
	}
	var offCurve nostr.PublicKey // x = 0 is not on secp256k1
	if _, err := c.Get(service, offCurve); !errors.Is(err, nostr.ErrInvalidPublicKey) {
		t.Errorf("invalid peer: %v", err)
	}
}
