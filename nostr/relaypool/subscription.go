package relaypool

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/nwc-go/nwc/nostr"
)

// SubOption configures one Subscribe, QuerySync or Publish call. Options that make no
// sense for a call are ignored.
type SubOption func(*callConfig)

type callConfig struct {
	authKey      *nostr.SecretKey
	sinceOnResub bool
	sinceMargin  time.Duration
	buffer       int
	eoseTimeout  time.Duration
}

// WithAuthKey sets the key to NIP-42 authenticate with when a relay refuses this
// subscription or publish with "auth-required:" (instead of Options.AuthKeys).
func WithAuthKey(sk *nostr.SecretKey) SubOption {
	return func(c *callConfig) { c.authKey = sk }
}

// WithSinceOnResubscribe makes a resubscription to a relay (after a reconnect) ask only for
// events from margin before the newest event already received from that relay. Useful for
// stored kinds; ephemeral kinds are not replayed by relays anyway.
func WithSinceOnResubscribe(margin time.Duration) SubOption {
	return func(c *callConfig) { c.sinceOnResub, c.sinceMargin = true, margin }
}

// WithBufferSize sets the capacity of the Events channel (default 1024). For QuerySync it is
// the most events collected (default 50000).
func WithBufferSize(n int) SubOption {
	return func(c *callConfig) { c.buffer = n }
}

// WithEOSETimeout overrides Options.EOSETimeout for one call.
func WithEOSETimeout(d time.Duration) SubOption {
	return func(c *callConfig) { c.eoseTimeout = d }
}

const (
	defaultSubBuffer = 1024
	maxQueryEvents   = 50000
	dedupeSize       = 4096 // ids remembered per subscription
	subIDPrefix      = "nwc:"
)

// Subscription is a REQ kept alive on every relay of the pool, including relays added or
// reconnected later.
type Subscription struct {
	p       *Pool
	id      string
	filters []nostr.Filter
	cfg     callConfig
	events  chan *nostr.Event
	eose    chan struct{}
	timer   *time.Timer
	once    sync.Once

	// Guarded by Pool.mu.
	relays   map[*relay]*subRelay
	eoseDone bool

	mu       sync.Mutex
	closed   bool
	stop     func() bool
	seen     idRing
	lastSeen map[string]int64 // newest created_at delivered, per relay URL
	dropped  uint64
	collect  func(*nostr.Event) bool // set by QuerySync instead of the channel
}

// subRelay is a subscription's state on one relay. Guarded by Pool.mu.
type subRelay struct {
	conn         *conn // the connection the REQ is live on, nil if none
	sentBefore   bool  // a REQ went to this relay before: the next one is a resubscription
	eose         bool
	authTried    bool // on conn: one AUTH-and-retry per connection
	closed       bool // the relay sent CLOSED on conn
	closedReason string
}

// Subscribe sends a REQ with filters to every relay and keeps it alive until ctx is done or
// Close is called.
func (p *Pool) Subscribe(ctx context.Context, filters []nostr.Filter, opts ...SubOption) (*Subscription, error) {
	return p.subscribe(ctx, filters, opts, nil)
}

func (p *Pool) callConfig(opts []SubOption) callConfig {
	cfg := callConfig{eoseTimeout: p.opts.EOSETimeout}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.eoseTimeout <= 0 {
		cfg.eoseTimeout = p.opts.EOSETimeout
	}
	return cfg
}

func (p *Pool) subscribe(ctx context.Context, filters []nostr.Filter, opts []SubOption, collect func(*nostr.Event) bool) (*Subscription, error) {
	if len(filters) == 0 {
		return nil, ErrNoFilters
	}
	cfg := p.callConfig(opts)
	s := &Subscription{
		p: p, filters: slices.Clone(filters), cfg: cfg,
		eose: make(chan struct{}), relays: make(map[*relay]*subRelay),
		seen: newIDRing(dedupeSize), lastSeen: make(map[string]int64),
	}
	if collect != nil {
		s.collect = collect
		s.events = make(chan *nostr.Event)
	} else {
		n := cfg.buffer
		if n <= 0 {
			n = defaultSubBuffer
		}
		s.events = make(chan *nostr.Event, n)
	}

	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	p.nextSub++
	s.id = subIDPrefix + strconv.FormatUint(p.nextSub, 36)
	p.subs[s.id] = s
	for _, r := range p.relays {
		if r.conn != nil {
			p.sendREQ(s, r, r.conn, false)
		}
	}
	s.timer = time.AfterFunc(cfg.eoseTimeout, func() {
		p.mu.Lock()
		p.closeEOSE(s)
		p.mu.Unlock()
	})
	p.checkEOSE(s)
	p.mu.Unlock()

	stop := context.AfterFunc(ctx, s.Close)
	s.mu.Lock()
	s.stop = stop
	s.mu.Unlock()
	return s, nil
}

