// Package sandbox is a deterministic Lightning ledger that satisfies
// lightning.Backend without any network: it issues real BOLT-11 invoices
// (signed by its node key), settles payments to its own invoices at once,
// resolves payments to anyone else as scripted (succeed, fail or hang),
// supports keysend and hold invoices, and keeps every invoice and payment in
// SQLite so that a restarted sandbox can reconcile in-flight payments.
//
// See docs/sandbox.md for the behaviour in detail.
package sandbox

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"

	"github.com/nwc-go/nwc/internal/filelock"
	"github.com/nwc-go/nwc/internal/lightning"
	"github.com/nwc-go/nwc/internal/lightning/bolt11"
)

// Outcome scripts how a payment to a node other than this sandbox ends.
type Outcome string

// Outcomes.
const (
	OutcomeSucceed Outcome = "succeed" // settles at once with a deterministic fake preimage
	OutcomeFail    Outcome = "fail"    // fails with "no route"
	OutcomeHang    Outcome = "hang"    // stays pending until Release
)

func (o Outcome) valid() bool {
	return o == OutcomeSucceed || o == OutcomeFail || o == OutcomeHang
}

// Chain simulation: the fake chain starts at GenesisHeight when the ledger
// is created and gains one block per BlockInterval of Config.Clock.
const (
	GenesisHeight = 100
	BlockInterval = 10 * time.Minute
)

// Fees charged for payments leaving the sandbox: BaseFee + amount/1000
// (0.1%), never more than the payment's fee limit. Payments to its own
// invoices are free.
const BaseFee = 1000

// ErrLedgerInUse: another Sandbox (another process, or another in this one) has the ledger
// file open; Config.Shared lets several share it.
var ErrLedgerInUse = errors.New("sandbox: ledger in use by another process (to share it, start every process with --sandbox-shared)")

// ErrKeyMismatch is returned by Open when the database belongs to another
// node key.
var ErrKeyMismatch = errors.New("sandbox: database was created with another node key")

// Config configures Open.
type Config struct {
	// Path of the SQLite file; "" keeps the ledger in memory. A ledger file belongs to one
	// Sandbox at a time (a lock beside it, ErrLedgerInUse), which caches the node balance
	// between its own changes, unless Shared.
	Path string
	// Shared lets several processes use the ledger file at once, as several service
	// instances use one Lightning node (SQLite serialises their changes): the balance is
	// read from the file every time. Sharers all say Shared; an owner excludes them.
	Shared bool
	// NodeKey is the node identity. If nil, it is derived from Seed; if Seed
	// is empty too, a key stored in the database is used, or a new random
	// one is generated and stored there.
	NodeKey *btcec.PrivateKey
	Seed    []byte
	// Alias shown by Info; default "nwc-sandbox".
	Alias string
	// Network is reported by Info and selects the invoice prefix; default
	// regtest ("lnbcrt").
	Network string
	// InitialBalance (msat) is credited when the database is created.
	InitialBalance int64
	// ExternalOutcome is the default outcome of payments to other nodes;
	// default OutcomeSucceed. SetOutcome overrides it per payment hash.
	ExternalOutcome Outcome
	// Clock drives invoice timestamps, expiry and the fake block height;
	// default time.Now.
	Clock func() time.Time
	// Logger; default discards.
	Logger *slog.Logger
	// Net, if set, joins an in-process network: payments to invoices and
	// keysends to node keys of other sandboxes on the same Net are delivered
	// to them (with real preimages, hold invoices and events) instead of
	// following the script.
	Net *Net
}

// Sandbox is a deterministic Lightning ledger. It implements
// lightning.Backend; all methods are safe for concurrent use.
type Sandbox struct {
	db          *sql.DB
	balanceStmt *sql.Stmt
	key         *btcec.PrivateKey
	pubKey      string
	alias       string
	network     string
	outcome     Outcome
	clock       func() time.Time
	log         *slog.Logger
	net         *Net
	genesis     int64

	// balance caches the node balance (nil: read the ledger). Set under mu by Balance,
	// cleared under mu by every change; never set for a Shared ledger.
	balance atomic.Pointer[int64]
	shared  bool
	unlock  func() // releases the ledger file's lock

	// mu serialises every ledger change and the event order.
	mu      sync.Mutex
	waiters map[string][]chan struct{} // payment hash -> woken on any change
	subs    map[*subscriber]struct{}

	closeOnce sync.Once
	closed    chan struct{}
	// stopCtx is canceled by Close; background deliveries run under it.
	stopCtx  context.Context
	stop     context.CancelFunc
	wg       sync.WaitGroup
	closeErr error

	// testPending, if set (tests only), is called when a payer starts
	// waiting on a pending payment.
	testPending func(hash string)
}

var _ lightning.Backend = (*Sandbox)(nil)

