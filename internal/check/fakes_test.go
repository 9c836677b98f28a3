package check

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/nwc-go/nwc/nip47"
	"github.com/nwc-go/nwc/nostr"
	"github.com/nwc-go/nwc/nostr/relaypool"
)

// laxRelay is a bare NIP-01 relay that, unlike ours, ignores NIP-40: an expired request
// reaches the wallet, so the wallet's own handling of expiration can be observed. It keeps
// the newest replaceable event per (kind, author) and fans out everything else.
type laxRelay struct {
	URL string

	mu     sync.Mutex
	stored map[string]*nostr.Event
	subs   map[*laxConn]map[string][]nostr.Filter
}

type laxConn struct {
	ws *websocket.Conn
	mu sync.Mutex
}

func (c *laxConn) send(ctx context.Context, msg ...any) {
	b, err := json.Marshal(msg)
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ws.Write(ctx, websocket.MessageText, b)
}

func startLaxRelay(t *testing.T) *laxRelay {
	t.Helper()
	r := &laxRelay{stored: map[string]*nostr.Event{}, subs: map[*laxConn]map[string][]nostr.Filter{}}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		ws, err := websocket.Accept(w, req, nil)
		if err != nil {
			return
		}
		wg.Add(1)
		defer wg.Done()
		ws.SetReadLimit(1 << 20)
		c := &laxConn{ws: ws}
		defer func() {
			r.mu.Lock()
			delete(r.subs, c)
			r.mu.Unlock()
			ws.CloseNow()
		}()
		for {
			_, b, err := ws.Read(ctx)
			if err != nil {
				return
			}
			r.handle(ctx, c, b)
		}
	}))
	r.URL = "ws://" + strings.TrimPrefix(srv.URL, "http://")
	t.Cleanup(func() { cancel(); srv.Close(); wg.Wait() })
	return r
}

func (r *laxRelay) handle(ctx context.Context, c *laxConn, b []byte) {
	var msg []json.RawMessage
	if json.Unmarshal(b, &msg) != nil || len(msg) < 2 {
		return
	}
	var typ, id string
	json.Unmarshal(msg[0], &typ)
	switch typ {
	case "EVENT":
		var ev nostr.Event
		if err := json.Unmarshal(msg[1], &ev); err != nil || ev.Verify() != nil {
			return
		}
		type delivery struct {
			to  *laxConn
			sub string
		}
		var out []delivery
		r.mu.Lock()
		if nostr.IsReplaceable(ev.Kind) {
			k := ev.PubKey.String() + ":" + strconv.Itoa(ev.Kind)
			if old := r.stored[k]; old == nil || old.CreatedAt <= ev.CreatedAt {
				r.stored[k] = &ev
			}
		}
		for conn, subs := range r.subs {
			for sid, fs := range subs {
				for _, f := range fs {
					if f.Matches(&ev) {
						out = append(out, delivery{conn, sid})
						break
					}
				}
			}
		}
		r.mu.Unlock()
		// OK only once stored: whoever got it may query at once.
		c.send(ctx, "OK", ev.ID.String(), true, "")
		for _, d := range out {
			d.to.send(ctx, "EVENT", d.sub, &ev)
		}
	case "REQ":
		json.Unmarshal(msg[1], &id)
		var fs []nostr.Filter
		for _, raw := range msg[2:] {
			var f nostr.Filter
			if json.Unmarshal(raw, &f) == nil {
				fs = append(fs, f)
			}
		}
		var old []*nostr.Event
		r.mu.Lock()
		if r.subs[c] == nil {
			r.subs[c] = map[string][]nostr.Filter{}
		}
		r.subs[c][id] = fs
		for _, ev := range r.stored {
			for _, f := range fs {
				if f.Matches(ev) {
					old = append(old, ev)
					break
				}
			}
		}
		r.mu.Unlock()
		for _, ev := range old {
			c.send(ctx, "EVENT", id, ev)
		}
		c.send(ctx, "EOSE", id)
	case "CLOSE":
		json.Unmarshal(msg[1], &id)
		r.mu.Lock()
		delete(r.subs[c], id)
		r.mu.Unlock()
	}
}

// faults are the ways the fake wallet can break NIP-47.
type faults struct {
	wrongCodes        bool // INTERNAL for an unknown hash, OTHER for an unknown method
	wrongResultType   bool // result_type "get_balance" on every answer
	noETag            bool // answers without the e tag
	noPTag            bool // answers without the p tag
	acceptAnyScheme   bool // an unknown encryption tag is read as NIP-44 (js-sdk's service does)
	nip04AsNIP44      bool // NIP-04 requests answered in NIP-44
	answerExpired     bool // expired requests are answered
	notFoundAsSuccess bool // an unknown hash is "found" (an empty transaction)
}

