package service

import (
	"sync"
	"time"
)

// rateLimiter is a token bucket per connection: rate tokens per second, burst at most.
// Buckets of connections idle for a while are forgotten, so memory stays bounded by the
// number of recently active connections rather than by all connections.
type rateLimiter struct {
	rate  float64
	burst float64

	mu      sync.Mutex
	buckets map[int64]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter(perSecond float64, burst int) *rateLimiter {
	return &rateLimiter{rate: perSecond, burst: float64(burst), buckets: make(map[int64]*bucket)}
}

// allow takes one token for conn at time now; false means the request must be refused.
func (r *rateLimiter) allow(conn int64, now time.Time) bool {
	if r == nil || r.rate <= 0 {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if now.Sub(r.swept) > time.Minute {
		r.sweep(now)
	}
	b := r.buckets[conn]
	if b == nil {
		b = &bucket{tokens: r.burst, last: now}
		r.buckets[conn] = b
	}
	b.tokens += now.Sub(b.last).Seconds() * r.rate
	if b.tokens > r.burst {
		b.tokens = r.burst
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// sweep drops buckets that have refilled completely; they carry no state worth keeping.
func (r *rateLimiter) sweep(now time.Time) {
	r.swept = now
	full := time.Duration(r.burst / r.rate * float64(time.Second))
	for id, b := range r.buckets {
		if now.Sub(b.last) > full {
			delete(r.buckets, id)
		}
	}
}
