// Package relay is an embeddable Nostr relay: an http.Handler that speaks NIP-01 over
// WebSocket, answers NIP-11 on plain HTTP, honours NIP-40 expiration, applies NIP-09
// deletions and can require NIP-42 AUTH from an allow-list of keys.
//
// It is built for Nostr Wallet Connect: ephemeral request/response events (23194-23197) are
// fanned out to live subscribers without being stored, and live subscriptions are indexed
// by ids, tag values (#e, #p, ...) and authors so a publish costs O(matching subscriptions).
// Replaceable, addressable and regular events are kept in memory and, with a DataDir, in an
// append-only log so that an info event (13194) survives a restart.
package relay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nwc-go/nwc/nostr"
)

// Errors.
var (
	ErrClosed        = errors.New("relay: closed")
	ErrInvalidConfig = errors.New("relay: invalid config")
)

// Defaults for Config fields left zero.
const (
	DefaultMaxMessageBytes = 256 << 10
	MinMaxMessageBytes     = 128 << 10
	DefaultMaxSubsPerConn  = 100
	DefaultMaxFilters      = 20
	DefaultEventsPerSecond = 100
	DefaultMaxLimit        = 500
	DefaultMaxStoredEvents = 100_000
	// DefaultMaxFuture is how far ahead of the relay's clock a stored event's created_at
	// may be (common relays use the same 15 minutes).
	DefaultMaxFuture = 15 * time.Minute
)

// Config configures a Relay. The zero value is a usable open, memory-only relay.
type Config struct {
	DataDir         string            // where stored events persist ("" = memory only)
	AuthAllow       []nostr.PublicKey // non-nil ⇒ NIP-42 AUTH required; only these keys may read or write
	MaxMessageBytes int               // largest client message, default 256 KiB (at least 128 KiB)
	MaxSubsPerConn  int               // default 100
	MaxFilters      int               // per REQ, default 20
	EventsPerSecond float64           // per connection, default 100 (burst 2x); 0 = default, <0 = unlimited
	MaxLimit        int               // cap for a filter's limit on stored queries, default 500
	MaxStoredEvents int               // cap for regular events, and separately for replaceable ones; default 100,000; oldest dropped first
	// MaxReplaceableEvents, if set, is the cap for replaceable and addressable events
	// instead (a wallet's embedded relay keeps one info event per connection).
	MaxReplaceableEvents int
	// MaxFuture refuses stored events dated further ahead (default DefaultMaxFuture;
	// negative = no limit): a replaceable event dated next year would hold its slot against
	// every honest update until then. Ephemeral events are not checked (they are not kept,
	// and a wallet's or app's skewed clock must not break NIP-47).
	MaxFuture   time.Duration
	Name        string       // NIP-11
	Description string       // NIP-11
	Logger      *slog.Logger // nil = discard
}

