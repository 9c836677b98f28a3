// Package bench is the load generator behind `nwc bench`: it drives any NIP-47 wallet
// service through its relays with a weighted mix of methods, from one or many app
// connections, closed-loop (a fixed number of requests in flight) or open-loop (a fixed
// request rate, latencies counted from the intended send time so that a stalled service
// cannot hide its queue), and reports throughput, latency quantiles and errors by code.
//
// It speaks only the protocol (nip47 + relaypool): it needs nothing from our service.
package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nwc-go/nwc/nip47"
	"github.com/nwc-go/nwc/nostr"
	"github.com/nwc-go/nwc/nostr/relaypool"
)

// Errors.
var (
	ErrNoTargets = errors.New("bench: no connection to drive")
	ErrNoInfo    = errors.New("bench: no info event from the wallet")
	ErrBadConfig = errors.New("bench: bad config")
)

// Outcome codes for requests that got no NIP-47 answer.
const (
	CodeTimeout       = "timeout"        // no answer within Config.Timeout
	CodePublishFailed = "publish_failed" // no relay accepted the request
	CodeBadResponse   = "bad_response"   // an answer that did not decrypt or parse
	CodeNoInvoice     = "no_invoice"     // pay_invoice could not get an invoice to pay
)

// Defaults for Config fields left zero.
const (
	DefaultTimeout       = 30 * time.Second
	DefaultInvoiceAmount = 1000 // msat
	DefaultCryptoSamples = 2000
	// authorsPerFilter keeps each response REQ near 33 KB: far below the message limits
	// of common relays (128 KiB and up).
	authorsPerFilter = 500
	// subsPerSocket keeps the REQs on one relay socket under common subscription limits.
	subsPerSocket = 40
)

// Config describes a run. Count or Duration bounds it.
type Config struct {
	// Targets are the app connections to drive; requests go to them in turn.
	Targets []*nip47.ConnectionURI
	// Payees[i], when set, makes the invoices that Targets[i] pays (pay_invoice); nil or a
	// missing entry means Targets[i] pays its own invoices.
	Payees []*nip47.ConnectionURI
	Mix    Mix
	// Concurrency is the number of requests in flight (closed loop), or the most in flight
	// (open loop; beyond it the schedule waits and the wait counts as latency).
	Concurrency int
	// Rate, when > 0, sends requests at this many per second (open loop).
	Rate     float64
	Duration time.Duration
	Count    int
	// Warmup runs the same load for this long first, without recording it.
	Warmup time.Duration
	// Timeout bounds each request (default DefaultTimeout).
	Timeout time.Duration
	// Encryption forces a scheme; "" reads the first wallet's info event.
	Encryption nip47.Encryption
	// InvoiceAmount is the amount of make_invoice and of the invoices pay_invoice pays (msat).
	InvoiceAmount int64
	// Invoices is how many invoices to make for pay_invoice before the clock starts
	// (0 = what Count or Rate×Duration needs, else 1000); more are made on demand, untimed.
	Invoices int
	// Sockets is the number of relay connections to spread the load over (default: as
	// many as the response subscriptions need, at least 1).
	Sockets int
	// ReadyTimeout is how long to wait for the first and last targets' info events (the
	// wallet listens to them) before the run (default 30s).
	ReadyTimeout time.Duration
	// Progress, if set, gets a snapshot every ProgressEvery (default 1s).
	Progress      func(Progress)
	ProgressEvery time.Duration
	// PID, if > 0, is a wallet service process whose CPU time is measured over the run and
	// compared with the unavoidable cryptography (CryptoSamples iterations, default 2000).
	PID           int
	CryptoSamples int
	Logger        *slog.Logger
}

