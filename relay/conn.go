package relay

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/nwc-go/nwc/nostr"
)

const (
	writeTimeout     = 30 * time.Second
	closeWait        = 12 * time.Second // a graceful close takes at most 2x5 s in coder/websocket
	maxAuthKeys      = 64               // keys one socket may authenticate as
	authMaxSkew      = 10 * 60          // seconds
	minQueueBytes    = 4 << 20
	queueMaxMessages = 8 // queue limit = max(4 MiB, 8 × MaxMessageBytes)
)

// conn is one WebSocket client. The handler goroutine reads and handles messages in order;
// a writer goroutine owns all writes. Other goroutines only push to the queue.
type conn struct {
	r          *Relay
	ws         *websocket.Conn
	cancel     context.CancelFunc
	q          *outQueue
	queueLimit int
	challenge  string
	host       string // Host of the upgrade request, for the NIP-42 relay tag
	remote     string

	authed atomic.Pointer[[]nostr.PublicKey] // copy-on-write, read by fan-out

	// owned by the handler goroutine
	subs     map[string]*subscription
	evBucket bucket
	rqBucket bucket

	closeReq   atomic.Pointer[closeRequest]
	writerDone chan struct{}
	dropOnce   sync.Once
}

type closeRequest struct {
	code   websocket.StatusCode
	reason string
}

func (r *Relay) serveWebSocket(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		http.Error(w, "relay closed", http.StatusServiceUnavailable)
		return
	}
	r.wg.Add(1)
	r.mu.Unlock()
	defer r.wg.Done()

	// Browser apps connect from any origin; nothing here relies on cookies.
	ws, err := websocket.Accept(w, req, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		r.log.Debug("relay: websocket accept failed", "remote", req.RemoteAddr, "err", err)
		return
	}
	// Our own limit below reads at most MaxMessageBytes+1; the library must not cut first.
	ws.SetReadLimit(int64(r.cfg.MaxMessageBytes) + 16)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var challenge [16]byte
	rand.Read(challenge[:])
	c := &conn{
		r:          r,
		ws:         ws,
		cancel:     cancel,
		q:          newOutQueue(max(minQueueBytes, queueMaxMessages*r.cfg.MaxMessageBytes)),
		challenge:  hex.EncodeToString(challenge[:]),
		host:       req.Host,
		remote:     req.RemoteAddr,
		subs:       make(map[string]*subscription),
		evBucket:   newBucket(r.cfg.EventsPerSecond),
		rqBucket:   newBucket(r.cfg.EventsPerSecond),
		writerDone: make(chan struct{}),
	}
	c.queueLimit = c.q.limit
	c.authed.Store(&[]nostr.PublicKey{})

	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		ws.Close(websocket.StatusGoingAway, "relay shutting down")
		return
	}
	r.conns[c] = struct{}{}
	r.wg.Add(1)
	r.mu.Unlock()
	r.log.Debug("relay: connection opened", "remote", c.remote)

	go func() {
		defer r.wg.Done()
		c.writeLoop(ctx)
	}()
	if r.authRequired {
		c.send(ctx, jsonArray("AUTH", c.challenge))
	}
	c.readLoop(ctx)

	// Cleanup: accept nothing more, forget subscriptions, let a requested graceful close
	// flush what is queued and finish, then stop the writer.
	c.q.close()
	for _, s := range c.subs {
		r.subs.remove(s)
		s.close()
	}
	c.subs = nil
	if c.closeReq.Load() != nil {
		t := time.NewTimer(closeWait)
		select {
		case <-c.writerDone:
		case <-t.C:
		}
		t.Stop()
	}
	cancel()
	<-c.writerDone
	ws.CloseNow()
	r.mu.Lock()
	delete(r.conns, c)
	r.mu.Unlock()
	r.log.Debug("relay: connection closed", "remote", c.remote)
}

