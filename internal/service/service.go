// Package service is the NIP-47 request pipeline: it receives request events from the
// relays, finds the connection, records the request exactly once, decrypts, authorizes,
// calls the Lightning backend and publishes the encrypted answer. It also publishes the
// per-connection info events, pushes notifications and reconciles in-flight payments on
// start (see ../shared/DESIGN.md, "A request, end to end").
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nwc-go/nwc/internal/keyring"
	"github.com/nwc-go/nwc/internal/lightning"
	"github.com/nwc-go/nwc/internal/wallet"
	"github.com/nwc-go/nwc/nip47"
	"github.com/nwc-go/nwc/nostr"
)

// Store is what the service needs from persistence (internal/store/sqlite implements it).
type Store interface {
	ConnectionByServiceKey(ctx context.Context, pk nostr.PublicKey) (*wallet.Connection, error)
	ConnectionByID(ctx context.Context, id int64) (*wallet.Connection, error)
	ListConnections(ctx context.Context) ([]wallet.Connection, error)
	ConnectionsVersion(ctx context.Context) (string, error)
	GetSetting(ctx context.Context, key string) (string, error)
	PutSetting(ctx context.Context, key, value string) error
	TouchConnection(ctx context.Context, id int64, at time.Time) error

	BeginRequest(ctx context.Context, eventID nostr.EventID, connID int64, method string, receivedAt time.Time) error
	FinishRequestLater(ctx context.Context, eventID nostr.EventID, outcome string, amount wallet.MSat, duration time.Duration, finishedAt time.Time) error
	PruneRequests(ctx context.Context, before time.Time, limit int) (int64, error)

	ReservePayment(ctx context.Context, r wallet.PaymentReservation) (*wallet.Transaction, error)
	SettlePayment(ctx context.Context, paymentHash, preimage string, fee wallet.MSat, settledAt time.Time) (*wallet.Transaction, error)
	FailPayment(ctx context.Context, paymentHash, reason string, at time.Time) (*wallet.Transaction, error)
	PendingPayments(ctx context.Context) ([]wallet.Transaction, error)

	InsertInvoice(ctx context.Context, t *wallet.Transaction) error
	SettleInvoice(ctx context.Context, paymentHash, preimage string, amountReceived wallet.MSat, settledAt time.Time) (*wallet.Transaction, error)
	MarkInvoiceAccepted(ctx context.Context, paymentHash string, settleDeadline uint32, at time.Time) (*wallet.Transaction, error)
	MarkInvoiceCanceled(ctx context.Context, paymentHash string, at time.Time) (*wallet.Transaction, error)

	Transaction(ctx context.Context, connID int64, typ wallet.TxType, paymentHash string) (*wallet.Transaction, error)
	ListTransactions(ctx context.Context, q wallet.TxQuery) ([]wallet.Transaction, int, error)
	BudgetUsed(ctx context.Context, connID int64, since time.Time) (wallet.MSat, error)
	IsolatedBalance(ctx context.Context, connID int64) (wallet.MSat, error)
}

// Relays is how the service reaches its relays (nostr/relaypool behind an adapter).
type Relays interface {
	// Publish sends ev to every relay and returns nil once one accepted it. It must give
	// up by itself after a while (the pool: PublishTimeout) even if ctx has no deadline.
	Publish(ctx context.Context, ev *nostr.Event) error
	// Subscribe delivers verified, de-duplicated events matching filters until stop or ctx.
	Subscribe(ctx context.Context, filters []nostr.Filter) (events <-chan *nostr.Event, stop func())
}

