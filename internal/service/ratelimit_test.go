package service

import (
	"testing"
	"time"
)

func TestRateLimiter(t *testing.T) {
	rl := newRateLimiter(2, 3) // 2/s, burst 3
	now := time.Unix(1000, 0)
	for i := 0; i < 3; i++ {
		if !rl.allow(1, now) {
			t.Fatalf("request %d within the burst refused", i)
		}
	}
	if rl.allow(1, now) {
		t.Fatal("fourth request in the same instant allowed")
	}
	if !rl.allow(2, now) {
		t.Fatal("another connection was limited by the first one")
	}
	if !rl.allow(1, now.Add(500*time.Millisecond)) {
		t.Fatal("token not refilled after 0.5 s at 2/s")
	}
	if rl.allow(1, now.Add(500*time.Millisecond)) {
		t.Fatal("refill gave more than one token")
	}
	rl.allow(3, now)
	rl.allow(9, now.Add(2*time.Minute)) // triggers a sweep
	if _, ok := rl.buckets[3]; ok {
		t.Fatal("idle bucket not swept")
	}
	var off *rateLimiter
	if !off.allow(1, now) || !newRateLimiter(0, 0).allow(1, now) {
		t.Fatal("a disabled limiter refused")
	}
}