// ID is the subscription id sent to relays.
func (s *Subscription) ID() string { return s.id }

// Filters returns the subscription's filters.
func (s *Subscription) Filters() []nostr.Filter { return slices.Clone(s.filters) }

// Events delivers verified events that match the filters, each id once. It is closed when
// the subscription ends. If the channel is full an event is dropped and counted (Dropped).
func (s *Subscription) Events() <-chan *nostr.Event { return s.events }

// EOSE is closed once every relay that is connected (or connecting) has sent EOSE or
// CLOSED, after the EOSE timeout, or when the subscription ends.
func (s *Subscription) EOSE() <-chan struct{} { return s.eose }

// Dropped is the number of events dropped because the Events channel was full.
func (s *Subscription) Dropped() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

// RelayErrors returns, per relay URL, the reason of the last CLOSED it sent for this
// subscription (e.g. "restricted: ..."), for relays that refused or ended it.
func (s *Subscription) RelayErrors() map[string]string {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	out := make(map[string]string)
	for r, sr := range s.relays {
		if sr.closedReason != "" {
			out[r.url] = sr.closedReason
		}
	}
	return out
}

// Close ends the subscription: CLOSE goes to the relays, Events and EOSE are closed.
func (s *Subscription) Close() {
	s.once.Do(func() {
		p := s.p
		p.mu.Lock()
		if p.subs[s.id] == s {
			delete(p.subs, s.id)
		}
		for _, sr := range s.relays {
			if sr.conn != nil && !sr.closed {
				sr.conn.enqueueSub(closeMessage(s.id))
			}
		}
		s.timer.Stop()
		p.closeEOSE(s)
		p.mu.Unlock()

		s.mu.Lock()
		s.closed = true
		close(s.events)
		stop := s.stop
		s.mu.Unlock()
		if stop != nil {
			stop()
		}
	})
}

// sendREQ (re)sends s to r on c. retry keeps the per-connection AUTH state (a REQ resent
// after authenticating). Called with Pool.mu held.
func (p *Pool) sendREQ(s *Subscription, r *relay, c *conn, retry bool) {
	sr := s.relays[r]
	if sr == nil {
		sr = &subRelay{}
		s.relays[r] = sr
	}
	filters := s.filters
	if sr.sentBefore && s.cfg.sinceOnResub {
		s.mu.Lock()
		last := s.lastSeen[r.url]
		s.mu.Unlock()
		if last > 0 {
			since := last - int64(s.cfg.sinceMargin/time.Second)
			filters = slices.Clone(filters)
			for i := range filters {
				if filters[i].Since == nil || *filters[i].Since < since {
					filters[i].Since = &since
				}
			}
		}
	}
	msg, err := reqMessage(s.id, filters)
	if err != nil {
		p.log.Error("cannot encode REQ", "sub", s.id, "err", err)
		return
	}
	sr.conn, sr.sentBefore, sr.closed = c, true, false
	if !retry {
		sr.authTried = false
	}
	c.enqueueSub(msg)
}

// subOn returns the subscription id and its state on c's relay if the REQ is live on c.
// Called with Pool.mu held.
func (p *Pool) subOn(c *conn, id string) (*Subscription, *subRelay) {
	s := p.subs[id]
	if s == nil {
		return nil, nil
	}
	sr := s.relays[c.r]
	if sr == nil || sr.conn != c {
		return nil, nil
	}
	return s, sr
}

// checkEOSE closes s's EOSE channel when no active relay is still expected to send EOSE.
// Called with Pool.mu held.
func (p *Pool) checkEOSE(s *Subscription) {
	if s.eoseDone {
		return
	}
	for _, r := range p.relays {
		if !r.active() {
			continue
		}
		if sr := s.relays[r]; sr == nil || !sr.eose && !sr.closed {
			return
		}
	}
	p.closeEOSE(s)
}

