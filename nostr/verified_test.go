package nostr

import (
	"errors"
	"sync"
	"testing"
)

func TestSigCacheRemembersAndForgetsOldest(t *testing.T) {
	c := newSigCache(1, 3)
	ids := make([]EventID, 5)
	sigs := make([][64]byte, 5)
	for i := range ids {
		ids[i][0], ids[i][31] = 7, byte(i)
		sigs[i][0] = byte(i + 1)
	}
	for i := range 3 {
		c.add(&ids[i], &sigs[i])
	}
	tests := []struct {
		name string
		id   int
		sig  [64]byte
		want bool
	}{
		{"known pair", 1, sigs[1], true},
		{"known id, other signature", 1, sigs[2], false},
		{"unknown id", 4, sigs[4], false},
	}
	for _, tc := range tests {
		if got := c.has(&ids[tc.id], &tc.sig); got != tc.want {
			t.Errorf("%s: has = %v, want %v", tc.name, got, tc.want)
		}
	}
	// Two more pairs push out the two oldest.
	c.add(&ids[3], &sigs[3])
	c.add(&ids[4], &sigs[4])
	for i, want := range []bool{false, false, true, true, true} {
		if got := c.has(&ids[i], &sigs[i]); got != want {
			t.Errorf("after eviction, pair %d: has = %v, want %v", i, got, want)
		}
	}
	// Re-adding a known id replaces its signature without growing.
	c.add(&ids[4], &sigs[0])
	if c.has(&ids[4], &sigs[4]) || !c.has(&ids[4], &sigs[0]) || len(c.shards[0].ring) != 3 {
		t.Errorf("re-add: want the new signature only, ring of 3")
	}
}

// TestVerifyWithCacheStillRejectsTampering: a cached (id, signature) pair vouches for
// nothing but that exact event.
func TestVerifyWithCacheStillRejectsTampering(t *testing.T) {
	sk := GenerateSecretKey()
	sign := func() Event {
		ev := Event{CreatedAt: 1700000000, Kind: 23194, Tags: Tags{{"p", GenerateSecretKey().Public().String()}}, Content: "hello"}
		if err := ev.Sign(sk); err != nil {
			t.Fatal(err)
		}
		if err := ev.Verify(); err != nil { // signed here: a cache hit
			t.Fatal(err)
		}
		return ev
	}
	tests := []struct {
		name   string
		tamper func(*Event)
		want   error
	}{
		{"signature bit flipped", func(e *Event) { e.Sig[5] ^= 1 }, ErrInvalidSignature},
		{"content changed", func(e *Event) { e.Content = "hellp" }, ErrInvalidID},
		{"other author, same id and sig", func(e *Event) { e.PubKey = GenerateSecretKey().Public() }, ErrInvalidID},
		{"id of the content, old signature", func(e *Event) { e.Content = "x"; e.ID = e.ComputeID() }, ErrInvalidSignature},
	}
	for _, tc := range tests {
		ev := sign()
		tc.tamper(&ev)
		if err := ev.Verify(); !errors.Is(err, tc.want) {
			t.Errorf("%s: Verify = %v, want %v", tc.name, err, tc.want)
		}
		if err := ev.VerifyNoCache(); !errors.Is(err, tc.want) {
			t.Errorf("%s: VerifyNoCache = %v, want %v", tc.name, err, tc.want)
		}
	}
}

// TestVerifyCachesWhatItChecked: an event verified once (signed elsewhere: not in the
// cache) is a hit the second time, and many goroutines may verify at once.
func TestVerifyCachesWhatItChecked(t *testing.T) {
	sk := GenerateSecretKey()
	evs := make([]Event, 64)
	for i := range evs {
		evs[i] = Event{CreatedAt: int64(1700000000 + i), Kind: 1, Content: "x"}
		if err := evs[i].Sign(sk); err != nil {
			t.Fatal(err)
		}
	}
	// Forget them, as if another process had signed them.
	verifiedSigs = newSigCache(16, 1024)
	for i := range evs {
		if verifiedSigs.has(&evs[i].ID, &evs[i].Sig) {
			t.Fatal("cache not reset")
		}
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := range evs {
				if err := evs[i].Verify(); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	for i := range evs {
		if !verifiedSigs.has(&evs[i].ID, &evs[i].Sig) {
			t.Fatalf("event %d verified but not remembered", i)
		}
	}
}