// shutdown is called by Relay.Close: ask the writer to send a going-away close frame after
// what is queued, and make sure everything stops even if the peer does not answer.
func (c *conn) shutdown() {
	c.requestClose(websocket.StatusGoingAway, "relay shutting down")
	t := time.NewTimer(closeWait)
	defer t.Stop()
	select {
	case <-c.writerDone:
	case <-t.C:
	}
	c.cancel()
}

// requestClose makes the writer close the socket gracefully once what is queued now is
// flushed; nothing more is queued after it.
func (c *conn) requestClose(code websocket.StatusCode, reason string) {
	c.closeReq.CompareAndSwap(nil, &closeRequest{code: code, reason: reason})
	c.q.close()
	signal(c.q.wake)
}

// drop disconnects a client that does not keep up; called from fan-out goroutines.
func (c *conn) drop(why string) {
	if c.q.isClosed() {
		return // already going away; nothing to report
	}
	c.dropOnce.Do(func() {
		c.r.slowDropped.Add(1)
		c.r.log.Warn("relay: dropping slow connection", "remote", c.remote, "reason", why)
		c.cancel()
	})
}

func (c *conn) writeLoop(ctx context.Context) {
	defer close(c.writerDone)
	for {
		select {
		case <-c.q.wake:
		case <-ctx.Done():
			return
		}
		for {
			items := c.q.take()
			if len(items) == 0 {
				break
			}
			wctx, cancel := context.WithTimeout(ctx, writeTimeout)
			for _, msg := range items {
				err := c.ws.Write(wctx, websocket.MessageText, msg)
				c.q.sent(len(msg))
				if err != nil {
					cancel()
					c.cancel()
					return
				}
			}
			cancel()
		}
		if req := c.closeReq.Load(); req != nil {
			c.ws.Close(req.code, req.reason)
			c.cancel()
			return
		}
	}
}

func (c *conn) readLoop(ctx context.Context) {
	limit := int64(c.r.cfg.MaxMessageBytes)
	for {
		_, rd, err := c.ws.Reader(ctx)
		if err != nil {
			return
		}
		data, err := io.ReadAll(io.LimitReader(rd, limit+1))
		if err != nil {
			return
		}
		if int64(len(data)) > limit {
			c.send(ctx, jsonArray("NOTICE", fmt.Sprintf("error: message larger than %d bytes; closing", limit)))
			c.requestClose(websocket.StatusMessageTooBig, "message too large")
			return
		}
		if c.closeReq.Load() != nil {
			return
		}
		c.handle(ctx, data)
	}
}

// send queues a reply of the connection's own reader; it waits for room (backpressure on
// a client that writes faster than it reads) rather than dropping.
func (c *conn) send(ctx context.Context, msg []byte) bool {
	return c.q.pushWait(ctx, msg, c.queueLimit)
}

func (c *conn) handle(ctx context.Context, data []byte) {
	m, err := parseClientMessage(data)
	if err != nil {
		c.answerParseError(ctx, m, err)
		return
	}
	switch m.Type {
	case msgEvent:
		c.onEvent(ctx, m.Event)
	case msgReq:
		c.onReq(ctx, m.SubID, m.Filters)
	case msgClose:
		c.onClose(m.SubID)
	case msgAuth:
		c.onAuth(ctx, m.Event)
	}
}

func (c *conn) answerParseError(ctx context.Context, m clientMessage, err error) {
	switch {
	case (m.Type == msgEvent || m.Type == msgAuth) && m.EventID != "":
		c.send(ctx, okMessage(m.EventID, false, "invalid: "+err.Error()))
	case m.Type == msgReq && m.SubID != "" && !errors.Is(err, ErrMalformedMessage):
		c.send(ctx, jsonArray("CLOSED", m.SubID, "invalid: "+err.Error()))
	default:
		c.send(ctx, jsonArray("NOTICE", "invalid: "+err.Error()))
	}
}

// authState tells whether the socket has authenticated at all and whether any of its keys
// is currently allowed.
func (c *conn) authState() (authed, allowed bool) {
	keys := *c.authed.Load()
	for _, pk := range keys {
		if c.r.allowed(pk) {
			return true, true
		}
	}
	return len(keys) > 0, false
}