func (p *Pool) closeEOSE(s *Subscription) {
	if !s.eoseDone {
		s.eoseDone = true
		close(s.eose)
	}
}

// handleEvent routes an EVENT message's event, decoded with the message (see
// parseRelayMessage), to its subscription.
func (p *Pool) handleEvent(c *conn, m *relayMessage) {
	p.mu.Lock()
	s, sr := p.subOn(c, m.SubID)
	live := sr != nil && !sr.closed
	p.mu.Unlock()
	if !live {
		return
	}
	if m.ParseErr != nil {
		p.stats.malformed.Add(1)
		p.log.Warn("relay sent a malformed event", "relay", c.r.url, "err", m.ParseErr)
		return
	}
	ev := m.Parsed
	if !s.matches(ev) {
		// Relays are not trusted to filter.
		p.stats.unmatched.Add(1)
		return
	}
	if s.hasSeen(ev.ID) {
		p.stats.duplicates.Add(1)
		return
	}
	if ev.Verify() != nil { // nostr remembers verified pairs: a copy from another relay is cheap
		p.stats.invalid.Add(1)
		p.log.Warn("relay sent an event with a bad id or signature", "relay", c.r.url, "id", ev.ID.String())
		return
	}
	s.deliver(c.r.url, ev)
}

func (s *Subscription) matches(ev *nostr.Event) bool {
	for i := range s.filters {
		if s.filters[i].Matches(ev) {
			return true
		}
	}
	return false
}

func (s *Subscription) hasSeen(id nostr.EventID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen.has(id)
}

func (s *Subscription) deliver(relayURL string, ev *nostr.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if s.seen.has(ev.ID) { // another relay's copy won the race
		s.p.stats.duplicates.Add(1)
		return
	}
	if s.collect != nil {
		if !s.collect(ev) {
			s.dropped++
			return
		}
	} else {
		select {
		case s.events <- ev:
		default:
			// Not marked seen: a copy from another relay may still get through.
			s.dropped++
			return
		}
	}
	s.seen.add(ev.ID)
	if ev.CreatedAt > s.lastSeen[relayURL] {
		s.lastSeen[relayURL] = ev.CreatedAt
	}
}

// QuerySync sends a REQ to every relay, collects the events until EOSE (see
// Subscription.EOSE) and closes the subscription. It fails with ErrNoAnswer if no relay
// answered with EOSE or CLOSED, and with ctx's error if ctx ends first (returning what it
// collected so far).
func (p *Pool) QuerySync(ctx context.Context, filters []nostr.Filter, opts ...SubOption) ([]*nostr.Event, error) {
	p.mu.Lock()
	n := len(p.relays)
	p.mu.Unlock()
	if n == 0 {
		return nil, ErrNoRelays
	}
	var got []*nostr.Event
	limit := p.callConfig(opts).buffer
	if limit <= 0 {
		limit = maxQueryEvents
	}
	// collect runs with s.mu held; got is read after Close, under s.mu too.
	s, err := p.subscribe(ctx, filters, opts, func(ev *nostr.Event) bool {
		if len(got) >= limit {
			return false
		}
		got = append(got, ev)
		return true
	})
	if err != nil {
		return nil, err
	}
	select {
	case <-s.eose:
	case <-ctx.Done():
	}
	ctxErr := ctx.Err() // also when ctx ending closed the subscription (and so EOSE)
	p.mu.Lock()
	answered := false
	for _, sr := range s.relays {
		answered = answered || sr.eose || sr.closed
	}
	p.mu.Unlock()
	s.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case ctxErr != nil:
		return got, ctxErr
	case !answered:
		return got, ErrNoAnswer
	}
	return got, nil
}

// idRing is a set of the last n ids.
type idRing struct {
	m    map[nostr.EventID]struct{}
	ring []nostr.EventID
	next int
	n    int
}

func newIDRing(n int) idRing { return idRing{m: make(map[nostr.EventID]struct{}), n: n} }

func (d *idRing) has(id nostr.EventID) bool { _, ok := d.m[id]; return ok }

func (d *idRing) add(id nostr.EventID) {
	if len(d.ring) < d.n {
		d.ring = append(d.ring, id)
	} else {
		delete(d.m, d.ring[d.next])
		d.ring[d.next] = id
		d.next = (d.next + 1) % d.n
	}
	d.m[id] = struct{}{}
}
