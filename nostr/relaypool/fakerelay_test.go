package relaypool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/nwc-go/nwc/internal/leakcheck"
	"github.com/nwc-go/nwc/nostr"
)

// fakeMode selects how a fakeRelay misbehaves.
type fakeMode int

const (
	modeNormal      fakeMode = iota
	modeGarbage              // answers every message with junk, never a valid OK/EOSE
	modeHangUp               // accepts the WebSocket and closes it at once
	modeNoHandshake          // accepts TCP, never answers the HTTP upgrade
)

// fakeRelay is a small NIP-01/NIP-42 relay for tests, with knobs for faults.
type fakeRelay struct {
	t     testing.TB
	mode  fakeMode
	auth  bool                     // require NIP-42 AUTH for REQ and EVENT
	allow map[nostr.PublicKey]bool // with auth: keys allowed (nil = any authenticated key)

	okGate chan struct{} // if set, OKs to EVENTs wait until it is closed (or Stop)
	stopCh chan struct{} // closed by Stop

	connects atomic.Int64
	reqs     chan []nostr.Filter // every REQ's filters, if set (non-blocking send)

	mu     sync.Mutex
	addr   string
	ln     net.Listener
	srv    *http.Server
	conns  map[*fakeConn]struct{}
	events []*nostr.Event
	wg     sync.WaitGroup // handler goroutines
	serve  sync.WaitGroup // Serve goroutines
	nextCh int
}

type fakeConn struct {
	ws        *websocket.Conn
	challenge string
	stop      chan struct{}
	mu        sync.Mutex
	subs      map[string][]nostr.Filter
	authed    map[nostr.PublicKey]bool
}

func newFakeRelay(t testing.TB, mode fakeMode) *fakeRelay {
	t.Helper()
	f := &fakeRelay{t: t, mode: mode, conns: make(map[*fakeConn]struct{})}
	f.start("127.0.0.1:0")
	t.Cleanup(f.Stop)
	return f
}

func (f *fakeRelay) start(addr string) {
	f.t.Helper()
	var ln net.Listener
	var err error
	// Re-listening on the same port right after closing it may briefly fail.
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		f.t.Fatalf("listen %s: %v", addr, err)
	}
	srv := &http.Server{Handler: f, ReadHeaderTimeout: 5 * time.Second}
	f.mu.Lock()
	f.ln, f.srv, f.addr = ln, srv, ln.Addr().String()
	f.stopCh = make(chan struct{})
	f.mu.Unlock()
	f.serve.Add(1)
	go func() {
		defer f.serve.Done()
		if f.mode == modeNoHandshake {
			f.swallow(ln)
			return
		}
		_ = srv.Serve(ln)
	}()
}

// swallow accepts TCP connections and never answers, until the listener closes.
func (f *fakeRelay) swallow(ln net.Listener) {
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		f.connects.Add(1)
		held = append(held, c)
	}
}

func (f *fakeRelay) URL() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return "ws://" + f.addr
}

// Stop closes the listener and every connection and waits for the handlers. Idempotent.
func (f *fakeRelay) Stop() {
	f.mu.Lock()
	srv, ln := f.srv, f.ln
	f.srv, f.ln = nil, nil
	if srv != nil {
		close(f.stopCh)
	}
	conns := make([]*fakeConn, 0, len(f.conns))
	for c := range f.conns {
		conns = append(conns, c)
	}
	f.mu.Unlock()
	if srv == nil {
		return
	}
	ln.Close()
	srv.Close()
	for _, c := range conns {
		c.ws.CloseNow()
	}
	f.wg.Wait()
	f.serve.Wait()
}

// Restart listens again on the same address.
func (f *fakeRelay) Restart() {
	f.Stop()
	f.start(f.addr)
}

// Store adds events as if they had been published earlier.
func (f *fakeRelay) Store(evs ...*nostr.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, evs...)
}

// Broadcast sends ev to every matching subscription as EVENT, whatever the event is
// (tests use it to send invalid events).
func (f *fakeRelay) Broadcast(ev *nostr.Event) {
	f.mu.Lock()
	conns := make([]*fakeConn, 0, len(f.conns))
	for c := range f.conns {
		conns = append(conns, c)
	}
	f.mu.Unlock()
	for _, c := range conns {
		c.mu.Lock()
		var ids []string
		for id, fs := range c.subs {
			if matchAny(fs, ev) {
				ids = append(ids, id)
			}
		}
		c.mu.Unlock()
		for _, id := range ids {
			f.send(c, []any{"EVENT", id, ev})
		}
	}
}

// SendRaw sends data as is to every connection.
func (f *fakeRelay) SendRaw(data string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.conns {
		_ = c.ws.Write(context.Background(), websocket.MessageText, []byte(data))
	}
}

func (f *fakeRelay) allowed(pk nostr.PublicKey) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.allow == nil || f.allow[pk]
}

func matchAny(fs []nostr.Filter, ev *nostr.Event) bool {
	for i := range fs {
		if fs[i].Matches(ev) {
			return true
		}
	}
	return false
}