// Config wires a Service. Zero durations and sizes take the documented defaults.
type Config struct {
	Keys    *keyring.Keyring
	Store   Store
	Backend lightning.Backend
	Relays  Relays
	Logger  *slog.Logger
	Clock   func() time.Time // default time.Now
	// Location is where budget windows start (local midnight, Monday, 1st of month).
	Location *time.Location
	// MaxRequestAge drops spend and invoice requests whose created_at is older (default 6h, like Alby Hub).
	MaxRequestAge time.Duration
	// PaymentTimeout bounds how long a pay call waits for the backend (default 60s).
	PaymentTimeout time.Duration
	// CallTimeout bounds every other backend call (default 15s).
	CallTimeout time.Duration
	// MaxInFlight bounds concurrently handled requests (default 256).
	MaxInFlight int
	// SharedRequestLog records every request before it runs, read-only ones too, even on a
	// store that could be private to this process (SQLite): for tests and comparisons.
	SharedRequestLog bool
	// RatePerSecond and RateBurst limit each connection (default 20/s, burst 40; negative = off).
	RatePerSecond float64
	RateBurst     int
	// RefreshInterval is how often connection changes made by other processes (the CLI)
	// are picked up: new ones subscribed and announced, revoked ones deleted (default 1s).
	RefreshInterval time.Duration
	// FilterChunk is the number of service keys per #p filter (default 500).
	FilterChunk int
	// RequestLogRetention is how long request-log rows are kept (default 30 days; negative
	// = forever). At least a day, and longer than MaxRequestAge: the log is what stops a
	// replayed payment request until it is too old to run anyway.
	RequestLogRetention time.Duration
	// Metrics receives counts and latencies for monitoring (nil = none).
	Metrics Metrics
	// AnnounceKey names what, outside the connection and the backend, makes info events
	// differ (the relays they go to): when it changes, every info event is published again
	// at start. AnnounceAll publishes them all at start regardless (see announced.go).
	AnnounceKey string
	AnnounceAll bool
}

// Service is the wallet service. Create with New, start with Run.
type Service struct {
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	cipher  *nip47.Cipher
	limiter *rateLimiter
	sem     chan struct{}     // one slot per running worker
	serving atomic.Int64      // requests in HandleRequest now
	work    chan *nostr.Event // to an idle worker
	wg      sync.WaitGroup    // in-flight requests and notifications
	answers sync.WaitGroup    // answers handed to the relays whose outcome is not known yet

	refreshMu sync.Mutex // one refresh at a time (the refresh loop, Reload)

	mu    sync.RWMutex
	conns map[nostr.PublicKey]*live // active connections by service key
	// Announcement memory (announced.go), read by the first refresh: connections up to
	// skipUpTo were announced by an earlier run (first load only); unannounced wait for a
	// relay to accept their info event; maxSeenID is the highest id loaded; announcedHW
	// the last one saved.
	memoryLoaded           bool // under refreshMu
	fingerprint            string
	skipUpTo               int64
	unannounced            map[int64]struct{}
	maxSeenID, announcedHW int64
	announcing             sync.WaitGroup // announcement batches (tests wait on it)
	version                string         // the store's ConnectionsVersion that conns reflects

	// Reload hands its refresh to the Run loop, which owns the subscription: a refresh done
	// outside it would consume the change and the loop would never resubscribe.
	looping  atomic.Bool
	reloads  chan chan error
	loopDone chan struct{}

	// added and removed wait for announcePending, which runs once the subscription
	// follows the new set of keys.
	added, removed []pending
	// keysVersion counts changes of the set of service keys; Run resubscribes when it
	// differs from the version its subscription was made for.
	keysVersion atomic.Uint64

	// Read-only requests on a private store (private.go).
	private privateLog
	revMark atomic.Uint64 // RevocationMark()+1 when the connections were loaded; 0 = not yet
	seen    seenSet
	// unrecordedServed counts the requests served that way (tests).
	unrecordedServed atomic.Uint64
}

