// Package server assembles a complete wallet service from a data dir: store (SQLite in the
// data dir, or PostgreSQL),
// keyring, sandbox backend, embedded relay, relay pool and the request pipeline. `nwc serve`
// and the whole-system tests both use it, so what the tests run is what users run.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nwc-go/nwc/internal/admin"
	"github.com/nwc-go/nwc/internal/keyring"
	"github.com/nwc-go/nwc/internal/lightning"
	"github.com/nwc-go/nwc/internal/lightning/sandbox"
	"github.com/nwc-go/nwc/internal/metrics"
	"github.com/nwc-go/nwc/internal/nwa"
	"github.com/nwc-go/nwc/internal/service"
	"github.com/nwc-go/nwc/internal/store"
	"github.com/nwc-go/nwc/internal/store/postgres"
	"github.com/nwc-go/nwc/internal/store/sqlite"
	"github.com/nwc-go/nwc/internal/wallet"
	"github.com/nwc-go/nwc/nostr/relaypool"
	"github.com/nwc-go/nwc/relay"
)

// Files and settings inside the data dir.
const (
	DBFile        = "nwc.db"
	MasterKeyFile = "master.key"
	SandboxFile   = "sandbox.db"
	RelayDir      = "relay"
	// SettingRelays records the relays apps must use, for `nwc connect new`.
	SettingRelays = "relays"
	// DefaultRelayListen is where the embedded relay listens unless told otherwise; a
	// fixed port keeps the URIs already handed out valid across restarts.
	DefaultRelayListen = "127.0.0.1:7447"
	// EmbeddedRelayMaxReplaceable caps the replaceable events (info events, one per
	// connection) the embedded relay keeps: 10x the 100,000 connections measured in
	// docs/benchmarks.md (~400 bytes each). Regular events keep the relay's default cap.
	EmbeddedRelayMaxReplaceable = 1_000_000
	// DefaultAdminListen is the admin API's address.
	DefaultAdminListen = "127.0.0.1:7448"
	// AdminTokenFile holds the admin API token (mode 0600).
	AdminTokenFile = "admin.token"
	// SettingAdminAddr records where the admin API listens, for `nwc faucet`.
	SettingAdminAddr = "admin_addr"
	// DefaultSandboxBalance is a new sandbox node's balance: 1,000,000 sat.
	DefaultSandboxBalance = 1_000_000_000
)

// Options configure a Server. The zero value (plus DataDir) is the embedded default:
// sandbox backend, embedded relay on DefaultRelayListen.
type Options struct {
	DataDir string
	// DB selects the store: "" = SQLite in DataDir/DBFile; a postgres:// (or postgresql://)
	// URL = that PostgreSQL database, which several instances may share (see OpenStore).
	DB string
	// RelayListen is the embedded relay's address ("" = DefaultRelayListen, "off" = none).
	RelayListen string
	// Relays are further relays to use (and put in new URIs).
	Relays []string
	// SandboxBalance is the sandbox node's starting balance in msat, on first run only
	// (0 = DefaultSandboxBalance, negative = empty).
	SandboxBalance int64
	// SandboxExternal is the outcome of payments to invoices of other nodes: succeed, fail, hang.
	SandboxExternal string
	// SandboxResolvePending resolves, at start, the sandbox payments a previous run left
	// hanging ("succeed" or "fail"; "" leaves them): it stands for the network finally
	// settling or failing a stuck HTLC, so crash recovery can be tried end to end.
	SandboxResolvePending string
	// SandboxShared lets other processes use the sandbox ledger at the same time (several
	// instances on one sandbox "node"); without it the ledger file is locked.
	SandboxShared bool
	// Backend, when set, is the Lightning backend to serve (LND) instead of the sandbox,
	// which is then not opened (the Sandbox options are ignored). The caller owns it
	// and closes it after Close.
	Backend lightning.Backend
	// AdminListen is the admin HTTP address ("" or "off" = none; `nwc serve` defaults to
	// DefaultAdminListen). A non-loopback address is refused unless AdminAllowRemote.
	AdminListen      string
	AdminAllowRemote bool
	// Service tunes the pipeline; Keys, Store, Backend, Relays and Logger are filled in.
	Service service.Config
	Logger  *slog.Logger
}

