// Package relaypool is the client side of Nostr relays: it keeps one WebSocket per relay,
// multiplexes subscriptions over it, publishes events and waits for OK, reconnects with
// jittered exponential backoff and resubscribes, and answers NIP-42 AUTH challenges.
//
// Delivery policy: every Subscription has a bounded Events channel. When it is full the
// event is dropped and counted (Subscription.Dropped) so that a subscriber that stops reading
// never blocks the relays or other subscriptions. Each connection has a bounded send queue;
// a relay that does not take its messages within WriteTimeout, or lets the queue grow past
// MaxQueueBytes, is disconnected and reconnected later, so a slow relay never delays others.
//
// Trust policy: events are parsed strictly, checked against the subscription's own filters
// (relays are not trusted to filter), de-duplicated by id across relays (the last 4096 ids
// per subscription) and verified (id and BIP-340 signature, once per distinct event) before
// delivery; invalid ones are dropped and counted (Stats). NIP-40 expiration is left to the
// caller: the pool delivers what matches.
//
// NIP-42: when a relay refuses a REQ or EVENT with "auth-required:", the pool authenticates
// on that connection with the call's key (WithAuthKey) or Options.AuthKeys, then resends it
// once. Several keys can be authenticated on one connection.
package relaypool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/nwc-go/nwc/nostr"
)

// Errors.
var (
	ErrClosed      = errors.New("relaypool: pool closed")
	ErrInvalidURL  = errors.New("relaypool: invalid relay url")
	ErrNoRelays    = errors.New("relaypool: no relays")
	ErrNotAccepted = errors.New("relaypool: no relay accepted the event")
	ErrNoFilters   = errors.New("relaypool: no filters")
	ErrNoAnswer    = errors.New("relaypool: no relay answered the query")
	ErrSlowRelay   = errors.New("relaypool: relay does not keep up with its send queue")
)

// Options configure a Pool. Zero values take the documented defaults.
type Options struct {
	// Logger receives connection events at Debug/Info and misbehaving relays at Warn. Default: discard.
	Logger *slog.Logger
	// AuthKeys returns the keys to NIP-42 authenticate with on relayURL. They are used as soon
	// as the relay sends a challenge, and again when it refuses a REQ or EVENT with
	// "auth-required:" and the call has no key of its own (WithAuthKey). May be nil. It is
	// called with the pool's lock held: it must be quick and must not call the pool.
	AuthKeys func(relayURL string) []*nostr.SecretKey
	// MinBackoff and MaxBackoff bound the wait before reconnecting: a random duration in
	// [MinBackoff, min(MaxBackoff, MinBackoff*2^(failures-1))]. Defaults 100ms and 30s.
	MinBackoff, MaxBackoff time.Duration
	// ConnectTimeout bounds the TCP+WebSocket handshake. Default 10s.
	ConnectTimeout time.Duration
	// WriteTimeout bounds writing what is queued for a relay at one time (one message, or
	// the batch that piled up meanwhile); a relay that does not take it in time is
	// disconnected. Default 10s.
	WriteTimeout time.Duration
	// PublishTimeout is how long a Publish waits for each relay's OK (including waiting for
	// a relay that is reconnecting). Default 10s.
	PublishTimeout time.Duration
	// EOSETimeout closes a subscription's EOSE channel even if some relay never sends EOSE. Default 10s.
	EOSETimeout time.Duration
	// PingInterval sends a WebSocket ping this often to detect dead connections; the pong
	// must come back within WriteTimeout. Default 30s; negative disables.
	PingInterval time.Duration
	// MaxMessageBytes is the largest message accepted from a relay. Default 1 MiB.
	MaxMessageBytes int64
	// MaxQueueBytes bounds each connection's unsent messages. Default 4 MiB.
	MaxQueueBytes int
}

const (
	defaultMinBackoff      = 100 * time.Millisecond
	defaultMaxBackoff      = 30 * time.Second
	defaultTimeout         = 10 * time.Second
	defaultPingInterval    = 30 * time.Second
	defaultMaxMessageBytes = 1 << 20
	defaultMaxQueueBytes   = 4 << 20
	// stableAfter is how long a connection must last before the backoff starts over.
	stableAfter = 10 * time.Second
)

func (o *Options) setDefaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = defaultMinBackoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = defaultMaxBackoff
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = o.MinBackoff
	}
	for _, d := range []*time.Duration{&o.ConnectTimeout, &o.WriteTimeout, &o.PublishTimeout, &o.EOSETimeout} {
		if *d <= 0 {
			*d = defaultTimeout
		}
	}
	if o.PingInterval == 0 {
		o.PingInterval = defaultPingInterval
	}
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = defaultMaxMessageBytes
	}
	if o.MaxQueueBytes <= 0 {
		o.MaxQueueBytes = defaultMaxQueueBytes
	}
}

