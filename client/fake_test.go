package client

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nwc-go/nwc/nip47"
	"github.com/nwc-go/nwc/nostr"
	"github.com/nwc-go/nwc/nostr/relaypool"
)

func dialFake(t *testing.T, uri string, opts ...Option) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, uri, opts...)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestResponseErrors: whatever error a wallet sends comes back as *nip47.Error with the
// code verbatim, including unknown codes and Alby's empty result_type.
func TestResponseErrors(t *testing.T) {
	tests := []struct {
		name     string
		resp     *nip47.Response
		wantCode nip47.ErrorCode
		wantIs   error
	}{
		{"unknown code", nip47.NewErrorResponse(nip47.MethodGetBalance, "WEIRD_CODE", "something odd"), "WEIRD_CODE", nip47.ErrOther},
		{"empty result_type", nip47.NewErrorResponse("", nip47.CodeBadRequest, "failed to decrypt"), nip47.CodeBadRequest, nip47.ErrBadRequest},
		{"no message", nip47.NewErrorResponse(nip47.MethodGetBalance, nip47.CodeInternal, ""), nip47.CodeInternal, nip47.ErrInternal},
		{"spec code", nip47.NewErrorResponse(nip47.MethodGetBalance, nip47.CodeRateLimited, "slow down"), nip47.CodeRateLimited, nip47.ErrRateLimited},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fr := newFakeRelay(t)
			w := newFakeWallet(t, fr, nip47.EncryptionNIP44)
			fr.setHandler(func(c *fakeConn, ev *nostr.Event) {
				_, scheme := w.open(ev)
				c.push(w.answer(w.sk, ev, scheme, tt.resp))
			})
			c := dialFake(t, w.uri(fr.url))
			_, err := c.GetBalance(context.Background())
			var werr *nip47.Error
			if !errors.As(err, &werr) {
				t.Fatalf("err = %#v, want *nip47.Error", err)
			}
			if werr.Code != tt.wantCode || werr.Message != tt.resp.Error.Message || !errors.Is(err, tt.wantIs) {
				t.Errorf("err = %#v", werr)
			}
		})
	}
}

