package relaypool

import "sync/atomic"

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