// Pool is a set of relays used together. It is safe for concurrent use.
type Pool struct {
	opts   Options
	log    *slog.Logger
	ctx    context.Context // cancelled by Close; parent of every relay's loop
	cancel context.CancelFunc
	wg     sync.WaitGroup
	stats  counters

	mu      sync.Mutex // guards everything below and the state of relays, conns, subs and publishes
	closed  bool
	relays  map[string]*relay
	order   []string // relay URLs in the order they were added
	subs    map[string]*Subscription
	nextSub uint64
	pubs    map[*PublishResult]struct{}
}

// New returns an empty pool; add relays with AddRelay.
func New(opts Options) *Pool {
	opts.setDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	return &Pool{
		opts:   opts,
		log:    opts.Logger,
		ctx:    ctx,
		cancel: cancel,
		relays: make(map[string]*relay),
		subs:   make(map[string]*Subscription),
		pubs:   make(map[*PublishResult]struct{}),
	}
}

// NormalizeURL returns the form of a relay URL that the pool uses as its key: scheme and
// host lower-cased, a lone trailing "/" removed. Only ws and wss are accepted.
func NormalizeURL(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidURL, err)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme != "ws" && u.Scheme != "wss" {
		return "", fmt.Errorf("%w: scheme must be ws or wss", ErrInvalidURL)
	}
	if u.Host == "" || u.User != nil {
		return "", fmt.Errorf("%w: missing host", ErrInvalidURL)
	}
	u.Host = strings.ToLower(u.Host)
	if u.Path == "/" {
		u.Path = ""
	}
	u.Fragment = ""
	return u.String(), nil
}

// AddRelay starts connecting to url in the background; the pool keeps reconnecting until
// RemoveRelay or Close. Every live subscription is sent to it once connected. Adding a relay
// twice is a no-op.
func (p *Pool) AddRelay(rawURL string) error {
	u, err := NormalizeURL(rawURL)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	if _, ok := p.relays[u]; ok {
		return nil
	}
	ctx, cancel := context.WithCancel(p.ctx)
	r := &relay{url: u, cancel: cancel, done: make(chan struct{}), connecting: true, pubs: make(map[nostr.EventID][]*pubTarget)}
	p.relays[u] = r
	p.order = append(p.order, u)
	p.wg.Add(1)
	go p.runRelay(ctx, r)
	return nil
}

// RemoveRelay disconnects from url and forgets it. Pending publishes to it end as
// StatusFailed. It returns once the relay's goroutines have stopped.
func (p *Pool) RemoveRelay(rawURL string) {
	u, err := NormalizeURL(rawURL)
	if err != nil {
		return
	}
	p.mu.Lock()
	r := p.relays[u]
	if r == nil {
		p.mu.Unlock()
		return
	}
	delete(p.relays, u)
	r.removed = true
	for i, o := range p.order {
		if o == u {
			p.order = append(p.order[:i:i], p.order[i+1:]...)
			break
		}
	}
	for _, ts := range r.pubs {
		for _, t := range ts {
			t.res.finish(r.url, StatusFailed, "relay removed")
		}
	}
	r.pubs = nil
	for _, s := range p.subs {
		delete(s.relays, r)
		p.checkEOSE(s)
	}
	p.mu.Unlock()
	r.cancel()
	<-r.done
}

// RelayStatus describes one relay of the pool.
type RelayStatus struct {
	URL         string
	Connected   bool
	LastError   error // the error that ended the last connection or connection attempt
	Attempts    int   // connection attempts so far
	Connections int   // successful connections so far (reconnects = Connections-1)
	Since       time.Time
}

// Relays returns the status of every relay, in the order they were added.
func (p *Pool) Relays() []RelayStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]RelayStatus, 0, len(p.order))
	for _, u := range p.order {
		r := p.relays[u]
		out = append(out, RelayStatus{
			URL: r.url, Connected: r.conn != nil, LastError: r.lastErr,
			Attempts: r.attempts, Connections: r.connections, Since: r.since,
		})
	}
	return out
}

// Close disconnects every relay, ends every subscription (their Events channels are closed)
// and every pending publish, and waits for all goroutines of the pool to stop.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	subs := make([]*Subscription, 0, len(p.subs))
	for _, s := range p.subs {
		subs = append(subs, s)
	}
	for res := range p.pubs {
		for _, u := range res.urls {
			res.finish(u, StatusFailed, "pool closed")
		}
	}
	p.mu.Unlock()
	for _, s := range subs {
		s.Close()
	}
	p.cancel()
	p.wg.Wait()
	return nil
}