// New builds a service from cfg.
func New(cfg Config) (*Service, error) {
	if cfg.Keys == nil || cfg.Store == nil || cfg.Backend == nil || cfg.Relays == nil {
		return nil, errors.New("service: Keys, Store, Backend and Relays are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.MaxRequestAge, 6*time.Hour)
	def(&cfg.PaymentTimeout, 60*time.Second)
	def(&cfg.CallTimeout, 15*time.Second)
	def(&cfg.RefreshInterval, time.Second)
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 256
	}
	if cfg.RatePerSecond == 0 {
		cfg.RatePerSecond, cfg.RateBurst = 20, 40
	}
	if cfg.RequestLogRetention == 0 {
		cfg.RequestLogRetention = DefaultRequestLogRetention
	}
	if r := cfg.RequestLogRetention; r > 0 && (r < 24*time.Hour || r <= cfg.MaxRequestAge) {
		return nil, fmt.Errorf("service: request log retention %s is too short: at least 24h and longer than the request age limit (%s)", r, cfg.MaxRequestAge)
	}
	if cfg.FilterChunk <= 0 {
		cfg.FilterChunk = 500
	}
	if cfg.Metrics == nil {
		cfg.Metrics = nopMetrics{}
	}
	s := &Service{
		cfg:         cfg,
		log:         cfg.Logger,
		now:         cfg.Clock,
		cipher:      nip47.NewCipher(100_000),
		limiter:     newRateLimiter(cfg.RatePerSecond, cfg.RateBurst),
		sem:         make(chan struct{}, cfg.MaxInFlight),
		work:        make(chan *nostr.Event),
		conns:       make(map[nostr.PublicKey]*live),
		unannounced: make(map[int64]struct{}),
		reloads:     make(chan chan error),
		loopDone:    make(chan struct{}),
	}
	if p, ok := cfg.Store.(privateLog); ok && !cfg.SharedRequestLog {
		if err := p.ClaimRequestLog(); err != nil {
			return nil, fmt.Errorf("service: %w", err)
		}
		s.private = p
	}
	// Group commit (SQLite) waits for other requests' writes only while there are some.
	if h, ok := cfg.Store.(interface{ SetBusyHint(func() int) }); ok {
		h.SetBusyHint(func() int { return int(s.serving.Load()) - 1 })
	}
	return s, nil
}

// Run reconciles in-flight payments, announces every connection, then serves requests
// and notifications until ctx is cancelled. It waits for in-flight requests before it
// returns (drain on shutdown).
func (s *Service) Run(ctx context.Context) error {
	backendEvents, err := s.cfg.Backend.Subscribe(ctx)
	if err != nil {
		return fmt.Errorf("service: subscribe to backend: %w", err)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.notifyLoop(ctx, backendEvents)
	}()

	var (
		events <-chan *nostr.Event
		stop   = func() {}
	)
	// resubscribe opens the new subscription before closing the old one, so no request
	// falls into a gap (a copy seen on both is stopped by the requests table), and only
	// then announces new connections: an app that sends as soon as it sees its info event
	// is already listened to.
	var subscribed uint64 // keysVersion of the current subscription
	resubscribe := func() {
		subscribed = s.keysVersion.Load()
		next, nextStop := s.cfg.Relays.Subscribe(ctx, s.requestFilters())
		stop()
		events, stop = next, nextStop
	}
	// From here on Reload goes through the loop below (Run is called once).
	s.looping.Store(true)
	defer close(s.loopDone)
	if _, err := s.refresh(ctx); err != nil {
		return fmt.Errorf("service: load connections: %w", err)
	}
	s.mu.RLock()
	loaded, toAnnounce := len(s.conns), len(s.added)
	s.mu.RUnlock()
	if loaded >= bigAnnouncement && toAnnounce < bigAnnouncement {
		// Loading many connections (and, before Run, the embedded relay's event log)
		// leaves garbage the runtime would keep resident; a big announcement burst returns
		// it when it ends (announcePending), otherwise return it now.
		debug.FreeOSMemory()
	}
	// Reconcile once the connections are loaded (a payment it settles is notified to them)
	// and before taking requests.
	if err := s.Reconcile(ctx); err != nil {
		return fmt.Errorf("service: reconcile: %w", err)
	}
	resubscribe()
	s.announcePending(ctx)
	refreshed := make(chan struct{}, 1)
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		s.refreshLoop(ctx, refreshed)
	}()
	go func() {
		defer s.wg.Done()
		s.pruneLoop(ctx)
	}()
	// Requests in flight finish, then their answers' publications (bounded by the pool's
	// PublishTimeout): a drained service has handed every answer to a relay.
	defer func() { stop(); s.wg.Wait(); s.answers.Wait() }()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-refreshed:
			if s.keysVersion.Load() != subscribed {
				resubscribe()
			}
			s.announcePending(ctx)
		case done := <-s.reloads:
			_, err := s.refresh(ctx)
			if err == nil && s.keysVersion.Load() != subscribed {
				resubscribe()
			}
			s.announcePending(ctx)
			done <- err
		case ev, ok := <-events:
			if !ok {
				// The subscription ended (ctx done or pool closed); take a new one.
				if ctx.Err() != nil {
					return nil
				}
				resubscribe()
				continue
			}
			s.dispatch(ctx, ev)
		}
	}
}