// Server is an assembled, running wallet service.
type Server struct {
	Store   store.Store
	Keys    *keyring.Keyring
	Sandbox *sandbox.Sandbox // nil when Options.Backend is set
	// Backend is the Lightning backend in use: the sandbox or Options.Backend.
	Backend   lightning.Backend
	Relay     *relay.Relay
	Pool      *relaypool.Pool
	Service   *service.Service
	RelayURLs []string
	// Metrics counts requests, payments, notifications and relay state for /metrics.
	Metrics *metrics.Registry

	stopRelay func()
	closers   []func() error
	admin     net.Listener
	adminH    *http.ServeMux // routes can be added next to the admin ones (e.g. /metrics)
	// AdminToken is the token the admin API requires.
	AdminToken string
	// AdminTokenCreated: the token was made by this Open (first run): show it once.
	AdminTokenCreated bool

	relaySync *nwa.RelaySync // listens on the relays NWA apps chose
	refresh   time.Duration
	log       *slog.Logger
}

// Open builds every component and starts the relay and the pool. Call Run, then Close.
func Open(ctx context.Context, o Options) (srv *Server, err error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.DataDir == "" {
		return nil, errors.New("server: DataDir is required")
	}
	s := &Server{log: o.Logger}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	if s.Keys, _, err = keyring.LoadOrCreate(filepath.Join(o.DataDir, MasterKeyFile)); err != nil {
		return nil, err
	}
	if s.Store, err = OpenStore(ctx, o.DataDir, o.DB); err != nil {
		return nil, err
	}
	s.closers = append(s.closers, s.Store.Close)

	if o.Backend != nil {
		s.Backend = o.Backend
	} else if err := s.openSandbox(ctx, o); err != nil {
		return nil, err
	}

	urls := append([]string(nil), o.Relays...)
	if o.RelayListen != "off" {
		addr := o.RelayListen
		if addr == "" {
			addr = DefaultRelayListen
		}
		s.Relay, err = relay.New(relay.Config{
			DataDir: filepath.Join(o.DataDir, RelayDir), Name: "nwc embedded relay",
			// The service publishes every answer on one socket: no per-connection event rate.
			EventsPerSecond: -1,
			// One info event per connection: the default cap (100,000) would start dropping
			// the oldest connections' info events at 100,001 connections.
			MaxReplaceableEvents: EmbeddedRelayMaxReplaceable,
			Logger:               o.Logger.With("component", "relay"),
		})
		if errors.Is(err, relay.ErrDataDirInUse) {
			return nil, fmt.Errorf("start relay: %w (is another nwc serve running on %s?)", err, o.DataDir)
		}
		if err != nil {
			return nil, fmt.Errorf("start relay: %w", err)
		}
		s.closers = append(s.closers, s.Relay.Close)
		url, stop, err := relay.ListenAndServe(context.WithoutCancel(ctx), addr, s.Relay)
		if err != nil {
			return nil, fmt.Errorf("embedded relay on %s: %w", addr, err)
		}
		s.stopRelay = stop
		urls = append([]string{url}, urls...)
	}
	if len(urls) == 0 {
		return nil, errors.New("no relay: give --relay or keep the embedded relay")
	}
	s.RelayURLs = urls
	if err := s.Store.PutSetting(ctx, SettingRelays, strings.Join(urls, " ")); err != nil {
		return nil, err
	}

	s.Pool = relaypool.New(relaypool.Options{Logger: o.Logger.With("component", "relaypool")})
	s.closers = append(s.closers, s.Pool.Close)
	for _, u := range urls {
		if err := s.Pool.AddRelay(u); err != nil {
			return nil, fmt.Errorf("relay %q: %w", u, err)
		}
	}
	// The relays of NWA connections join the pool before the service announces anything.
	s.relaySync = nwa.NewRelaySync(s.Store, s.Pool)
	if _, err := s.relaySync.Sync(ctx); err != nil {
		return nil, fmt.Errorf("relays of app-initiated connections: %w", err)
	}
	s.refresh = o.Service.RefreshInterval
	if s.refresh <= 0 {
		s.refresh = time.Second
	}
	cfg := o.Service
	cfg.Keys, cfg.Store, cfg.Backend, cfg.Relays = s.Keys, s.Store, s.Backend, service.PoolRelays{Pool: s.Pool}
	// Info events are published again at start when the relays change.
	cfg.AnnounceKey = strings.Join(s.RelayURLs, " ")
	cfg.Logger = o.Logger.With("component", "service")
	s.Metrics = metrics.New(s.Pool.Relays)
	if gc, ok := s.Store.(interface {
		GroupCommitStats() (commits, writes, failed uint64, lastErr error)
	}); ok {
		s.Metrics.SetStoreStats(func() metrics.StoreStats {
			c, w, f, _ := gc.GroupCommitStats()
			return metrics.StoreStats{Commits: c, Writes: w, FailedLater: f}
		})
	}
	cfg.Metrics = s.Metrics
	if s.Service, err = service.New(cfg); err != nil {
		return nil, err
	}
	if err := s.openAdmin(ctx, o); err != nil {
		return nil, err
	}
	return s, nil
}