// TestIgnoresForgedResponses: answers from another key, with a broken signature or for
// another request are dropped; the genuine answer that follows them is used.
func TestIgnoresForgedResponses(t *testing.T) {
	fr := newFakeRelay(t)
	w := newFakeWallet(t, fr, nip47.EncryptionNIP44)
	mallory := nostr.GenerateSecretKey()
	fr.setHandler(func(c *fakeConn, ev *nostr.Event) {
		_, scheme := w.open(ev)
		forged := result(t, nip47.MethodGetBalance, nip47.GetBalanceResult{Balance: 666})
		// 1. Signed by another key (a relay that does not filter on authors passes it on).
		c.push(w.answer(mallory, ev, scheme, forged))
		// 2. The wallet's key, but the signature does not verify.
		var bad nostr.Event
		if err := bad.UnmarshalJSON(w.answer(w.sk, ev, scheme, forged)); err != nil {
			t.Error(err)
		}
		bad.Sig[0] ^= 1
		raw, _ := bad.MarshalJSON()
		c.push(raw)
		// 3. Genuine, but for another request.
		other := *ev
		other.ID[0] ^= 1
		c.push(w.answer(w.sk, &other, scheme, forged))
		// 4. No e tag at all.
		noE, err := w.cipher.SealNotification(w.sk, ev.PubKey, scheme, &nip47.Notification{NotificationType: "x"}, time.Now())
		if err != nil {
			t.Error(err)
		}
		noE.Kind = nip47.KindResponse
		noE.Sign(w.sk)
		raw, _ = noE.MarshalJSON()
		c.push(raw)
		// 5. The real answer.
		c.push(w.answer(w.sk, ev, scheme, result(t, nip47.MethodGetBalance, nip47.GetBalanceResult{Balance: 42})))
	})
	c := dialFake(t, w.uri(fr.url))
	bal, err := c.GetBalance(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if bal.Balance != 42 {
		t.Fatalf("balance = %d: a forged answer was accepted", bal.Balance)
	}
	if st := c.pool.Stats(); st.Invalid == 0 || st.Unmatched == 0 {
		t.Errorf("pool stats %+v: the forged events did not reach the client's checks", st)
	}
}

// TestMultiPayCollection: responses are collected by d tag; unknown and repeated ids are
// ignored; an answer without d fails every element; missing elements time out.
func TestMultiPayCollection(t *testing.T) {
	items := []nip47.MultiPayInvoiceItem{{ID: "a", Invoice: "lnbcrt1a"}, {ID: "b", Invoice: "lnbcrt1b"}, {Invoice: "lnbcrt1c"}}
	ok := func(pre string) *nip47.Response {
		return result(t, nip47.MethodMultiPayInvoice, nip47.PayInvoiceResult{Preimage: pre, FeesPaid: 1})
	}
	fail := nip47.NewErrorResponse(nip47.MethodMultiPayInvoice, nip47.CodeInsufficientBalance, "poor")
	type reply struct {
		d    string // "-" = no d tag
		resp *nip47.Response
	}
	tests := []struct {
		name       string
		replies    []reply
		wantErr    error
		wantOK     []string
		wantFailed map[string]error
	}{
		{
			name: "all answered",
			replies: []reply{
				{"zzz", ok("ff")}, {"a", ok("aa")}, {"a", ok("a2")}, {"b", fail}, {"#2", ok("cc")},
			},
			wantOK:     []string{"a", "#2"},
			wantFailed: map[string]error{"b": nip47.ErrInsufficientBalance},
		},
		{
			name:       "whole request refused",
			replies:    []reply{{"-", nip47.NewErrorResponse(nip47.MethodMultiPayInvoice, nip47.CodeNotImplemented, "no multi")}},
			wantErr:    nip47.ErrNotImplemented,
			wantFailed: map[string]error{"a": nip47.ErrNotImplemented, "b": nip47.ErrNotImplemented, "#2": nip47.ErrNotImplemented},
		},
		{
			name:       "one missing",
			replies:    []reply{{"a", ok("aa")}, {"b", ok("bb")}},
			wantErr:    ErrTimeout,
			wantOK:     []string{"a", "b"},
			wantFailed: map[string]error{"#2": ErrTimeout},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fr := newFakeRelay(t)
			w := newFakeWallet(t, fr, nip47.EncryptionNIP44)
			fr.setHandler(func(c *fakeConn, ev *nostr.Event) {
				req, scheme := w.open(ev)
				var p nip47.MultiPayInvoiceParams
				if err := json.Unmarshal(req.Params, &p); err != nil || len(p.Invoices) != 3 || p.Invoices[2].ID != "#2" {
					t.Errorf("params %s: %v", req.Params, err)
				}
				for _, r := range tt.replies {
					var extra []nostr.Tag
					if r.d != "-" {
						extra = append(extra, nip47.DTag(r.d))
					}
					c.push(w.answer(w.sk, ev, scheme, r.resp, extra...))
				}
			})
			c := dialFake(t, w.uri(fr.url), WithTimeout(500*time.Millisecond))
			res, err := c.MultiPayInvoice(context.Background(), items)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if len(res.Results)+len(res.Errors) != len(items) {
				t.Errorf("result %+v does not cover every element", res)
			}
			for _, id := range tt.wantOK {
				if res.Results[id] == nil {
					t.Errorf("element %s: no result (%v)", id, res.Errors[id])
				}
			}
			if res.Results["a"] != nil && res.Results["a"].Preimage != "aa" {
				t.Errorf("element a = %+v: the repeated answer won", res.Results["a"])
			}
			for id, want := range tt.wantFailed {
				if !errors.Is(res.Errors[id], want) {
					t.Errorf("element %s: err = %v, want %v", id, res.Errors[id], want)
				}
			}
		})
	}
}

// TestRequestTags: the encryption tag follows the scheme, and WithoutEncryptionTag drops
// it for NIP-04 the way nostr-tools sends requests.
func TestRequestTags(t *testing.T) {
	tests := []struct {
		name    string
		opts    []Option
		wantTag string // "" = no encryption tag
	}{
		{"negotiated nip44", nil, "nip44_v2"},
		{"forced nip04", []Option{WithEncryption(nip47.EncryptionNIP04)}, "nip04"},
		{"nip04 untagged", []Option{WithEncryption(nip47.EncryptionNIP04), WithoutEncryptionTag()}, ""},
		{"nip44 stays tagged", []Option{WithoutEncryptionTag()}, "nip44_v2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fr := newFakeRelay(t)
			w := newFakeWallet(t, fr, nip47.EncryptionNIP44, nip47.EncryptionNIP04)
			tags := make(chan nostr.Tags, 1)
			fr.setHandler(func(c *fakeConn, ev *nostr.Event) {
				tags <- ev.Tags
				_, scheme := w.open(ev)
				c.push(w.answer(w.sk, ev, scheme, result(t, nip47.MethodGetBalance, nip47.GetBalanceResult{Balance: 1})))
			})
			c := dialFake(t, w.uri(fr.url), tt.opts...)
			if _, err := c.GetBalance(context.Background()); err != nil {
				t.Fatal(err)
			}
			got := <-tags
			if v := got.Value("encryption"); v != tt.wantTag || (tt.wantTag == "") != (got.Find("encryption") == nil) {
				t.Errorf("tags %v, want encryption %q", got, tt.wantTag)
			}
			if got.Value("p") != w.sk.Public().String() {
				t.Errorf("tags %v: no p tag for the wallet", got)
			}
		})
	}
}