func (c *Config) validate() error {
	if len(c.Targets) == 0 {
		return ErrNoTargets
	}
	if len(c.Mix) == 0 {
		return fmt.Errorf("%w: empty mix", ErrBadConfig)
	}
	if c.Count <= 0 && c.Duration <= 0 {
		return fmt.Errorf("%w: give a count or a duration", ErrBadConfig)
	}
	if c.Count < 0 || c.Duration < 0 || c.Rate < 0 || c.Concurrency < 0 || c.Warmup < 0 {
		return fmt.Errorf("%w: negative count, duration, rate, concurrency or warmup", ErrBadConfig)
	}
	if c.Concurrency == 0 {
		c.Concurrency = 1
		if c.Rate > 0 {
			c.Concurrency = 10_000
		}
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.InvoiceAmount <= 0 {
		c.InvoiceAmount = DefaultInvoiceAmount
	}
	if c.ReadyTimeout <= 0 {
		c.ReadyTimeout = 30 * time.Second
	}
	if c.ProgressEvery <= 0 {
		c.ProgressEvery = time.Second
	}
	if c.CryptoSamples <= 0 {
		c.CryptoSamples = DefaultCryptoSamples
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// target is one driven connection.
type target struct {
	uri   *nip47.ConnectionURI
	pool  *relaypool.Pool
	payee *target

	mu       sync.Mutex
	invoices []string // made by this target, waiting to be paid by its payers
	lookup   string   // a payment hash of this target's, for lookup_invoice
}

// engine runs requests: one cipher, the relay sockets and the response demultiplexer.
type engine struct {
	cfg     Config
	scheme  nip47.Encryption
	cipher  *nip47.Cipher
	pools   []*relaypool.Pool
	targets []*target
	log     *slog.Logger

	mu      sync.Mutex
	waiters map[nostr.EventID]chan *nostr.Event

	subs []*relaypool.Subscription
	wg   sync.WaitGroup // demultiplexers
}

// Run drives the targets as cfg says and returns the report of the measured phase.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	e, err := newEngine(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer e.close()
	if err := e.prepare(ctx); err != nil {
		return nil, err
	}
	if cfg.Warmup > 0 {
		e.phase(ctx, NewRecorder(time.Now()), cfg.Warmup, 0, nil)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	var cpu0 time.Duration
	if cfg.PID > 0 {
		if cpu0, err = ProcessCPU(cfg.PID); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	rec := NewRecorder(start)
	stopProgress := e.progress(rec)
	end := e.phase(ctx, rec, cfg.Duration, cfg.Count, stopProgress)
	rep := rec.Report(end)
	if cfg.PID > 0 {
		cpu1, err := ProcessCPU(cfg.PID)
		if err != nil {
			return nil, err
		}
		if rep.CPU, err = cpuReport(cfg, cpu1-cpu0, rep.OK+rep.Errors); err != nil {
			return nil, err
		}
	}
	rep.Target = e.targets[0].uri.WalletPubKey.String()
	if len(e.targets) > 1 {
		rep.Target = fmt.Sprintf("%d connections via %v", len(e.targets), e.targets[0].uri.Relays)
	}
	rep.Connections = len(e.targets)
	rep.Concurrency = cfg.Concurrency
	rep.Mode = "closed-loop"
	if cfg.Rate > 0 {
		rep.Mode, rep.TargetRate = "open-loop", cfg.Rate
	}
	rep.Encryption = string(e.scheme)
	return rep, ctx.Err()
}

func cpuReport(cfg Config, used time.Duration, requests uint64) (*CPUReport, error) {
	v, d, en, s, err := CryptoCost(cfg.CryptoSamples)
	if err != nil {
		return nil, err
	}
	r := &CPUReport{PID: cfg.PID, ProcessCPUSeconds: used.Seconds(), Requests: requests}
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
	r.CryptoBreakdown.Verify, r.CryptoBreakdown.Decrypt = us(v), us(d)
	r.CryptoBreakdown.Encrypt, r.CryptoBreakdown.Sign = us(en), us(s)
	r.CryptoMicros = us(v + d + en + s)
	if requests > 0 {
		r.PerRequestMicros = us(used) / float64(requests)
	}
	if r.CryptoMicros > 0 {
		r.Ratio = r.PerRequestMicros / r.CryptoMicros
	}
	return r, nil
}

func newEngine(ctx context.Context, cfg Config) (*engine, error) {
	e := &engine{cfg: cfg, log: cfg.Logger, waiters: map[nostr.EventID]chan *nostr.Event{},
		cipher: nip47.NewCipher(min(2*len(cfg.Targets)+16, 400_000))}
	// Wallet keys to listen to, each once.
	var wallets []string
	seen := map[nostr.PublicKey]bool{}
	for i, u := range cfg.Targets {
		if u == nil || u.Secret == nil {
			return nil, fmt.Errorf("%w: target %d has no secret", ErrBadConfig, i)
		}
		if !seen[u.WalletPubKey] {
			seen[u.WalletPubKey] = true
			wallets = append(wallets, u.WalletPubKey.String())
		}
	}
	var filters []nostr.Filter
	for chunk := range slices.Chunk(wallets, authorsPerFilter) {
		filters = append(filters, nostr.Filter{Kinds: []int{nip47.KindResponse}, Authors: chunk})
	}
	sockets := cfg.Sockets
	if sockets <= 0 {
		sockets = (len(filters) + subsPerSocket - 1) / subsPerSocket
	}
	sockets = max(sockets, (len(filters)+subsPerSocket-1)/subsPerSocket, 1)
	relays := map[string]bool{}
	for _, u := range cfg.Targets {
		for _, r := range u.Relays {
			relays[r] = true
		}
	}
	for range sockets {
		p := relaypool.New(relaypool.Options{Logger: cfg.Logger.With("component", "relaypool"), PublishTimeout: cfg.Timeout})
		e.pools = append(e.pools, p)
		for r := range relays {
			if err := p.AddRelay(r); err != nil {
				e.close()
				return nil, fmt.Errorf("bench: relay %s: %w", r, err)
			}
		}
	}
	// Response subscriptions first, so that no answer can come before we listen.
	for i, f := range filters {
		sub, err := e.pools[i%len(e.pools)].Subscribe(ctx, []nostr.Filter{f}, relaypool.WithBufferSize(1<<16))
		if err != nil {
			e.close()
			return nil, fmt.Errorf("bench: subscribe to responses: %w", err)
		}
		e.subs = append(e.subs, sub)
		e.wg.Add(1)
		go e.demux(sub)
	}
	for _, sub := range e.subs {
		select {
		case <-sub.EOSE():
		case <-ctx.Done():
			e.close()
			return nil, ctx.Err()
		}
	}
	byKey := map[string]*target{}
	for i, u := range cfg.Targets {
		t := &target{uri: u, pool: e.pools[i%len(e.pools)]}
		e.targets = append(e.targets, t)
		byKey[u.String()] = t
	}
	for i, t := range e.targets {
		t.payee = t
		if i < len(cfg.Payees) && cfg.Payees[i] != nil {
			p := byKey[cfg.Payees[i].String()]
			if p == nil { // a payee that is not driven itself
				p = &target{uri: cfg.Payees[i], pool: t.pool}
				byKey[cfg.Payees[i].String()] = p
				if err := e.listen(ctx, p.uri.WalletPubKey); err != nil {
					e.close()
					return nil, err
				}
			}
			t.payee = p
		}
	}
	return e, nil
}

// listen adds a response subscription for one more wallet key.
func (e *engine) listen(ctx context.Context, wallet nostr.PublicKey) error {
	sub, err := e.pools[0].Subscribe(ctx, []nostr.Filter{{Kinds: []int{nip47.KindResponse}, Authors: []string{wallet.String()}}}, relaypool.WithBufferSize(1<<12))
	if err != nil {
		return fmt.Errorf("bench: subscribe to responses: %w", err)
	}
	e.subs = append(e.subs, sub)
	e.wg.Add(1)
	go e.demux(sub)
	select {
	case <-sub.EOSE():
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

func (e *engine) close() {
	for _, s := range e.subs {
		s.Close()
	}
	for _, p := range e.pools {
		p.Close()
	}
	e.wg.Wait()
}

// demux hands each response to the request waiting for it (by its e tag).
func (e *engine) demux(sub *relaypool.Subscription) {
	defer e.wg.Done()
	for ev := range sub.Events() {
		id, ok := nip47.ResponseTo(ev)
		if !ok {
			continue
		}
		e.mu.Lock()
		ch := e.waiters[id]
		delete(e.waiters, id)
		e.mu.Unlock()
		if ch != nil {
			ch <- ev // buffered, one per request
		}
	}
}

// prepare picks the encryption, waits until the wallet listens to the first and last
// targets, and makes the invoices pay_invoice will pay.
func (e *engine) prepare(ctx context.Context) error {
	first, last := e.targets[0], e.targets[len(e.targets)-1]
	info, err := e.waitInfo(ctx, first)
	if err != nil && e.cfg.Encryption == "" {
		return err
	}
	if last != first {
		if _, err := e.waitInfo(ctx, last); err != nil && e.cfg.Encryption == "" {
			return err
		}
	}
	e.scheme = e.cfg.Encryption
	if e.scheme == "" {
		if e.scheme, err = nip47.ChooseEncryption(info); err != nil {
			return fmt.Errorf("bench: wallet offers %v: %w", info.Encryptions, err)
		}
	}
	if share := e.cfg.Mix.Share(nip47.MethodPayInvoice); share > 0 {
		n := e.cfg.Invoices
		if n <= 0 {
			switch {
			case e.cfg.Count > 0:
				n = int(float64(e.cfg.Count)*share*1.1) + 10
			case e.cfg.Rate > 0:
				n = int(e.cfg.Rate*(e.cfg.Duration+e.cfg.Warmup).Seconds()*share*1.1) + 10
			default:
				n = 1000
			}
		}
		if err := e.makeInvoices(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

// waitInfo polls for t's wallet info event until it appears or ReadyTimeout passes.
func (e *engine) waitInfo(ctx context.Context, t *target) (*nip47.Info, error) {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.ReadyTimeout)
	defer cancel()
	for {
		qctx, qcancel := context.WithTimeout(ctx, 5*time.Second)
		evs, _ := t.pool.QuerySync(qctx, []nostr.Filter{{
			Kinds: []int{nip47.KindInfo}, Authors: []string{t.uri.WalletPubKey.String()}, Limit: 1,
		}})
		qcancel()
		for _, ev := range evs {
			if info, err := nip47.ParseInfo(ev); err == nil && info.WalletPubKey == t.uri.WalletPubKey {
				return info, nil
			}
		}
		select {
		case <-ctx.Done():
			if err := context.Cause(ctx); errors.Is(err, context.DeadlineExceeded) {
				return nil, fmt.Errorf("%w %s on %v", ErrNoInfo, t.uri.WalletPubKey, t.uri.Relays)
			}
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// makeInvoices makes n invoices, spread over the payees, before the clock starts.
func (e *engine) makeInvoices(ctx context.Context, n int) error {
	// Each payee gets invoices in proportion to the targets that pay it.
	var order []*target
	for _, t := range e.targets {
		order = append(order, t.payee)
	}
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	for range min(max(e.cfg.Concurrency, 8), 64) {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) || ctx.Err() != nil {
					return
				}
				p := order[int(i)%len(order)]
				inv, _, err := e.makeInvoice(ctx, p)
				if err != nil {
					failed.Add(1)
					continue
				}
				p.mu.Lock()
				p.invoices = append(p.invoices, inv)
				p.mu.Unlock()
			}
		})
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		e.log.Warn("some invoices could not be made", "failed", f, "wanted", n)
		if f == int64(n) {
			return fmt.Errorf("bench: make_invoice failed for every invoice to pay")
		}
	}
	return ctx.Err()
}

// makeInvoice asks p for an invoice and returns it and its payment hash.
func (e *engine) makeInvoice(ctx context.Context, p *target) (string, string, error) {
	resp, _, err := e.call(ctx, p, nip47.MethodMakeInvoice,
		nip47.MakeInvoiceParams{Amount: e.cfg.InvoiceAmount, Description: "nwc bench"}, time.Time{})
	if err != nil {
		return "", "", err
	}
	if err := resp.Err(); err != nil {
		return "", "", err
	}
	var tx nip47.Transaction
	if err := resp.Decode(&tx); err != nil || tx.Invoice == "" {
		return "", "", fmt.Errorf("bench: make_invoice gave no invoice")
	}
	return tx.Invoice, tx.PaymentHash, nil
}

// errNoAnswer carries the outcome code of a request that got no usable answer.
type errNoAnswer struct{ code string }

func (e errNoAnswer) Error() string { return "bench: " + e.code }

// call sends one request from t and waits for its answer. The latency counts from start
// (the intended send time in open loop), or from the moment the request is handed to the
// relays when start is zero.
func (e *engine) call(ctx context.Context, t *target, method nip47.Method, params any, start time.Time) (*nip47.Response, time.Duration, error) {
	req, err := nip47.NewRequest(method, params)
	if err != nil {
		return nil, 0, err
	}
	now := time.Now()
	ev, err := e.cipher.SealRequest(t.uri.Secret, t.uri.WalletPubKey, e.scheme, req, now,
		nip47.ExpirationTag(now.Add(e.cfg.Timeout+time.Second)))
	if err != nil {
		return nil, 0, err
	}
	ch := make(chan *nostr.Event, 1)
	e.mu.Lock()
	e.waiters[ev.ID] = ch
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		delete(e.waiters, ev.ID)
		e.mu.Unlock()
	}()
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	if start.IsZero() {
		start = time.Now()
	}
	// Publish returns at the relay's OK; the answer may already be waiting by then.
	if _, err := t.pool.Publish(ctx, ev); err != nil {
		if ctx.Err() != nil && context.Cause(ctx) == context.DeadlineExceeded {
			return nil, 0, errNoAnswer{CodeTimeout}
		}
		return nil, 0, errNoAnswer{CodePublishFailed}
	}
	select {
	case resp := <-ch:
		lat := time.Since(start)
		r, _, err := e.cipher.DecryptResponse(t.uri.Secret, resp)
		if err != nil {
			return nil, lat, errNoAnswer{CodeBadResponse}
		}
		return r, lat, nil
	case <-ctx.Done():
		return nil, 0, errNoAnswer{CodeTimeout}
	}
}

// do runs one request of the mix and records it.
func (e *engine) do(ctx context.Context, rec *Recorder, t *target, method nip47.Method, start time.Time) {
	var params any
	switch method {
	case nip47.MethodMakeInvoice:
		params = nip47.MakeInvoiceParams{Amount: e.cfg.InvoiceAmount, Description: "nwc bench"}
	case nip47.MethodListTransactions:
		params = nip47.ListTransactionsParams{Limit: 10}
	case nip47.MethodPayInvoice:
		inv, ok := e.invoiceFor(ctx, t)
		if !ok {
			rec.Done(string(method), CodeNoInvoice, 0, false)
			return
		}
		params = nip47.PayInvoiceParams{Invoice: inv}
	case nip47.MethodLookupInvoice:
		hash, ok := e.lookupHash(ctx, t)
		if !ok {
			rec.Done(string(method), CodeNoInvoice, 0, false)
			return
		}
		params = nip47.LookupInvoiceParams{PaymentHash: hash}
	}
	rec.Sent()
	resp, lat, err := e.call(ctx, t, method, params, start)
	var na errNoAnswer
	switch {
	case errors.As(err, &na):
		rec.Done(string(method), na.code, lat, na.code == CodeBadResponse)
	case err != nil:
		rec.Done(string(method), CodeBadResponse, lat, false)
	case resp.Error != nil:
		rec.Done(string(method), string(resp.Error.Code), lat, true)
	default:
		rec.Done(string(method), "", lat, true)
	}
}

// invoiceFor takes an invoice made by t's payee, making one (untimed) when none is left.
func (e *engine) invoiceFor(ctx context.Context, t *target) (string, bool) {
	p := t.payee
	p.mu.Lock()
	if n := len(p.invoices); n > 0 {
		inv := p.invoices[n-1]
		p.invoices = p.invoices[:n-1]
		p.mu.Unlock()
		return inv, true
	}
	p.mu.Unlock()
	inv, _, err := e.makeInvoice(ctx, p)
	return inv, err == nil
}

// lookupHash is the payment hash of an invoice of t's, made once on first use.
func (e *engine) lookupHash(ctx context.Context, t *target) (string, bool) {
	t.mu.Lock()
	h := t.lookup
	t.mu.Unlock()
	if h != "" {
		return h, true
	}
	_, h, err := e.makeInvoice(ctx, t)
	if err != nil {
		return "", false
	}
	t.mu.Lock()
	t.lookup = h
	t.mu.Unlock()
	return h, true
}

// progress calls cfg.Progress every ProgressEvery until the returned stop is called.
func (e *engine) progress(rec *Recorder) (stop func()) {
	if e.cfg.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(e.cfg.ProgressEvery)
		defer t.Stop()
		var prev Progress
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				prev = rec.Snapshot(now, prev)
				e.cfg.Progress(prev)
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done); <-finished }) }
}

// phase runs the load for d or for count requests, records into rec, and returns when
// the last request has finished. stop (may be nil) is called once no more requests will
// be sent and all have finished.
func (e *engine) phase(ctx context.Context, rec *Recorder, d time.Duration, count int, stop func()) time.Time {
	if stop != nil {
		defer stop()
	}
	start := time.Now()
	var deadline time.Time
	if d > 0 {
		deadline = start.Add(d)
	}
	var issued atomic.Int64
	// claim reports whether one more request may be sent.
	claim := func(now time.Time) bool {
		if ctx.Err() != nil || !deadline.IsZero() && !now.Before(deadline) {
			return false
		}
		return count <= 0 || issued.Add(1) <= int64(count)
	}
	var targetNext atomic.Uint64
	pickTarget := func() *target {
		return e.targets[(targetNext.Add(1)-1)%uint64(len(e.targets))]
	}
	var wg sync.WaitGroup
	if e.cfg.Rate <= 0 {
		for w := range e.cfg.Concurrency {
			rng := rand.New(rand.NewPCG(uint64(w), uint64(start.UnixNano())))
			wg.Go(func() {
				for claim(time.Now()) {
					e.do(ctx, rec, pickTarget(), e.cfg.Mix.pick(rng), time.Time{})
				}
			})
		}
		wg.Wait()
		return time.Now()
	}
	rng := rand.New(rand.NewPCG(1, uint64(start.UnixNano())))
	interval := time.Duration(float64(time.Second) / e.cfg.Rate)
	sem := make(chan struct{}, e.cfg.Concurrency)
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for i := 0; ; i++ {
		intended := start.Add(time.Duration(i) * interval)
		if wait := time.Until(intended); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
			}
		}
		if !claim(intended) {
			break
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		method, t := e.cfg.Mix.pick(rng), pickTarget()
		wg.Go(func() {
			defer func() { <-sem }()
			e.do(ctx, rec, t, method, intended)
		})
	}
	wg.Wait()
	return time.Now()
}