// Open opens (creating if needed) the ledger described by cfg.
func Open(ctx context.Context, cfg Config) (*Sandbox, error) {
	s := &Sandbox{
		alias:   cfg.Alias,
		network: cfg.Network,
		outcome: cfg.ExternalOutcome,
		clock:   cfg.Clock,
		log:     cfg.Logger,
		net:     cfg.Net,
		waiters: make(map[string][]chan struct{}),
		subs:    make(map[*subscriber]struct{}),
		closed:  make(chan struct{}),
		shared:  cfg.Shared,
		unlock:  func() {},
	}
	if s.alias == "" {
		s.alias = "nwc-sandbox"
	}
	if s.network == "" {
		s.network = lightning.Regtest
	}
	if bolt11.Prefix(s.network) == "" || s.network == bolt11.Simnet {
		return nil, fmt.Errorf("sandbox: unsupported network %q", s.network)
	}
	if s.outcome == "" {
		s.outcome = OutcomeSucceed
	}
	if !s.outcome.valid() {
		return nil, fmt.Errorf("sandbox: unknown outcome %q", s.outcome)
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if cfg.InitialBalance < 0 {
		return nil, errors.New("sandbox: negative initial balance")
	}
	if cfg.Path != "" {
		release, err := filelock.TryLock(cfg.Path+".lock", cfg.Shared)
		if errors.Is(err, filelock.ErrLocked) {
			return nil, fmt.Errorf("%w: %s", ErrLedgerInUse, cfg.Path)
		}
		if err != nil {
			return nil, fmt.Errorf("sandbox: lock ledger: %w", err)
		}
		s.unlock = func() { release() }
	}
	opened := false // until then, any failure below releases the lock
	defer func() {
		if !opened {
			s.unlock()
		}
	}()
	db, err := openDB(ctx, cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("sandbox: open database: %w", err)
	}
	s.db = db
	if err := s.init(ctx, cfg); err != nil {
		db.Close()
		return nil, err
	}
	// get_balance is the most frequent call: prepared once, not parsed every time.
	if s.balanceStmt, err = db.PrepareContext(ctx, `SELECT value FROM meta WHERE key = ?`); err != nil {
		db.Close()
		return nil, fmt.Errorf("sandbox: prepare: %w", err)
	}
	s.stopCtx, s.stop = context.WithCancel(context.Background())
	if s.net != nil {
		if err := s.net.join(s); err != nil {
			s.stop()
			db.Close()
			return nil, err
		}
	}
	s.log.Info("sandbox ledger open", "pubkey", s.pubKey, "network", s.network, "path", cfg.Path, "shared", cfg.Shared)
	opened = true
	return s, nil
}

// init loads or creates the node identity, the genesis time and the balance.
func (s *Sandbox) init(ctx context.Context, cfg Config) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	defer tx.Rollback()

	key := cfg.NodeKey
	if key == nil && len(cfg.Seed) > 0 {
		d := sha256.Sum256(append([]byte("nwc sandbox node key:"), cfg.Seed...))
		key, _ = btcec.PrivKeyFromBytes(d[:])
	}
	storedPub, havePub, err := getMeta(ctx, tx, metaPubKey)
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	if key == nil {
		// No key given: reuse the one this database generated, or make one.
		// It is a regtest sandbox key, so keeping it in the file is fine.
		stored, ok, err := getMeta(ctx, tx, metaNodeKey)
		if err != nil {
			return fmt.Errorf("sandbox: %w", err)
		}
		if ok {
			b, err := hex.DecodeString(stored)
			if err != nil || len(b) != 32 {
				return errors.New("sandbox: corrupt stored node key")
			}
			key, _ = btcec.PrivKeyFromBytes(b)
		} else {
			if key, err = btcec.NewPrivateKey(); err != nil {
				return fmt.Errorf("sandbox: %w", err)
			}
			if err := setMeta(ctx, tx, metaNodeKey, hex.EncodeToString(key.Serialize())); err != nil {
				return fmt.Errorf("sandbox: %w", err)
			}
		}
	}
	s.key = key
	s.pubKey = hex.EncodeToString(key.PubKey().SerializeCompressed())
	if havePub && storedPub != s.pubKey {
		return fmt.Errorf("%w (database %s, key %s)", ErrKeyMismatch, storedPub, s.pubKey)
	}
	if !havePub {
		for k, v := range map[string]string{
			metaPubKey:  s.pubKey,
			metaGenesis: strconv.FormatInt(s.clock().Unix(), 10),
			metaBalance: strconv.FormatInt(cfg.InitialBalance, 10),
			metaSeq:     "0",
		} {
			if err := setMeta(ctx, tx, k, v); err != nil {
				return fmt.Errorf("sandbox: %w", err)
			}
		}
	}
	if s.genesis, err = getMetaInt(ctx, tx, metaGenesis); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	return tx.Commit()
}