func (c *Config) withDefaults() (Config, error) {
	out := *c
	if out.MaxMessageBytes == 0 {
		out.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if out.MaxMessageBytes < MinMaxMessageBytes {
		return out, fmt.Errorf("%w: MaxMessageBytes %d is below %d", ErrInvalidConfig, out.MaxMessageBytes, MinMaxMessageBytes)
	}
	if out.MaxSubsPerConn == 0 {
		out.MaxSubsPerConn = DefaultMaxSubsPerConn
	}
	if out.MaxFilters == 0 {
		out.MaxFilters = DefaultMaxFilters
	}
	if out.EventsPerSecond == 0 {
		out.EventsPerSecond = DefaultEventsPerSecond
	}
	if out.MaxLimit == 0 {
		out.MaxLimit = DefaultMaxLimit
	}
	if out.MaxStoredEvents == 0 {
		out.MaxStoredEvents = DefaultMaxStoredEvents
	}
	if out.MaxFuture == 0 {
		out.MaxFuture = DefaultMaxFuture
	}
	if out.MaxReplaceableEvents == 0 {
		out.MaxReplaceableEvents = out.MaxStoredEvents
	}
	if out.MaxSubsPerConn < 0 || out.MaxFilters < 0 || out.MaxLimit < 0 || out.MaxStoredEvents < 0 || out.MaxReplaceableEvents < 0 {
		return out, fmt.Errorf("%w: limits must not be negative", ErrInvalidConfig)
	}
	if out.Name == "" {
		out.Name = "nwc relay"
	}
	if out.Logger == nil {
		out.Logger = slog.New(slog.DiscardHandler)
	}
	return out, nil
}

// Stats are counters since New plus current gauges.
type Stats struct {
	Connections     int    // open WebSocket connections
	Subscriptions   int    // live REQ subscriptions
	StoredEvents    int    // events currently stored
	EventsReceived  uint64 // EVENT messages that parsed
	EventsStored    uint64 // events accepted into the store (new, not duplicates)
	EventsFannedOut uint64 // EVENT messages queued to live subscribers
	SlowDropped     uint64 // connections dropped because they did not read fast enough
}

// Relay is a Nostr relay. Create it with New, serve it with ServeHTTP (or ListenAndServe),
// and Close it when done.
type Relay struct {
	cfg          Config
	log          *slog.Logger
	store        *store
	disk         *persister // nil when memory only
	subs         *subIndex
	authRequired bool
	info         []byte // NIP-11 document

	allowMu sync.Mutex
	allow   atomic.Pointer[map[nostr.PublicKey]struct{}]

	mu     sync.Mutex
	closed bool
	conns  map[*conn]struct{}
	wg     sync.WaitGroup // connection goroutines
	quit   chan struct{}  // closed by Close: background goroutines stop
	bgDone chan struct{}

	received, stored, fannedOut, slowDropped atomic.Uint64
}

// sweepInterval is how often expired events are dropped from the store.
const sweepInterval = 30 * time.Second

// New creates a relay. With a DataDir it loads the stored events from disk first.
func New(cfg Config) (*Relay, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	r := &Relay{
		cfg:          c,
		log:          c.Logger,
		store:        newStore(c.MaxStoredEvents, c.MaxReplaceableEvents),
		subs:         newSubIndex(),
		authRequired: c.AuthAllow != nil,
		conns:        make(map[*conn]struct{}),
		quit:         make(chan struct{}),
		bgDone:       make(chan struct{}),
	}
	allow := make(map[nostr.PublicKey]struct{}, len(c.AuthAllow))
	for _, pk := range c.AuthAllow {
		allow[pk] = struct{}{}
	}
	r.allow.Store(&allow)
	if r.info, err = r.nip11(); err != nil {
		return nil, err
	}
	if c.DataDir != "" {
		if r.disk, err = openPersister(c.DataDir, r.store, time.Now().Unix(), r.log); err != nil {
			return nil, err
		}
	}
	go r.sweepLoop()
	return r, nil
}

func (r *Relay) sweepLoop() {
	defer close(r.bgDone)
	t := time.NewTicker(sweepInterval)
	defer t.Stop()
	for {
		select {
		case <-r.quit:
			return
		case now := <-t.C:
			if n := r.store.sweep(now.Unix()); n > 0 {
				r.log.Debug("relay: dropped expired events", "count", n)
			}
		}
	}
}

// Close closes every connection (with a going-away close frame), waits for their
// goroutines, flushes and closes the store. ServeHTTP refuses requests afterwards.
func (r *Relay) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	conns := make([]*conn, 0, len(r.conns))
	for c := range r.conns {
		conns = append(conns, c)
	}
	r.mu.Unlock()

	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.shutdown()
		}()
	}
	wg.Wait()
	r.wg.Wait()
	close(r.quit)
	<-r.bgDone
	if r.disk != nil {
		return r.disk.close()
	}
	return nil
}

// Stats returns current counters.
func (r *Relay) Stats() Stats {
	r.mu.Lock()
	nconn := len(r.conns)
	r.mu.Unlock()
	return Stats{
		Connections:     nconn,
		Subscriptions:   r.subs.len(),
		StoredEvents:    r.store.len(),
		EventsReceived:  r.received.Load(),
		EventsStored:    r.stored.Load(),
		EventsFannedOut: r.fannedOut.Load(),
		SlowDropped:     r.slowDropped.Load(),
	}
}

// Allow adds pk to the AUTH allow-list. It has no effect on a relay created without
// AuthAllow (such a relay is open).
func (r *Relay) Allow(pk nostr.PublicKey) {
	r.editAllow(func(m map[nostr.PublicKey]struct{}) { m[pk] = struct{}{} })
}