// openSandbox opens the sandbox backend in the data dir (the default backend).
func (s *Server) openSandbox(ctx context.Context, o Options) (err error) {
	switch {
	case o.SandboxBalance == 0:
		o.SandboxBalance = DefaultSandboxBalance
	case o.SandboxBalance < 0:
		o.SandboxBalance = 0
	}
	outcome := sandbox.Outcome(o.SandboxExternal)
	switch outcome {
	case "", sandbox.OutcomeSucceed, sandbox.OutcomeFail, sandbox.OutcomeHang:
	default:
		return fmt.Errorf("bad sandbox outcome %q: want succeed, fail or hang", o.SandboxExternal)
	}
	s.Sandbox, err = sandbox.Open(ctx, sandbox.Config{
		Path: filepath.Join(o.DataDir, SandboxFile), InitialBalance: o.SandboxBalance,
		ExternalOutcome: outcome, Logger: o.Logger.With("component", "sandbox"), Shared: o.SandboxShared,
	})
	if err != nil {
		return fmt.Errorf("open sandbox: %w", err)
	}
	s.closers = append(s.closers, s.Sandbox.Close)
	s.Backend = s.Sandbox
	return s.resolvePending(ctx, o.SandboxResolvePending)
}

// OpenStore opens the store db names: "" is the SQLite file DBFile in dataDir, a
// postgres:// or postgresql:// URL a PostgreSQL database (migrated on open), and any
// other value without "://" a SQLite file path.
func OpenStore(ctx context.Context, dataDir, db string) (store.Store, error) {
	switch {
	case db == "":
		db = filepath.Join(dataDir, DBFile)
	case postgres.IsURL(db):
		st, err := postgres.Open(ctx, db)
		if err != nil {
			return nil, fmt.Errorf("open database: %w", err)
		}
		return st, nil
	case strings.Contains(db, "://"):
		return nil, errors.New("open database: --db takes a postgres:// URL or a SQLite file path")
	}
	st, err := sqlite.Open(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	return st, nil
}

// openAdmin binds the admin API; it starts serving in Run.
func (s *Server) openAdmin(ctx context.Context, o Options) error {
	addr := o.AdminListen
	if addr == "" || addr == "off" {
		return nil
	}
	token, created, err := admin.LoadOrCreateToken(filepath.Join(o.DataDir, AdminTokenFile))
	if err != nil {
		return err
	}
	s.AdminTokenCreated = created
	l, err := admin.Listen(addr, o.AdminAllowRemote)
	if err != nil {
		return fmt.Errorf("admin API on %s: %w", addr, err)
	}
	s.admin, s.AdminToken = l, token
	s.closers = append(s.closers, func() error { l.Close(); return nil })
	mux := admin.Handler(admin.Config{
		Token: token, Logger: o.Logger.With("component", "admin"), Health: s.health,
		Receive: s.faucet(),
		Store:   s.Store, Backend: s.Backend, Relays: s.Pool.Relays, Location: o.Service.Location,
		Create: s.createConnection, Revoke: s.revokeConnection, Approve: s.ApproveNWA,
	})
	mux.Handle("GET /metrics", admin.Probe(token, s.Metrics))
	s.adminH = mux
	return s.Store.PutSetting(ctx, SettingAdminAddr, l.Addr().String())
}

// faucet credits connections from outside the wallet; only the sandbox can (nil, and
// the admin API answers 501, with any other backend).
func (s *Server) faucet() func(ctx context.Context, connID int64, amount wallet.MSat) (*wallet.Transaction, error) {
	if s.Sandbox == nil {
		return nil
	}
	return func(ctx context.Context, connID int64, amount wallet.MSat) (*wallet.Transaction, error) {
		return s.Service.Receive(ctx, connID, amount, "nwc faucet", s.Sandbox.PayFromOutside)
	}
}

// AdminURL is the admin API's base URL ("" when it is off).
func (s *Server) AdminURL() string {
	if s.admin == nil {
		return ""
	}
	return "http://" + s.admin.Addr().String()
}

// health lists what is wrong with the store, the backend and the relays.
func (s *Server) health(ctx context.Context) map[string]string {
	problems := map[string]string{}
	if _, err := s.Store.GetSetting(ctx, SettingRelays); err != nil {
		problems["store"] = err.Error()
	}
	if _, err := s.Backend.Info(ctx); err != nil {
		problems["backend"] = err.Error()
	}
	connected := 0
	for _, r := range s.Pool.Relays() {
		if r.Connected {
			connected++
		}
	}
	if connected == 0 {
		problems["relays"] = "no relay connected"
	}
	return problems
}

// resolvePending releases hung sandbox payments recorded as pending in the store.
func (s *Server) resolvePending(ctx context.Context, outcome string) error {
	switch sandbox.Outcome(outcome) {
	case "":
		return nil
	case sandbox.OutcomeSucceed, sandbox.OutcomeFail:
	default:
		return fmt.Errorf("bad --sandbox-resolve-pending %q: want succeed or fail", outcome)
	}
	pending, err := s.Store.PendingPayments(ctx)
	if err != nil {
		return err
	}
	for _, p := range pending {
		if err := s.Sandbox.Release(ctx, p.PaymentHash, sandbox.Outcome(outcome)); err != nil && !errors.Is(err, lightning.ErrNotFound) {
			return fmt.Errorf("resolve pending payment %s: %w", p.PaymentHash, err)
		}
	}
	return nil
}

// Run serves until ctx ends and in-flight requests are drained.
func (s *Server) Run(ctx context.Context) error {
	// Whatever ends the service also stops the admin server and the relay sync.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if s.admin != nil {
		done := make(chan error, 1)
		go func() { done <- admin.Serve(ctx, s.admin, s.adminH) }()
		defer func() { cancel(); <-done }()
	}
	syncDone := make(chan struct{})
	go func() { defer close(syncDone); s.syncAppRelays(ctx) }()
	defer func() { cancel(); <-syncDone }()
	return s.Service.Run(ctx)
}

// Close stops the pool, the relay listener, then closes relay, backend and store.
func (s *Server) Close() error {
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		if err := s.closers[i](); err != nil {
			errs = append(errs, err)
		}
		if i == len(s.closers)-1 {
			s.stopListener() // after the pool (last opened), before the relay itself
		}
	}
	s.stopListener()
	s.closers = nil
	return errors.Join(errs...)
}

func (s *Server) stopListener() {
	if s.stopRelay != nil {
		s.stopRelay()
		s.stopRelay = nil
	}
}
