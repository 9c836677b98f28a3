package relaypool

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/nwc-go/nwc/nostr"
)

// relay is one relay URL of the pool. Its fields are guarded by Pool.mu, except url,
// cancel and done which never change.
type relay struct {
	url    string
	cancel context.CancelFunc
	done   chan struct{} // closed when runRelay returns

	conn        *conn // nil while not connected
	connecting  bool  // a connection attempt is in progress
	removed     bool
	lastErr     error
	attempts    int
	connections int
	since       time.Time
	pubs        map[nostr.EventID][]*pubTarget // publishes waiting for this relay's OK
}

// active reports whether the relay is connected or trying to connect right now: such a
// relay is worth waiting for (EOSE).
func (r *relay) active() bool { return r.conn != nil || r.connecting }

// conn is one WebSocket connection. Messages go through a queue drained by one writer
// goroutine so that no caller ever blocks on a slow relay.
type conn struct {
	ws   *websocket.Conn
	r    *relay
	done chan struct{} // closed by kill

	qmu      sync.Mutex
	queue    [][]byte
	queued   int
	dead     bool
	deathErr error
	wake     chan struct{}

	// Guarded by Pool.mu.
	challenge  string
	auths      map[nostr.PublicKey]*authState
	authIDs    map[nostr.EventID]*authState
	needsChall []authWaiter // auth requests made before the relay sent a challenge
}

func newConn(ws *websocket.Conn, r *relay) *conn {
	return &conn{
		ws: ws, r: r, done: make(chan struct{}), wake: make(chan struct{}, 1),
		auths: make(map[nostr.PublicKey]*authState), authIDs: make(map[nostr.EventID]*authState),
	}
}

// enqueue adds msg to the send queue. A queue past maxBytes means the relay does not keep
// up: the connection is killed (and later re-established) instead of growing without bound.
func (c *conn) enqueue(msg []byte, maxBytes int) bool {
	c.qmu.Lock()
	if c.dead {
		c.qmu.Unlock()
		return false
	}
	if c.queued+len(msg) > maxBytes {
		c.qmu.Unlock()
		c.kill(ErrSlowRelay)
		return false
	}
	c.queue = append(c.queue, msg)
	c.queued += len(msg)
	c.qmu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return true
}

// enqueueSub adds a REQ or CLOSE to the send queue outside the MaxQueueBytes budget: their
// size is set by the caller's subscriptions (a wallet service with 100,000 keys sends
// megabytes of filters at once on every connect), not by a relay that fails to keep up,
// and counting them would get every such connection killed as slow, again and again.
func (c *conn) enqueueSub(msg []byte) bool {
	c.qmu.Lock()
	if c.dead {
		c.qmu.Unlock()
		return false
	}
	c.queue = append(c.queue, msg)
	c.qmu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return true
}

func (c *conn) take() [][]byte {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	q := c.queue
	c.queue, c.queued = nil, 0
	return q
}

// kill marks the connection dead; the writer closes the socket, which ends the reader.
// It never blocks, so it may be called with Pool.mu held.
func (c *conn) kill(err error) {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	if !c.dead {
		c.dead, c.deathErr = true, err
		close(c.done)
	}
}

func (c *conn) err() error {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	return c.deathErr
}

// backoff returns the wait before the next attempt after failures consecutive failures:
// uniformly random in [min, min(max, min*2^(failures-1))], so never less than min (no spin).
func backoff(minB, maxB time.Duration, failures int) time.Duration {
	ceil := maxB
	if failures < 1 {
		failures = 1
	}
	if failures <= 30 {
		if c := minB << (failures - 1); c > 0 && c < maxB {
			ceil = c
		}
	}
	if ceil <= minB {
		return minB
	}
	return minB + rand.N(ceil-minB+1)
}

// runRelay connects, serves and reconnects until ctx is cancelled.
func (p *Pool) runRelay(ctx context.Context, r *relay) {
	defer p.wg.Done()
	defer close(r.done)
	failures := 0
	for {
		p.mu.Lock()
		r.connecting = true
		r.attempts++
		p.mu.Unlock()

		up, err := p.connectAndServe(ctx, r)
		if ctx.Err() != nil {
			return
		}
		if up >= stableAfter {
			failures = 0
		}
		failures++
		wait := backoff(p.opts.MinBackoff, p.opts.MaxBackoff, failures)
		p.log.Debug("relay disconnected", "relay", r.url, "err", err, "retry_in", wait)

		p.mu.Lock()
		r.connecting = false
		r.lastErr = err
		// A relay that is down no longer holds back anybody's EOSE.
		for _, s := range p.subs {
			p.checkEOSE(s)
		}
		p.mu.Unlock()

		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// connectAndServe runs one connection to its end and reports how long it was up.
func (p *Pool) connectAndServe(ctx context.Context, r *relay) (time.Duration, error) {
	dctx, cancel := context.WithTimeout(ctx, p.opts.ConnectTimeout)
	ws, _, err := websocket.Dial(dctx, r.url, nil)
	cancel()
	if err != nil {
		return 0, fmt.Errorf("relaypool: dial %s: %w", r.url, err)
	}
	ws.SetReadLimit(p.opts.MaxMessageBytes)
	c := newConn(ws, r)
	start := time.Now()

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		p.writeLoop(ctx, c)
	}()
	if p.opts.PingInterval > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.pingLoop(ctx, c)
		}()
	}
	if p.onConnected(r, c) {
		p.log.Info("relay connected", "relay", r.url)
		err = p.readLoop(ctx, c)
	} else {
		err = ErrClosed
	}
	c.kill(err)
	wg.Wait()
	// If the writer or pinger killed the connection first, its reason is more telling
	// than the reader's "use of closed connection".
	err = c.err()
	p.onDisconnected(r, c)
	return time.Since(start), err
}