// TestPublishRefused: when every relay refuses the request the call fails at once with
// ErrPublish, not after the timeout.
func TestPublishRefused(t *testing.T) {
	fr := newFakeRelay(t)
	w := newFakeWallet(t, fr, nip47.EncryptionNIP44)
	fr.mu.Lock()
	fr.rejectAll = true
	fr.mu.Unlock()
	c := dialFake(t, w.uri(fr.url), WithTimeout(time.Minute))
	start := time.Now()
	_, err := c.GetBalance(context.Background())
	if !errors.Is(err, ErrPublish) || errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrPublish", err)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("took %v", took)
	}
}

// TestReconnect: the relay drops the connection when the request arrives, before its OK;
// the pool reconnects, resubscribes and resends, and the call still gets its answer.
func TestReconnect(t *testing.T) {
	fr := newFakeRelay(t)
	w := newFakeWallet(t, fr, nip47.EncryptionNIP44)
	var requests atomic.Int32
	fr.setHandler(func(c *fakeConn, ev *nostr.Event) {
		if requests.Add(1) == 1 {
			c.ws.CloseNow()
			return
		}
		_, scheme := w.open(ev)
		c.push(w.answer(w.sk, ev, scheme, result(t, nip47.MethodGetBalance, nip47.GetBalanceResult{Balance: 7})))
	})
	pool := relaypool.New(relaypool.Options{MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	defer pool.Close()
	c := dialFake(t, w.uri(fr.url), WithPool(pool))
	bal, err := c.GetBalance(context.Background())
	if err != nil || bal.Balance != 7 {
		t.Fatalf("balance = %+v, %v", bal, err)
	}
	if n := requests.Load(); n < 2 {
		t.Errorf("the request reached the relay %d times", n)
	}
}

// TestNewestInfoWins: with several info events the newest one decides the encryption.
func TestNewestInfoWins(t *testing.T) {
	fr := newFakeRelay(t)
	w := newFakeWallet(t, fr) // NIP-04 only, now
	newer, err := nip47.InfoEvent(w.sk, []nip47.Method{nip47.MethodGetBalance}, nil,
		[]nip47.Encryption{nip47.EncryptionNIP44}, nil, time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	fr.mu.Lock()
	fr.info = append(fr.info, newer)
	fr.mu.Unlock()
	c := dialFake(t, w.uri(fr.url))
	if c.Encryption() != nip47.EncryptionNIP44 || c.Info().CreatedAt != newer.CreatedAt {
		t.Errorf("used info %+v (%s)", c.Info(), c.Encryption())
	}
}

// FuzzResponse feeds arbitrary response JSON through what a call does with an answer:
// it never panics, and a failure is either the wallet's *nip47.Error or an invalid
// response, never anything else.
func FuzzResponse(f *testing.F) {
	f.Add(`{"result_type":"get_balance","error":null,"result":{"balance":1}}`)
	f.Add(`{"result_type":"","error":{"code":"WEIRD","message":"x"}}`)
	f.Add(`{"result_type":"pay_invoice","result":{"preimage":"ab","fees_paid":"1"}}`)
	f.Add(`{"error":{"code":""}}`)
	f.Add(`{"result_type":"list_transactions","result":{"transactions":[{"type":"incoming","expires_at":null}]}}`)
	f.Fuzz(func(t *testing.T, content string) {
		var resp nip47.Response
		if err := json.Unmarshal([]byte(content), &resp); err != nil {
			return
		}
		targets := []any{&nip47.GetBalanceResult{}, &nip47.PayInvoiceResult{}, &nip47.Transaction{},
			&nip47.ListTransactionsResult{}, &nip47.GetInfoResult{}, &nip47.GetBudgetResult{}}
		for _, v := range targets {
			err := resp.Decode(v)
			var werr *nip47.Error
			if err != nil && !errors.As(err, &werr) && !errors.Is(err, nip47.ErrInvalidResponse) {
				t.Fatalf("Decode(%T) = %v", v, err)
			}
			if werr != nil && werr.Code != resp.Error.Code {
				t.Fatalf("code changed: %q -> %q", resp.Error.Code, werr.Code)
			}
		}
	})
}