func (f *fakeRelay) send(c *fakeConn, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		f.t.Errorf("fake relay: marshal: %v", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = c.ws.Write(ctx, websocket.MessageText, b)
}

func (f *fakeRelay) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.connects.Add(1)
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	ws.SetReadLimit(1 << 20)
	if f.mode == modeHangUp {
		ws.CloseNow()
		return
	}
	f.mu.Lock()
	if f.srv == nil { // stopping
		f.mu.Unlock()
		ws.CloseNow()
		return
	}
	f.nextCh++
	c := &fakeConn{ws: ws, challenge: fmt.Sprintf("chal-%d", f.nextCh), subs: make(map[string][]nostr.Filter), authed: make(map[nostr.PublicKey]bool), stop: f.stopCh}
	f.conns[c] = struct{}{}
	f.wg.Add(1)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.conns, c)
		f.mu.Unlock()
		ws.CloseNow()
		f.wg.Done()
	}()
	if f.auth {
		f.send(c, []any{"AUTH", c.challenge})
	}
	for {
		_, data, err := ws.Read(context.Background())
		if err != nil {
			return
		}
		if f.mode == modeGarbage {
			f.garbage(c, data)
			continue
		}
		f.handle(c, data)
	}
}

var junk = []string{
	`not json at all`,
	`{"OK":true}`,
	`["OK"]`,
	`["OK","nothex",true,""]`,
	`["EOSE"]`,
	`["EVENT","nwc:1",{"id":"zz"}]`,
	`["NOTICE",42]`,
	`[]`,
	`["UNKNOWN","x"]`,
}

func (f *fakeRelay) garbage(c *fakeConn, data []byte) {
	for _, j := range junk {
		_ = c.ws.Write(context.Background(), websocket.MessageText, []byte(j))
	}
	// An OK that names the right id but lies about its type must not count either.
	var parts []json.RawMessage
	if json.Unmarshal(data, &parts) == nil && len(parts) == 2 {
		var ev nostr.Event
		if ev.UnmarshalJSON(parts[1]) == nil {
			_ = c.ws.Write(context.Background(), websocket.MessageText, []byte(`["OK","`+ev.ID.String()+`","true",""]`))
		}
	}
	_ = c.ws.Write(context.Background(), websocket.MessageBinary, []byte{0xff, 0x00})
}

func (f *fakeRelay) handle(c *fakeConn, data []byte) {
	var parts []json.RawMessage
	if err := json.Unmarshal(data, &parts); err != nil || len(parts) < 2 {
		f.send(c, []any{"NOTICE", "bad message"})
		return
	}
	var label string
	_ = json.Unmarshal(parts[0], &label)
	switch label {
	case "EVENT":
		var ev nostr.Event
		if err := ev.UnmarshalJSON(parts[1]); err != nil {
			f.send(c, []any{"NOTICE", "bad event"})
			return
		}
		if err := ev.Verify(); err != nil {
			f.send(c, []any{"OK", ev.ID.String(), false, "invalid: bad signature"})
			return
		}
		if f.auth {
			c.mu.Lock()
			ok := c.authed[ev.PubKey]
			c.mu.Unlock()
			if !ok {
				f.send(c, []any{"OK", ev.ID.String(), false, "auth-required: publish as the author"})
				return
			}
		}
		if !nostr.IsEphemeral(ev.Kind) {
			f.Store(&ev)
		}
		f.Broadcast(&ev)
		if f.okGate != nil {
			select {
			case <-f.okGate:
			case <-c.stop:
				return
			}
		}
		f.send(c, []any{"OK", ev.ID.String(), true, ""})
	case "REQ":
		var id string
		_ = json.Unmarshal(parts[1], &id)
		var fs []nostr.Filter
		for _, raw := range parts[2:] {
			var flt nostr.Filter
			if err := json.Unmarshal(raw, &flt); err != nil {
				f.send(c, []any{"CLOSED", id, "invalid: bad filter"})
				return
			}
			fs = append(fs, flt)
		}
		if f.reqs != nil {
			select {
			case f.reqs <- fs:
			default:
			}
		}
		if f.auth && !c.mayRead(fs) {
			f.send(c, []any{"CLOSED", id, "auth-required: read needs AUTH"})
			return
		}
		c.mu.Lock()
		c.subs[id] = fs
		c.mu.Unlock()
		f.mu.Lock()
		var match []*nostr.Event
		for _, ev := range f.events {
			if matchAny(fs, ev) {
				match = append(match, ev)
			}
		}
		f.mu.Unlock()
		for _, ev := range match {
			f.send(c, []any{"EVENT", id, ev})
		}
		f.send(c, []any{"EOSE", id})
	case "CLOSE":
		var id string
		_ = json.Unmarshal(parts[1], &id)
		c.mu.Lock()
		delete(c.subs, id)
		c.mu.Unlock()
	case "AUTH":
		var ev nostr.Event
		if err := ev.UnmarshalJSON(parts[1]); err != nil {
			return
		}
		switch {
		case ev.Verify() != nil, ev.Kind != nostr.KindClientAuth:
			f.send(c, []any{"OK", ev.ID.String(), false, "invalid: bad auth event"})
		case ev.Tags.Value("challenge") != c.challenge || ev.Tags.Value("relay") != f.URL():
			f.send(c, []any{"OK", ev.ID.String(), false, "invalid: wrong challenge or relay"})
		case !f.allowed(ev.PubKey):
			f.send(c, []any{"OK", ev.ID.String(), false, "restricted: not on the allow-list"})
		default:
			c.mu.Lock()
			c.authed[ev.PubKey] = true
			c.mu.Unlock()
			f.send(c, []any{"OK", ev.ID.String(), true, ""})
		}
	}
}