// Close stops event streams and background deliveries and closes the
// database. Payers blocked in PayInvoice/PayKeysend return ErrUnavailable;
// their payments stay pending in the database.
func (s *Sandbox) Close() error {
	s.closeOnce.Do(func() {
		if s.net != nil {
			s.net.leave(s)
		}
		// Under mu: every wg.Add happens under mu after checking closed.
		s.mu.Lock()
		close(s.closed)
		s.mu.Unlock()
		s.stop()
		s.wg.Wait()
		s.balanceStmt.Close()
		s.closeErr = s.db.Close()
		s.unlock()
	})
	return s.closeErr
}

// PubKey is the node public key (33-byte compressed, hex).
func (s *Sandbox) PubKey() string { return s.pubKey }

// BlockHeight is the fake chain height at Clock().
func (s *Sandbox) BlockHeight() uint32 { return s.heightAt(s.clock()) }

func (s *Sandbox) heightAt(t time.Time) uint32 {
	d := t.Unix() - s.genesis
	if d < 0 {
		d = 0
	}
	return GenesisHeight + uint32(d/int64(BlockInterval/time.Second))
}

func blockHash(network string, height uint32) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], height)
	h := sha256.Sum256(append([]byte("nwc sandbox block:"+network+":"), b[:]...))
	return hex.EncodeToString(h[:])
}

// Info implements lightning.Backend.
func (s *Sandbox) Info(ctx context.Context) (lightning.NodeInfo, error) {
	if err := s.alive(ctx); err != nil {
		return lightning.NodeInfo{}, err
	}
	h := s.BlockHeight()
	return lightning.NodeInfo{
		Alias:       s.alias,
		Color:       "#" + s.pubKey[2:8],
		PubKey:      s.pubKey,
		Network:     s.network,
		BlockHeight: h,
		BlockHash:   blockHash(s.network, h),
	}, nil
}

// Balance implements lightning.Backend. Pending outgoing payments are
// already deducted.
func (s *Sandbox) Balance(ctx context.Context) (int64, error) {
	if err := s.alive(ctx); err != nil {
		return 0, err
	}
	// get_balance is the most frequent call. Every change clears the cached value under mu
	// (update), and it is read and cached under mu, so it is never stale: the ledger file
	// is this Sandbox's alone unless Shared (then it is always read).
	if p := s.balance.Load(); p != nil {
		return *p, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var v string
	if err := s.balanceStmt.QueryRowContext(ctx, metaBalance).Scan(&v); err != nil {
		return 0, s.dbErr(err)
	}
	b, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, s.dbErr(err)
	}
	if !s.shared {
		s.balance.Store(&b)
	}
	return b, nil
}

// SignMessage implements lightning.Backend (LND format).
func (s *Sandbox) SignMessage(ctx context.Context, message string) (string, error) {
	if err := s.alive(ctx); err != nil {
		return "", err
	}
	return lightning.SignMessage(s.key, message), nil
}

// Capabilities implements lightning.Backend: every NIP-47 method that
// depends on the node (get_budget and create_connection are the service's
// own business).
func (s *Sandbox) Capabilities() lightning.Capabilities {
	return lightning.Capabilities{
		Methods: []string{
			"pay_invoice", "multi_pay_invoice", "pay_keysend", "multi_pay_keysend",
			"make_invoice", "lookup_invoice", "list_transactions", "get_balance", "get_info",
			"make_hold_invoice", "settle_hold_invoice", "cancel_hold_invoice", "sign_message",
		},
		Notifications: []string{"payment_received", "payment_sent", "hold_invoice_accepted"},
	}
}

// alive reports ErrUnavailable after Close and ctx's error when done.
func (s *Sandbox) alive(ctx context.Context) error {
	select {
	case <-s.closed:
		return fmt.Errorf("sandbox closed: %w", lightning.ErrUnavailable)
	default:
	}
	return ctx.Err()
}

func (s *Sandbox) dbErr(err error) error {
	select {
	case <-s.closed:
		return fmt.Errorf("sandbox closed: %w", lightning.ErrUnavailable)
	default:
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("sandbox database: %w: %w", lightning.ErrUnavailable, err)
}

// derive returns a deterministic 32-byte secret: HMAC-SHA256 keyed with the
// node key over label and data. Same key, same history => same invoices.
func (s *Sandbox) derive(label string, data ...[]byte) [32]byte {
	m := hmac.New(sha256.New, s.key.Serialize())
	m.Write([]byte(label))
	for _, d := range data {
		m.Write(d)
	}
	var out [32]byte
	m.Sum(out[:0])
	return out
}

func seqBytes(n int64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(n))
	return b[:]
}

// wait returns a channel closed at the next change of hash. Call it with
// s.mu held, before reading the state it guards, so no wake-up is lost.
func (s *Sandbox) waitLocked(hash string) <-chan struct{} {
	ch := make(chan struct{})
	s.waiters[hash] = append(s.waiters[hash], ch)
	return ch
}

// wakeLocked wakes everyone waiting on hash (s.mu held).
func (s *Sandbox) wakeLocked(hash string) {
	for _, ch := range s.waiters[hash] {
		close(ch)
	}
	delete(s.waiters, hash)
}