// Disallow removes pk from the AUTH allow-list. Connections authenticated only as pk stop
// receiving events at once and may no longer publish or subscribe.
func (r *Relay) Disallow(pk nostr.PublicKey) {
	r.editAllow(func(m map[nostr.PublicKey]struct{}) { delete(m, pk) })
}

// editAllow copies the list so readers on the hot path never take a lock.
func (r *Relay) editAllow(edit func(map[nostr.PublicKey]struct{})) {
	r.allowMu.Lock()
	defer r.allowMu.Unlock()
	m := maps.Clone(*r.allow.Load())
	edit(m)
	r.allow.Store(&m)
}

func (r *Relay) allowed(pk nostr.PublicKey) bool {
	_, ok := (*r.allow.Load())[pk]
	return ok
}

// ServeHTTP upgrades WebSocket requests to a relay connection and answers NIP-11 requests
// (Accept: application/nostr+json) with the relay information document.
func (r *Relay) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		http.Error(w, "relay closed", http.StatusServiceUnavailable)
		return
	}
	if strings.EqualFold(req.Header.Get("Upgrade"), "websocket") {
		r.serveWebSocket(w, req)
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Headers", "Accept")
	h.Set("Access-Control-Allow-Methods", "GET, OPTIONS")
	switch req.Method {
	case http.MethodOptions:
		w.WriteHeader(http.StatusNoContent)
	case http.MethodGet, http.MethodHead:
		if strings.Contains(req.Header.Get("Accept"), "application/nostr+json") {
			h.Set("Content-Type", "application/nostr+json")
			w.Write(r.info)
			return
		}
		h.Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "This is a Nostr relay: connect with a WebSocket client, or ask for NIP-11 with Accept: application/nostr+json.")
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

type nip11Limitation struct {
	MaxMessageLength int  `json:"max_message_length"`
	MaxSubscriptions int  `json:"max_subscriptions"`
	MaxFilters       int  `json:"max_filters"`
	MaxLimit         int  `json:"max_limit"`
	MaxSubIDLength   int  `json:"max_subid_length"`
	AuthRequired     bool `json:"auth_required"`
	PaymentRequired  bool `json:"payment_required"`
	RestrictedWrites bool `json:"restricted_writes"`
}

type nip11Doc struct {
	Name          string          `json:"name"`
	Description   string          `json:"description,omitempty"`
	SupportedNIPs []int           `json:"supported_nips"`
	Software      string          `json:"software"`
	Limitation    nip11Limitation `json:"limitation"`
}

func (r *Relay) nip11() ([]byte, error) {
	nips := []int{1, 9, 11, 40}
	if r.authRequired {
		nips = append(nips, 42)
	}
	return json.Marshal(nip11Doc{
		Name:          r.cfg.Name,
		Description:   r.cfg.Description,
		SupportedNIPs: nips,
		Software:      "https://github.com/nwc-go/nwc",
		Limitation: nip11Limitation{
			MaxMessageLength: r.cfg.MaxMessageBytes,
			MaxSubscriptions: r.cfg.MaxSubsPerConn,
			MaxFilters:       r.cfg.MaxFilters,
			MaxLimit:         r.cfg.MaxLimit,
			MaxSubIDLength:   maxSubIDLen,
			AuthRequired:     r.authRequired,
			RestrictedWrites: r.authRequired,
		},
	})
}

// ListenAndServe serves r over HTTP on addr (host:port; port 0 picks a free one) and
// returns the relay's ws:// URL. The server stops when ctx ends or stop is called; stop
// waits for it. Stopping the server does not close r or its WebSocket connections: call
// r.Close for that.
func ListenAndServe(ctx context.Context, addr string, r *Relay) (url string, stop func(), err error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("relay: listen: %w", err)
	}
	srv := &http.Server{
		Handler:           r,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(r.log.Handler(), slog.LevelDebug),
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			r.log.Error("relay: http server stopped", "err", err)
		}
	}()
	watched := make(chan struct{})
	stopping := make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case <-ctx.Done():
		case <-stopping:
		}
		srv.Close()
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() { close(stopping) })
		<-watched
		<-served
	}
	return "ws://" + ln.Addr().String(), stop, nil
}