func (p *Pool) writeLoop(ctx context.Context, c *conn) {
	// Closing the socket here, outside every lock, also unblocks the reader.
	defer c.ws.CloseNow()
	for {
		select {
		case <-ctx.Done():
			c.kill(ctx.Err())
			return
		case <-c.done:
			return
		case <-c.wake:
		}
		// One deadline for what is queued now, not a timer per message (the queue is
		// bounded in bytes, so a relay that cannot take it in WriteTimeout is too slow).
		msgs := c.take()
		if len(msgs) == 0 {
			continue
		}
		wctx, cancel := context.WithTimeout(ctx, p.opts.WriteTimeout)
		for _, msg := range msgs {
			if err := c.ws.Write(wctx, websocket.MessageText, msg); err != nil {
				cancel()
				c.kill(fmt.Errorf("relaypool: write: %w", err))
				return
			}
		}
		cancel()
	}
}

func (p *Pool) pingLoop(ctx context.Context, c *conn) {
	t := time.NewTicker(p.opts.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, p.opts.WriteTimeout)
		err := c.ws.Ping(pctx)
		cancel()
		if err != nil {
			c.kill(fmt.Errorf("relaypool: ping: %w", err))
			return
		}
	}
}

// keptReadBuffer is the largest read buffer a connection keeps between messages.
const keptReadBuffer = 64 << 10

func (p *Pool) readLoop(ctx context.Context, c *conn) error {
	// One buffer for every message: nothing handle keeps points into it (the decoded
	// event, ids and reasons are copies). A buffer grown by a rare big message is dropped.
	var buf bytes.Buffer
	for {
		typ, rd, err := c.ws.Reader(ctx)
		if err != nil {
			return fmt.Errorf("relaypool: read: %w", err)
		}
		if buf.Cap() > keptReadBuffer {
			buf = bytes.Buffer{}
		}
		buf.Reset()
		if _, err := buf.ReadFrom(rd); err != nil {
			return fmt.Errorf("relaypool: read: %w", err)
		}
		if typ != websocket.MessageText {
			continue
		}
		data := buf.Bytes()
		m, err := parseRelayMessage(data)
		if err != nil {
			p.log.Warn("relay sent a malformed message", "relay", c.r.url, "err", err)
			continue
		}
		p.handle(c, &m)
	}
}

// onConnected registers c as r's connection and sends every live subscription and every
// pending publish. It reports false if the relay was removed meanwhile.
func (p *Pool) onConnected(r *relay, c *conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r.removed || p.closed {
		return false
	}
	r.conn, r.connecting, r.lastErr = c, false, nil
	r.connections++
	r.since = time.Now()
	for _, s := range p.subs {
		p.sendREQ(s, r, c, false)
	}
	for _, ts := range r.pubs {
		for _, t := range ts {
			t.conn = c
			c.enqueue(t.msg, p.opts.MaxQueueBytes)
		}
	}
	return true
}

func (p *Pool) onDisconnected(r *relay, c *conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r.conn == c {
		r.conn = nil
		r.since = time.Time{}
	}
	for _, ts := range r.pubs {
		for _, t := range ts {
			if t.conn == c {
				t.conn, t.authTried = nil, false // resent on the next connection
			}
		}
	}
	for _, s := range p.subs {
		if sr := s.relays[r]; sr != nil && sr.conn == c {
			sr.conn, sr.authTried = nil, false
		}
	}
}

// handle dispatches one message from c's relay.
func (p *Pool) handle(c *conn, m *relayMessage) {
	switch m.Type {
	case "EVENT":
		p.handleEvent(c, m)
	case "EOSE":
		p.mu.Lock()
		if s, sr := p.subOn(c, m.SubID); sr != nil {
			sr.eose = true
			p.checkEOSE(s)
		}
		p.mu.Unlock()
	case "CLOSED":
		p.handleClosed(c, m.SubID, m.Message)
	case "OK":
		p.handleOK(c, m.EventID, m.OK, m.Message)
	case "AUTH":
		p.handleChallenge(c, m.Challenge)
	case "NOTICE":
		p.log.Info("relay notice", "relay", c.r.url, "notice", truncate(m.Message, 200))
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
