package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nwc-go/nwc/nip47"
	"github.com/nwc-go/nwc/nostr"
	"github.com/nwc-go/nwc/nostr/relaypool"
)

// Errors of the transport, distinct from the wallet's own error answers (*nip47.Error).
var (
	// ErrNoInfo: Dial found no info event (kind 13194) of the wallet on the URI's relays,
	// either because none is published or because no relay answered.
	ErrNoInfo = errors.New("client: no info event from the wallet")
	// ErrTimeout: the wallet did not answer in time. The request may still have been
	// executed: look a payment up before paying again.
	ErrTimeout = errors.New("client: no response from the wallet in time")
	// ErrPublish: no relay accepted the request event.
	ErrPublish = errors.New("client: no relay accepted the request")
	// ErrClosed: the client was closed (or its shared pool was).
	ErrClosed = errors.New("client: closed")
)

// Default per-call timeouts, as in Alby's js-sdk.
const (
	DefaultPayTimeout  = 60 * time.Second // pay_invoice, pay_keysend, multi_pay_*
	DefaultCallTimeout = 10 * time.Second // every other method
	// DefaultInfoTimeout bounds how long Dial waits for the relays to answer the info query.
	DefaultInfoTimeout = 10 * time.Second
)

// responseBuffer is the capacity of the shared response subscription: the demultiplexer
// only hands events over, so it rarely holds more than a few.
const responseBuffer = 4096

// Option configures a Client.
type Option func(*config)

type config struct {
	timeout     time.Duration
	infoTimeout time.Duration
	logger      *slog.Logger
	encryption  nip47.Encryption
	noEncTag    bool
	pool        *relaypool.Pool
}

// WithTimeout sets how long every call waits for the wallet's answer, instead of the
// per-method defaults (DefaultPayTimeout, DefaultCallTimeout). A ctx deadline that comes
// earlier still wins.
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithInfoTimeout sets how long Dial waits for the relays to answer the info query
// (default DefaultInfoTimeout).
func WithInfoTimeout(d time.Duration) Option { return func(c *config) { c.infoTimeout = d } }

// WithLogger sets the logger (default: discard). Secrets are never logged.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithEncryption forces a scheme (nip47.EncryptionNIP44 or nip47.EncryptionNIP04) instead
// of negotiating it from the info event.
func WithEncryption(e nip47.Encryption) Option { return func(c *config) { c.encryption = e } }

// WithoutEncryptionTag sends NIP-04 requests without the ["encryption","nip04"] tag, as
// nostr-tools and rust-nostr do, for services that predate the tag. It has no effect
// with NIP-44, which must be tagged.
func WithoutEncryptionTag() Option { return func(c *config) { c.noEncTag = true } }

// WithPool makes the client use a relay pool shared with other code instead of its own.
// The URI's relays are added to it; Close leaves the pool (and its relays) open.
func WithPool(p *relaypool.Pool) Option { return func(c *config) { c.pool = p } }

// Client talks to one wallet service through one connection URI. It is safe for
// concurrent use. Create it with Dial, release it with Close.
type Client struct {
	uri     *nip47.ConnectionURI
	info    *nip47.Info
	scheme  nip47.Encryption
	cfg     config
	log     *slog.Logger
	pool    *relaypool.Pool
	ownPool bool
	cipher  *nip47.Cipher

	responses *relaypool.Subscription
	demuxDone chan struct{} // closed when the response subscription has ended

	mu      sync.Mutex
	waiters map[nostr.EventID]chan *nostr.Event // request id -> its responses
	closed  bool                                // set by Close; no goroutine starts after it

	done      chan struct{} // closed by Close
	closeOnce sync.Once
	wg        sync.WaitGroup // demultiplexer and notification goroutines
}