// canRead reports whether live events may be delivered to this socket.
func (c *conn) canRead() bool {
	if !c.r.authRequired {
		return true
	}
	_, ok := c.authState()
	return ok
}

func (c *conn) onEvent(ctx context.Context, ev *nostr.Event) {
	r := c.r
	r.received.Add(1)
	id := ev.ID.String()
	if !c.evBucket.allow(time.Now()) {
		c.send(ctx, okMessage(id, false, fmt.Sprintf("rate-limited: at most %g events per second", r.cfg.EventsPerSecond)))
		return
	}
	if err := ev.Verify(); err != nil {
		c.send(ctx, okMessage(id, false, "invalid: "+err.Error()))
		return
	}
	if ev.Kind == nostr.KindClientAuth {
		c.send(ctx, okMessage(id, false, "invalid: kind 22242 goes in an AUTH message"))
		return
	}
	if r.authRequired {
		authed, ok := c.authState()
		switch {
		case !authed:
			c.send(ctx, okMessage(id, false, "auth-required: this relay only accepts events from authenticated keys"))
			return
		case !ok:
			c.send(ctx, okMessage(id, false, "restricted: your key is not allowed on this relay"))
			return
		case !r.allowed(ev.PubKey):
			c.send(ctx, okMessage(id, false, "restricted: the event's author is not allowed on this relay"))
			return
		}
	}
	now := time.Now().Unix()
	if exp := expirationOf(ev); exp != 0 && exp <= now {
		c.send(ctx, okMessage(id, false, "invalid: event has expired"))
		return
	}
	evJSON := ev.AppendJSON(nil)
	if !isStored(ev.Kind) {
		r.fanout(ev, evJSON)
		c.send(ctx, okMessage(id, true, ""))
		return
	}
	if max := r.cfg.MaxFuture; max > 0 && ev.CreatedAt > now+int64(max/time.Second) {
		c.send(ctx, okMessage(id, false, fmt.Sprintf("invalid: created_at is more than %s in the future", max)))
		return
	}
	// Stored events stay in memory (a wallet with 100,000 connections keeps as many info
	// events): keep their JSON without the spare capacity appending left.
	switch r.store.add(ev, bytes.Clone(evJSON)) {
	case resDuplicate:
		c.send(ctx, okMessage(id, true, "duplicate: already have this event"))
		return
	case resHaveNewer:
		c.send(ctx, okMessage(id, true, "duplicate: have a newer event for this replaceable slot"))
		return
	case resDeleted:
		c.send(ctx, okMessage(id, false, "blocked: this event was deleted by its author"))
		return
	}
	r.stored.Add(1)
	r.fanout(ev, evJSON)
	if r.disk == nil {
		c.send(ctx, okMessage(id, true, ""))
		return
	}
	// OK only once the event is on disk, without holding up this reader (and so the
	// ephemeral events behind it) while the log is synced.
	queued := r.disk.append(ctx, evJSON, func(err error) {
		msg := okMessage(id, true, "")
		if err != nil {
			msg = okMessage(id, false, "error: could not persist the event")
		}
		if !c.q.push(msg, c.queueLimit) {
			c.drop("outgoing queue full")
		}
	})
	if !queued {
		c.send(ctx, okMessage(id, false, "error: relay is shutting down"))
	}
}

// fanout delivers ev to every live subscription that matches it.
func (r *Relay) fanout(ev *nostr.Event, evJSON []byte) {
	for _, s := range r.subs.match(ev) {
		if !s.c.canRead() {
			continue
		}
		if s.deliver(ev, evJSON) {
			r.fannedOut.Add(1)
		}
	}
}