// refreshLoop re-reads the connections every RefreshInterval, or less often when reading
// them is slow (100,000 connections take a second or more): it keeps refreshing under
// ~5 % of the time. It runs beside the Run loop, which keeps dispatching requests
// meanwhile, and tells the loop (which owns the subscription) after each refresh.
func (s *Service) refreshLoop(ctx context.Context, refreshed chan<- struct{}) {
	t := time.NewTimer(s.cfg.RefreshInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		start := time.Now()
		if _, err := s.refresh(ctx); err != nil {
			if ctx.Err() == nil {
				s.log.Warn("refresh connections", "err", err)
			}
		} else {
			select {
			case refreshed <- struct{}{}:
			default: // the loop has one pending already
			}
		}
		t.Reset(max(s.cfg.RefreshInterval, 20*time.Since(start)))
	}
}

// dispatch hands a request to an idle worker, or starts one while fewer than MaxInFlight
// run; when all are busy it waits, which applies back-pressure to the relay subscription
// instead of growing memory. Workers stay for the next request: a goroutine per request
// would regrow its stack through the crypto every time (~2 % of the CPU in profiles).
func (s *Service) dispatch(ctx context.Context, ev *nostr.Event) {
	select {
	case s.work <- ev:
		return
	default:
	}
	select {
	case s.sem <- struct{}{}:
		s.wg.Add(1)
		go s.worker(ctx, ev)
	case s.work <- ev:
	case <-ctx.Done():
	}
}

// worker serves ev, then whatever dispatch hands it, until ctx ends. Requests already
// started finish even during shutdown, so a payment is never abandoned between the
// backend call and the store update.
func (s *Service) worker(ctx context.Context, ev *nostr.Event) {
	defer func() { <-s.sem; s.wg.Done() }()
	for {
		s.HandleRequest(context.WithoutCancel(ctx), ev)
		select {
		case ev = <-s.work:
		case <-ctx.Done():
			return
		}
	}
}

// requestFilters chunks the #p values so no filter grows past the relays' limits and the
// service never opens one REQ per connection.
func (s *Service) requestFilters() []nostr.Filter {
	s.mu.RLock()
	keys := make([]string, 0, len(s.conns))
	for pk := range s.conns {
		keys = append(keys, pk.String())
	}
	s.mu.RUnlock()
	var filters []nostr.Filter
	for len(keys) > 0 {
		n := min(len(keys), s.cfg.FilterChunk)
		filters = append(filters, nostr.Filter{Kinds: []int{nip47.KindRequest}, Tags: map[string][]string{"p": keys[:n]}})
		keys = keys[n:]
	}
	if len(filters) == 0 {
		// Keep a subscription open even without connections, matching nothing real.
		filters = []nostr.Filter{{Kinds: []int{nip47.KindRequest}, Tags: map[string][]string{"p": {nostr.PublicKey{}.String()}}}}
	}
	return filters
}

// ServiceKeys returns the service keys of the active connections.
func (s *Service) ServiceKeys() []nostr.PublicKey {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]nostr.PublicKey, 0, len(s.conns))
	for pk := range s.conns {
		out = append(out, pk)
	}
	return out
}

// Reload picks up connection changes now instead of at the next refresh tick (tests, admin).
// While Run is running it returns once the subscription covers the new set of service keys,
// so an event published afterwards through the same relay pool reaches each relay after the
// subscription does.
func (s *Service) Reload(ctx context.Context) error {
	if s.looping.Load() {
		done := make(chan error, 1)
		select {
		case s.reloads <- done:
			select {
			case err := <-done:
				return err
			case <-ctx.Done():
				return ctx.Err()
			}
		case <-s.loopDone:
			// Run has returned: nobody subscribes any more; refreshing is still harmless.
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	_, err := s.refresh(ctx)
	return err
}