// Dial parses uri, connects to all its relays, fetches the wallet's info event and picks
// the encryption scheme (NIP-44 when offered, else NIP-04, unless WithEncryption).
// ctx bounds only the dialling. Errors: nip47.ErrInvalidURI, ErrNoInfo,
// nip47.ErrUnsupportedEncryption (no scheme in common), ctx's error.
func Dial(ctx context.Context, uri string, opts ...Option) (*Client, error) {
	u, err := nip47.ParseConnectionURI(uri)
	if err != nil {
		return nil, err
	}
	cfg := config{infoTimeout: DefaultInfoTimeout}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.DiscardHandler)
	}
	if cfg.infoTimeout <= 0 {
		cfg.infoTimeout = DefaultInfoTimeout
	}
	if cfg.encryption != "" && !cfg.encryption.Supported() {
		return nil, fmt.Errorf("client: %w: %q", nip47.ErrUnsupportedEncryption, cfg.encryption)
	}
	c := &Client{
		uri: u, cfg: cfg, cipher: nip47.NewCipher(16),
		log:       cfg.logger.With("wallet", u.WalletPubKey.String()),
		waiters:   make(map[nostr.EventID]chan *nostr.Event),
		done:      make(chan struct{}),
		demuxDone: make(chan struct{}),
	}
	c.pool = cfg.pool
	if c.pool == nil {
		secret := u.Secret
		c.pool = relaypool.New(relaypool.Options{
			Logger: cfg.logger.With("component", "relaypool"),
			// Authenticate as soon as a relay asks, before any REQ is refused.
			AuthKeys: func(string) []*nostr.SecretKey { return []*nostr.SecretKey{secret} },
		})
		c.ownPool = true
	}
	for _, r := range u.Relays {
		if err := c.pool.AddRelay(r); err != nil {
			c.closePool()
			return nil, fmt.Errorf("client: relay %s: %w", r, err)
		}
	}
	// The response subscription is live before any request can be sent (the pool sends a
	// relay its subscriptions before queued publishes, also after a reconnect). It has no
	// #p: js-sdk's service omits the p tag on responses.
	c.responses, err = c.pool.Subscribe(context.Background(), []nostr.Filter{{
		Kinds: []int{nip47.KindResponse}, Authors: []string{u.WalletPubKey.String()},
	}}, relaypool.WithBufferSize(responseBuffer), c.auth())
	if err != nil {
		c.closePool()
		return nil, fmt.Errorf("client: subscribe to responses: %w", err)
	}
	c.wg.Add(1)
	go c.demux()

	if err := c.fetchInfo(ctx); err != nil {
		c.Close()
		return nil, err
	}
	c.scheme = cfg.encryption
	if c.scheme == "" {
		if c.scheme, err = nip47.ChooseEncryption(c.info); err != nil {
			c.Close()
			return nil, fmt.Errorf("client: wallet offers %v: %w", c.info.Encryptions, err)
		}
	}
	c.log.Debug("connected", "encryption", c.scheme, "relays", u.Relays)
	return c, nil
}

// fetchInfo reads the newest valid info event of the wallet.
func (c *Client) fetchInfo(ctx context.Context) error {
	evs, err := c.pool.QuerySync(ctx, []nostr.Filter{{
		Kinds: []int{nip47.KindInfo}, Authors: []string{c.uri.WalletPubKey.String()}, Limit: 1,
	}}, relaypool.WithEOSETimeout(c.cfg.infoTimeout), c.auth())
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("client: fetch info: %w", ctxErr)
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNoInfo, err)
	}
	var best *nip47.Info
	var bestID nostr.EventID
	for _, ev := range evs {
		info, err := nip47.ParseInfo(ev)
		if err != nil || info.WalletPubKey != c.uri.WalletPubKey {
			c.log.Warn("ignored bad info event", "err", err)
			continue
		}
		// Replaceable-event rule: newest wins, ties go to the lowest id.
		if best == nil || info.CreatedAt > best.CreatedAt ||
			info.CreatedAt == best.CreatedAt && ev.ID.String() < bestID.String() {
			best, bestID = info, ev.ID
		}
	}
	if best == nil {
		return fmt.Errorf("%w on %v", ErrNoInfo, c.uri.Relays)
	}
	c.info = best
	return nil
}

// auth makes relays that require NIP-42 AUTH (a custodian's private relay) get it from
// the connection's client key, whatever pool is used.
func (c *Client) auth() relaypool.SubOption { return relaypool.WithAuthKey(c.uri.Secret) }

// demux hands each response to the call waiting for its request id (e tag).
func (c *Client) demux() {
	defer c.wg.Done()
	defer close(c.demuxDone)
	for ev := range c.responses.Events() {
		id, ok := nip47.ResponseTo(ev)
		if !ok {
			continue
		}
		c.mu.Lock()
		ch := c.waiters[id]
		c.mu.Unlock()
		if ch == nil {
			continue // a late copy, or the answer to another client of a shared wallet key
		}
		select {
		case ch <- ev:
		default:
			c.log.Warn("dropped a surplus response", "request", id.String())
		}
	}
}

// Info returns what the wallet's info event says. Do not modify it.
func (c *Client) Info() *nip47.Info { return c.info }

// Encryption returns the scheme the client uses.
func (c *Client) Encryption() nip47.Encryption { return c.scheme }

// WalletPubKey returns the wallet service's key from the URI.
func (c *Client) WalletPubKey() nostr.PublicKey { return c.uri.WalletPubKey }

// ClientPubKey returns the app's own key (the public half of the URI's secret).
func (c *Client) ClientPubKey() nostr.PublicKey { return c.uri.Secret.Public() }

// Relays returns the URI's relays.
func (c *Client) Relays() []string { return append([]string(nil), c.uri.Relays...) }

// Close ends every subscription of the client, makes calls in flight return ErrClosed,
// and closes the relay pool unless it was given with WithPool. It waits for the client's
// goroutines and is safe to call more than once.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
		close(c.done)
		if c.responses != nil {
			c.responses.Close()
		}
		c.wg.Wait()
		c.closePool()
	})
	return nil
}

func (c *Client) closePool() {
	if c.ownPool {
		c.pool.Close()
	}
}