// fakeWallet is a tiny NWC wallet service (get_info, get_balance, lookup_invoice) built
// from nip47 and relaypool, with switchable faults.
type fakeWallet struct {
	sk     *nostr.SecretKey
	client *nostr.SecretKey
	pool   *relaypool.Pool
	cipher *nip47.Cipher
	f      faults
}

var fakeMethods = []nip47.Method{nip47.MethodGetInfo, nip47.MethodGetBalance, nip47.MethodLookupInvoice}

// startFakeWallet publishes the info event and serves until the test ends; it returns the
// connection URI.
func startFakeWallet(t *testing.T, relayURL string, f faults) *nip47.ConnectionURI {
	t.Helper()
	w := &fakeWallet{sk: nostr.GenerateSecretKey(), client: nostr.GenerateSecretKey(), cipher: nip47.NewCipher(4), f: f,
		pool: relaypool.New(relaypool.Options{MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})}
	if err := w.pool.AddRelay(relayURL); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	sub, err := w.pool.Subscribe(ctx, []nostr.Filter{{Kinds: []int{nip47.KindRequest}, Tags: map[string][]string{"p": {w.sk.Public().String()}}}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range sub.Events() {
			w.serve(ctx, ev)
		}
	}()
	t.Cleanup(func() { cancel(); sub.Close(); <-done; w.pool.Close() })
	<-sub.EOSE()
	info, err := nip47.InfoEvent(w.sk, fakeMethods, nil, []nip47.Encryption{nip47.EncryptionNIP44, nip47.EncryptionNIP04}, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.pool.Publish(ctx, info); err != nil {
		t.Fatal(err)
	}
	return &nip47.ConnectionURI{WalletPubKey: w.sk.Public(), Relays: []string{relayURL}, Secret: w.client}
}

func (w *fakeWallet) serve(ctx context.Context, ev *nostr.Event) {
	if exp, ok := nip47.Expiration(ev); ok && time.Now().After(exp) && !w.f.answerExpired {
		return
	}
	scheme := nip47.RequestEncryption(ev)
	answerIn := scheme
	if w.f.acceptAnyScheme && !scheme.Supported() {
		ev = cloneWithTag(ev, "encryption", string(nip47.EncryptionNIP44))
		scheme, answerIn = nip47.EncryptionNIP44, nip47.EncryptionNIP44
	}
	var resp *nip47.Response
	req, _, err := w.cipher.DecryptRequest(w.sk, ev)
	switch {
	case err != nil && !scheme.Supported():
		resp, answerIn = nip47.NewErrorResponse("", nip47.CodeUnsupportedEncryption, "unsupported"), nip47.EncryptionNIP44
	case err != nil:
		return
	default:
		resp = w.answer(req)
	}
	if w.f.nip04AsNIP44 {
		answerIn = nip47.EncryptionNIP44
	}
	if w.f.wrongResultType {
		resp.ResultType = nip47.MethodGetBalance
	}
	out, err := w.cipher.SealResponse(w.sk, ev.PubKey, ev.ID, answerIn, resp, time.Now())
	if err != nil {
		return
	}
	if w.f.noETag || w.f.noPTag {
		var tags nostr.Tags
		for _, tg := range out.Tags {
			if len(tg) > 0 && (tg[0] == "e" && w.f.noETag || tg[0] == "p" && w.f.noPTag) {
				continue
			}
			tags = append(tags, tg)
		}
		out.Tags = tags
		out.Sign(w.sk)
	}
	w.pool.Publish(ctx, out)
}

func (w *fakeWallet) answer(req *nip47.Request) *nip47.Response {
	switch req.Method {
	case nip47.MethodGetInfo:
		r, _ := nip47.NewResult(req.Method, &nip47.GetInfoResult{Alias: "fake", Network: "regtest", Methods: fakeMethods})
		return r
	case nip47.MethodGetBalance:
		r, _ := nip47.NewResult(req.Method, &nip47.GetBalanceResult{Balance: 21_000})
		return r
	case nip47.MethodLookupInvoice:
		switch {
		case w.f.notFoundAsSuccess:
			r, _ := nip47.NewResult(req.Method, &nip47.Transaction{})
			return r
		case w.f.wrongCodes:
			return nip47.NewErrorResponse(req.Method, nip47.CodeInternal, "database says no")
		}
		return nip47.NewErrorResponse(req.Method, nip47.CodeNotFound, "no such invoice")
	}
	if w.f.wrongCodes {
		return nip47.NewErrorResponse(req.Method, nip47.CodeOther, "what?")
	}
	return nip47.NewErrorResponse(req.Method, nip47.CodeNotImplemented, "unknown method")
}

// cloneWithTag returns ev with the value of tag name replaced (the signature is not
// redone: the fake only reads it).
func cloneWithTag(ev *nostr.Event, name, value string) *nostr.Event {
	c := *ev
	c.Tags = nil
	for _, tg := range ev.Tags {
		if len(tg) > 0 && tg[0] == name {
			tg = nostr.Tag{name, value}
		}
		c.Tags = append(c.Tags, tg)
	}
	return &c
}