// mayRead: with auth on, every filter must name #p keys, all authenticated on c (a
// private relay that serves each key its own events, like NIP-42's DM example).
func (c *fakeConn) mayRead(fs []nostr.Filter) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, fl := range fs {
		ps := fl.Tags["p"]
		if len(ps) == 0 {
			return len(c.authed) > 0
		}
		for _, p := range ps {
			pk, err := nostr.ParsePublicKey(p)
			if err != nil || !c.authed[pk] {
				return false
			}
		}
	}
	return true
}

// authedKeys returns how many keys are authenticated on each open connection.
func (f *fakeRelay) authedKeys() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []int
	for c := range f.conns {
		c.mu.Lock()
		out = append(out, len(c.authed))
		c.mu.Unlock()
	}
	return out
}

// ---- helpers shared by the tests ----

// deadURL returns a ws:// URL on 127.0.0.1 where nothing listens.
func deadURL(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "ws://" + addr
}

// checkLeaks fails the test if goroutines started during it are still running at cleanup.
// Register it first so that it runs after every other cleanup.
func checkLeaks(t *testing.T) {
	t.Helper()
	leakcheck.Check(t, 10*time.Second)
}

// testPool returns a pool with short timeouts, closed at cleanup.
func testPool(t *testing.T, opts Options, urls ...string) *Pool {
	t.Helper()
	if opts.MinBackoff == 0 {
		opts.MinBackoff = 10 * time.Millisecond
	}
	if opts.MaxBackoff == 0 {
		opts.MaxBackoff = 100 * time.Millisecond
	}
	if opts.ConnectTimeout == 0 {
		opts.ConnectTimeout = 2 * time.Second
	}
	if opts.PublishTimeout == 0 {
		opts.PublishTimeout = 5 * time.Second
	}
	if opts.EOSETimeout == 0 {
		opts.EOSETimeout = 10 * time.Second
	}
	p := New(opts)
	t.Cleanup(func() { p.Close() })
	for _, u := range urls {
		if err := p.AddRelay(u); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// waitFor polls cond (for states that have no signal, e.g. a relay's connection state).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func waitConnected(t *testing.T, p *Pool, n int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d connected relays", n), func() bool {
		c := 0
		for _, st := range p.Relays() {
			if st.Connected {
				c++
			}
		}
		return c >= n
	})
}

var testKey = mustKey()

func mustKey() *nostr.SecretKey { return nostr.GenerateSecretKey() }

// newEvent returns a signed event.
func newEvent(t testing.TB, sk *nostr.SecretKey, kind int, createdAt int64, content string, tags ...nostr.Tag) *nostr.Event {
	t.Helper()
	ev := &nostr.Event{CreatedAt: createdAt, Kind: kind, Tags: nostr.Tags(tags), Content: content}
	if ev.Tags == nil {
		ev.Tags = nostr.Tags{}
	}
	if err := ev.Sign(sk); err != nil {
		t.Fatal(err)
	}
	return ev
}

// recv reads n events from sub (failing after a timeout) and returns their contents.
func recv(t *testing.T, sub *Subscription, n int) []string {
	t.Helper()
	var got []string
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for len(got) < n {
		select {
		case ev, ok := <-sub.Events():
			if !ok {
				t.Fatalf("subscription closed after %d of %d events: %v", len(got), n, got)
			}
			got = append(got, ev.Content)
		case <-timeout.C:
			t.Fatalf("timed out after %d of %d events: %v", len(got), n, got)
		}
	}
	return got
}

// noMore checks that sub delivers nothing more until the relays' next EOSE round trip,
// using a fresh QuerySync as a barrier (every relay handles messages in order).
func noMore(t *testing.T, p *Pool, sub *Subscription) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := p.QuerySync(ctx, []nostr.Filter{{Kinds: []int{65000}}}); err != nil && !errors.Is(err, ErrNoAnswer) {
		t.Fatalf("barrier query: %v", err)
	}
	select {
	case ev := <-sub.Events():
		t.Fatalf("unexpected extra event %q", ev.Content)
	default:
	}
}

func waitEOSE(t *testing.T, sub *Subscription) {
	t.Helper()
	select {
	case <-sub.EOSE():
	case <-time.After(10 * time.Second):
		t.Fatal("no EOSE")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