func (c *conn) onReq(ctx context.Context, subID string, filters []*filter) {
	r := c.r
	if !c.rqBucket.allow(time.Now()) {
		c.send(ctx, jsonArray("CLOSED", subID, "rate-limited: too many REQs, slow down"))
		return
	}
	if r.authRequired {
		authed, ok := c.authState()
		switch {
		case !authed:
			c.send(ctx, jsonArray("CLOSED", subID, "auth-required: this relay only serves authenticated keys"))
			return
		case !ok:
			c.send(ctx, jsonArray("CLOSED", subID, "restricted: your key is not allowed on this relay"))
			return
		}
	}
	if len(filters) > r.cfg.MaxFilters {
		c.send(ctx, jsonArray("CLOSED", subID, fmt.Sprintf("error: too many filters (max %d)", r.cfg.MaxFilters)))
		return
	}
	old, replacing := c.subs[subID]
	if !replacing && len(c.subs) >= r.cfg.MaxSubsPerConn {
		c.send(ctx, jsonArray("CLOSED", subID, fmt.Sprintf("error: too many subscriptions (max %d)", r.cfg.MaxSubsPerConn)))
		return
	}
	if replacing {
		r.subs.remove(old)
		old.close()
	}
	// Register first (live events are buffered until EOSE), then query: nothing published
	// in between is lost, nothing is sent twice and EOSE comes after every stored event.
	s := newSubscription(c, subID, filters)
	c.subs[subID] = s
	r.subs.add(s)
	results := r.store.query(filters, time.Now().Unix(), r.cfg.MaxLimit)
	var sent map[nostr.EventID]struct{}
	if len(results) > 0 {
		sent = make(map[nostr.EventID]struct{}, len(results))
	}
	for _, e := range results {
		// Half the queue at most, so live events for other subscriptions still fit.
		if !c.q.pushWait(ctx, s.eventMessage(e.json), c.queueLimit/2) {
			return
		}
		sent[e.ev.ID] = struct{}{}
	}
	c.send(ctx, jsonArray("EOSE", subID))
	s.goLive(sent)
}

func (c *conn) onClose(subID string) {
	if s, ok := c.subs[subID]; ok {
		delete(c.subs, subID)
		c.r.subs.remove(s)
		s.close()
	}
}

func (c *conn) onAuth(ctx context.Context, ev *nostr.Event) {
	id := ev.ID.String()
	if !c.evBucket.allow(time.Now()) {
		c.send(ctx, okMessage(id, false, "rate-limited: too many messages"))
		return
	}
	if err := checkAuthEvent(ev, c.challenge, c.host, time.Now().Unix()); err != nil {
		c.send(ctx, okMessage(id, false, "invalid: "+err.Error()))
		return
	}
	keys := *c.authed.Load()
	for _, pk := range keys {
		if pk == ev.PubKey {
			c.send(ctx, okMessage(id, true, ""))
			return
		}
	}
	if len(keys) >= maxAuthKeys {
		c.send(ctx, okMessage(id, false, "restricted: too many keys on one connection"))
		return
	}
	next := append(append(make([]nostr.PublicKey, 0, len(keys)+1), keys...), ev.PubKey)
	c.authed.Store(&next)
	c.send(ctx, okMessage(id, true, ""))
}

func okMessage(id string, ok bool, msg string) []byte {
	b := make([]byte, 0, 80+len(msg))
	b = append(b, `["OK","`...)
	b = append(b, id...)
	b = append(b, `",`...)
	b = strconv.AppendBool(b, ok)
	b = append(b, ',')
	q, _ := json.Marshal(msg)
	b = append(b, q...)
	return append(b, ']')
}

func jsonArray(items ...string) []byte {
	b, _ := json.Marshal(items)
	return b
}

// bucket is a token bucket (burst = 2 × rate, at least 1); rate < 0 means unlimited.
type bucket struct {
	rate, burst, tokens float64
	last                time.Time
}

func newBucket(rate float64) bucket {
	burst := max(1, 2*rate)
	return bucket{rate: rate, burst: burst, tokens: burst}
}

func (b *bucket) allow(now time.Time) bool {
	if b.rate < 0 {
		return true
	}
	if !b.last.IsZero() {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
