package nwa

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/nwc-go/nwc/internal/wallet"
	"github.com/nwc-go/nwc/nostr"
	"github.com/nwc-go/nwc/nostr/relaypool"
)

// ErrNotPublished: none of the app's relays took the info event.
var ErrNotPublished = errors.New("nwa: no relay of the app accepted the info event")

// Approval is the outcome of an approved request.
type Approval struct {
	Connection *wallet.Connection
	// Relays are the app's relays: the info event went there and the service listens there.
	Relays []string
	// Results is the info event's publication on each of the app's relays.
	Results []relaypool.RelayResult
	// ReturnURL is where to send the user's browser next ("" when the app gave no http(s)
	// return_to).
	ReturnURL string
	// Offline: no service was running; the app's requests are answered once one runs.
	Offline bool
}

// Published reports whether at least one of the app's relays accepted the info event.
func (a *Approval) Published() bool {
	for _, r := range a.Results {
		if r.Status == relaypool.StatusAccepted {
			return true
		}
	}
	return false
}

// OnRelays keeps the results of the given relays, in their order.
func OnRelays(results []relaypool.RelayResult, relays []string) []relaypool.RelayResult {
	var out []relaypool.RelayResult
	for _, want := range relays {
		w, _ := relaypool.NormalizeURL(want)
		for _, r := range results {
			if got, _ := relaypool.NormalizeURL(r.URL); got == w {
				out = append(out, r)
			}
		}
	}
	return out
}

// Publish sends ev to relays with a pool of its own and waits for every relay's answer
// (bounded by the pool's publish timeout and ctx). ErrNotPublished if none accepted it.
func Publish(ctx context.Context, relays []string, ev *nostr.Event, logger *slog.Logger) ([]relaypool.RelayResult, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	pool := relaypool.New(relaypool.Options{Logger: logger})
	defer pool.Close()
	for _, r := range relays {
		if err := pool.AddRelay(r); err != nil {
			return nil, fmt.Errorf("relay %q: %w", r, err)
		}
	}
	res, err := pool.Publish(ctx, ev)
	if res == nil {
		return nil, err
	}
	results, _ := res.Wait(ctx)
	if !res.Accepted() {
		return results, fmt.Errorf("%w: %v", ErrNotPublished, err)
	}
	return results, nil
}

// Pool is the part of a relay pool that RelaySync drives (*relaypool.Pool).
type Pool interface {
	AddRelay(rawURL string) error
	Relays() []relaypool.RelayStatus
}

// RelaySync adds the relays of NWA connections to the service's pool, so the service hears
// apps on the relays they chose. Relays are only added while running; a restart drops
// those of revoked connections.
type RelaySync struct {
	st    Store
	pool  Pool
	known map[int64]bool // connections already looked at (their relays never change)
	// next is the store's NextKeyIndex at the last full look: key indexes only grow, one
	// per new connection, so while it stands still there is nothing new and Sync skips the
	// full connection list (100,000 rows every second otherwise).
	next uint32
}

// NewRelaySync returns a RelaySync for st's connections and pool.
func NewRelaySync(st Store, pool Pool) *RelaySync {
	return &RelaySync{st: st, pool: pool, known: make(map[int64]bool)}
}

// Sync adds to the pool the relays of live connections it has not seen yet. It returns the
// relays it added. Not safe for concurrent use.
func (s *RelaySync) Sync(ctx context.Context) ([]string, error) {
	next, err := s.st.NextKeyIndex(ctx)
	if err != nil {
		return nil, err
	}
	if next == s.next {
		return nil, nil
	}
	conns, err := s.st.ListConnections(ctx)
	if err != nil {
		return nil, err
	}
	var have []string
	for _, r := range s.pool.Relays() {
		have = append(have, r.URL)
	}
	var added []string
	for i := range conns {
		c := &conns[i]
		if c.Revoked() || s.known[c.ID] {
			continue
		}
		relays, err := RelaysOf(ctx, s.st, c)
		if err != nil {
			return added, err
		}
		for _, r := range relays {
			n, err := relaypool.NormalizeURL(r)
			if err != nil || slices.Contains(have, n) {
				continue
			}
			if err := s.pool.AddRelay(n); err != nil {
				return added, err
			}
			have = append(have, n)
			added = append(added, n)
		}
		s.known[c.ID] = true
	}
	s.next = next
	return added, nil
}
