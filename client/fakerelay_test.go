package client

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/nwc-go/nwc/nip47"
	"github.com/nwc-go/nwc/nostr"
)

// fakeRelay is a scripted relay on 127.0.0.1: it answers info queries with the events in
// info, hands every request event (kind 23194) to onRequest, and pushes whatever the script
// publishes to every open subscription, without filtering or checking anything, so the
// tests see what the client itself accepts.
type fakeRelay struct {
	t   *testing.T
	url string

	mu        sync.Mutex
	info      []*nostr.Event
	onRequest func(c *fakeConn, ev *nostr.Event) // runs on the connection's read loop
	rejectAll bool                               // answer OK false to every EVENT
	conns     map[*fakeConn]struct{}
}

type fakeConn struct {
	fr   *fakeRelay
	ws   *websocket.Conn
	wmu  sync.Mutex
	subs []string // live subscription ids, guarded by fr.mu
}

func newFakeRelay(t *testing.T) *fakeRelay {
	t.Helper()
	fr := &fakeRelay{t: t, conns: make(map[*fakeConn]struct{})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		wg.Add(1)
		defer wg.Done()
		fr.serve(r.Context(), ws)
	})}
	go srv.Serve(ln)
	fr.url = "ws://" + ln.Addr().String()
	t.Cleanup(func() {
		srv.Close()
		fr.mu.Lock()
		for c := range fr.conns {
			c.ws.CloseNow()
		}
		fr.mu.Unlock()
		wg.Wait()
	})
	return fr
}

// setHandler sets the script run for every request event.
func (fr *fakeRelay) setHandler(h func(c *fakeConn, ev *nostr.Event)) {
	fr.mu.Lock()
	defer fr.mu.Unlock()
	fr.onRequest = h
}

func (fr *fakeRelay) serve(ctx context.Context, ws *websocket.Conn) {
	c := &fakeConn{fr: fr, ws: ws}
	fr.mu.Lock()
	fr.conns[c] = struct{}{}
	fr.mu.Unlock()
	defer func() {
		fr.mu.Lock()
		delete(fr.conns, c)
		fr.mu.Unlock()
		ws.CloseNow()
	}()
	for {
		_, data, err := ws.Read(ctx)
		if err != nil {
			return
		}
		var msg []json.RawMessage
		if json.Unmarshal(data, &msg) != nil || len(msg) < 2 {
			continue
		}
		var typ string
		json.Unmarshal(msg[0], &typ)
		switch typ {
		case "REQ":
			var id string
			json.Unmarshal(msg[1], &id)
			fr.onREQ(c, id, msg[2:])
		case "CLOSE":
			var id string
			json.Unmarshal(msg[1], &id)
			fr.mu.Lock()
			c.subs = slices.DeleteFunc(c.subs, func(s string) bool { return s == id })
			fr.mu.Unlock()
		case "EVENT":
			var ev nostr.Event
			if ev.UnmarshalJSON(msg[1]) != nil {
				continue
			}
			fr.mu.Lock()
			reject, handle := fr.rejectAll, fr.onRequest
			fr.mu.Unlock()
			// The script runs before the OK, so it can drop the connection before the
			// event counts as published.
			if !reject && ev.Kind == nip47.KindRequest && handle != nil {
				handle(c, &ev)
			}
			c.send([]any{"OK", ev.ID.String(), !reject, map[bool]string{true: "blocked: test", false: ""}[reject]})
		}
	}
}

func (fr *fakeRelay) onREQ(c *fakeConn, id string, rawFilters []json.RawMessage) {
	for _, raw := range rawFilters {
		var f nostr.Filter
		if f.UnmarshalJSON(raw) == nil && slices.Contains(f.Kinds, nip47.KindInfo) {
			fr.mu.Lock()
			info := slices.Clone(fr.info)
			fr.mu.Unlock()
			for _, ev := range info {
				c.send([]any{"EVENT", id, ev})
			}
			c.send([]any{"EOSE", id})
			return
		}
	}
	fr.mu.Lock()
	c.subs = append(c.subs, id)
	fr.mu.Unlock()
	c.send([]any{"EOSE", id})
}

func (c *fakeConn) send(msg any) {
	b, err := json.Marshal(msg)
	if err != nil {
		c.fr.t.Errorf("fake relay: %v", err)
		return
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c.ws.Write(ctx, websocket.MessageText, b) // a closed client is the test's business
}

// push sends a raw event to every live subscription of c, as a relay that does not filter.
func (c *fakeConn) push(raw json.RawMessage) {
	c.fr.mu.Lock()
	subs := slices.Clone(c.subs)
	c.fr.mu.Unlock()
	for _, id := range subs {
		c.send([]any{"EVENT", id, raw})
	}
}

// fakeWallet is a scripted wallet service key behind a fakeRelay.
type fakeWallet struct {
	t      *testing.T
	sk     *nostr.SecretKey
	cipher *nip47.Cipher
}

func newFakeWallet(t *testing.T, fr *fakeRelay, encryptions ...nip47.Encryption) *fakeWallet {
	t.Helper()
	w := &fakeWallet{t: t, sk: nostr.GenerateSecretKey(), cipher: nip47.NewCipher(4)}
	info, err := nip47.InfoEvent(w.sk, []nip47.Method{nip47.MethodGetBalance, nip47.MethodMultiPayInvoice}, nil, encryptions, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	fr.mu.Lock()
	fr.info = append(fr.info, info)
	fr.mu.Unlock()
	return w
}

func (w *fakeWallet) uri(relays ...string) string {
	u := nip47.ConnectionURI{WalletPubKey: w.sk.Public(), Relays: relays, Secret: nostr.GenerateSecretKey()}
	return u.String()
}

// open decrypts a request for the wallet.
func (w *fakeWallet) open(ev *nostr.Event) (*nip47.Request, nip47.Encryption) {
	req, scheme, err := w.cipher.OpenRequest(w.sk, ev)
	if err != nil {
		w.t.Errorf("fake wallet cannot open the request: %v", err)
	}
	return req, scheme
}

// answer builds a signed response to req, signed by signer (normally the wallet key).
func (w *fakeWallet) answer(signer *nostr.SecretKey, req *nostr.Event, scheme nip47.Encryption, resp *nip47.Response, extra ...nostr.Tag) json.RawMessage {
	ev, err := w.cipher.SealResponse(signer, req.PubKey, req.ID, scheme, resp, time.Now(), extra...)
	if err != nil {
		w.t.Fatal(err)
	}
	raw, err := ev.MarshalJSON()
	if err != nil {
		w.t.Fatal(err)
	}
	return raw
}

func result(t *testing.T, method nip47.Method, v any) *nip47.Response {
	t.Helper()
	r, err := nip47.NewResult(method, v)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
