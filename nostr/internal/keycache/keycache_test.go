package keycache

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/nwc-go/nwc/nostr"
)

var errTest = errors.New("test: derive failed")

// fakeDerive is cheap and distinguishes pairs, so tests can use many keys quickly.
func fakeDerive(calls *atomic.Int64) Derive {
	return func(sk *nostr.SecretKey, pub nostr.PublicKey) ([32]byte, error) {
		calls.Add(1)
		if pub[0] == 0xff {
			return [32]byte{}, errTest
		}
		var v [32]byte
		own := sk.Public()
		for i := range v {
			v[i] = own[i] ^ pub[i]
		}
		return v, nil
	}
}

func peer(i int) nostr.PublicKey {
	var p nostr.PublicKey
	p[1], p[2], p[3] = byte(i), byte(i>>8), byte(i>>16)
	return p
}

func TestHitMissAndErrors(t *testing.T) {
	var calls atomic.Int64
	c := New(10, fakeDerive(&calls))
	sk := nostr.GenerateSecretKey()
	v1, err := c.Get(sk, peer(1))
	if err != nil {
		t.Fatal(err)
	}
	v2, err := c.Get(sk, peer(1))
	if err != nil || v1 != v2 || calls.Load() != 1 {
		t.Fatalf("second Get: %x %v, %d derivations, want 1", v2, err, calls.Load())
	}
	// The pair includes our own key: another secret key misses.
	if _, err := c.Get(nostr.GenerateSecretKey(), peer(1)); err != nil || calls.Load() != 2 {
		t.Fatalf("other secret key: %v, %d derivations, want 2", err, calls.Load())
	}
	var bad nostr.PublicKey
	bad[0] = 0xff
	for range 2 {
		if _, err := c.Get(sk, bad); !errors.Is(err, errTest) {
			t.Fatalf("err = %v, want errTest", err)
		}
	}
	if calls.Load() != 4 || c.Len() != 2 {
		t.Fatalf("errors must not be cached: %d derivations, %d entries", calls.Load(), c.Len())
	}
	if _, err := c.Get(nil, peer(1)); !errors.Is(err, nostr.ErrInvalidSecretKey) {
		t.Fatalf("nil key: %v", err)
	}
}

func TestBounded(t *testing.T) {
	sk := nostr.GenerateSecretKey()
	for _, max := range []int{-1, 0, 1, 7, 255, 256, 1000, 5000} {
		var calls atomic.Int64
		c := New(max, fakeDerive(&calls))
		for i := range 3 * max {
			if _, err := c.Get(sk, peer(i)); err != nil {
				t.Fatal(err)
			}
		}
		want := max
		if want < 1 {
			want = 1
		}
		if got := c.Len(); got > want || (max > 0 && got < want/2) {
			t.Errorf("max %d: %d entries", max, got)
		}
	}
}

func TestConcurrent(t *testing.T) {
	var calls atomic.Int64
	c := New(300, fakeDerive(&calls))
	keys := []*nostr.SecretKey{nostr.GenerateSecretKey(), nostr.GenerateSecretKey()}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				sk := keys[(g+i)%2]
				p := peer(i % 500)
				v, err := c.Get(sk, p)
				own := sk.Public()
				if err != nil || v[1] != own[1]^p[1] {
					t.Errorf("Get: %x, %v", v, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := c.Len(); n > 300 {
		t.Errorf("%d entries, max 300", n)
	}
}

// BenchmarkMemoryPerEntry fills a cache sized for 100,000 peers and reports heap bytes
// per entry.
func BenchmarkMemoryPerEntry(b *testing.B) {
	const n = 100_000
	sk := nostr.GenerateSecretKey()
	derive := func(*nostr.SecretKey, nostr.PublicKey) ([32]byte, error) { return [32]byte{1}, nil }
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		c := New(n, derive)
		for i := range n {
			c.Get(sk, peer(i))
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/entry")
		runtime.KeepAlive(c)
	}
}

func BenchmarkGetHit(b *testing.B) {
	c := New(100_000, func(*nostr.SecretKey, nostr.PublicKey) ([32]byte, error) { return [32]byte{1}, nil })
	sk := nostr.GenerateSecretKey()
	for i := range 1000 {
		c.Get(sk, peer(i))
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			c.Get(sk, peer(i%1000))
			i++
		}
	})
}
