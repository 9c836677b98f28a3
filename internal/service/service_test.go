package service_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nwc-go/nwc/internal/keyring"
	"github.com/nwc-go/nwc/internal/lightning"
	"github.com/nwc-go/nwc/internal/lightning/bolt11"
	"github.com/nwc-go/nwc/internal/lightning/sandbox"
	"github.com/nwc-go/nwc/internal/service"
	"github.com/nwc-go/nwc/internal/store/sqlite"
	"github.com/nwc-go/nwc/internal/wallet"
	"github.com/nwc-go/nwc/nip47"
	"github.com/nwc-go/nwc/nostr"
	"github.com/nwc-go/nwc/nostr/nip44"
)

// fakeRelays records what the service publishes. Requests are handed to the service
// directly with HandleRequest, so each test is synchronous and deterministic; the
// whole-system tests over real relays live in internal/nwctest and client/.
type fakeRelays struct {
	mu     sync.Mutex
	events []*nostr.Event
	added  chan struct{}
}

func (f *fakeRelays) Publish(_ context.Context, ev *nostr.Event) error {
	f.mu.Lock()
	f.events = append(f.events, ev)
	f.mu.Unlock()
	select {
	case f.added <- struct{}{}:
	default:
	}
	return nil
}

func (f *fakeRelays) Subscribe(ctx context.Context, _ []nostr.Filter) (<-chan *nostr.Event, func()) {
	return make(chan *nostr.Event), func() {}
}

// find returns the published events matching pred.
func (f *fakeRelays) find(pred func(*nostr.Event) bool) []*nostr.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*nostr.Event
	for _, ev := range f.events {
		if pred(ev) {
			out = append(out, ev)
		}
	}
	return out
}

// waitFor polls until pred matches n events or the deadline passes (notifications are
// published from the backend's event goroutine, not by HandleRequest).
func (f *fakeRelays) waitFor(t *testing.T, n int, pred func(*nostr.Event) bool) []*nostr.Event {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		if got := f.find(pred); len(got) >= n {
			return got
		}
		select {
		case <-f.added:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("timed out waiting for %d events; have %d", n, len(f.find(pred)))
		}
	}
}

type env struct {
	t       testing.TB
	ctx     context.Context
	svc     *service.Service
	store   *sqlite.Store
	keys    *keyring.Keyring
	backend *sandbox.Sandbox
	other   *sandbox.Sandbox // another node on the same in-process network
	relays  *fakeRelays
	cipher  *nip47.Cipher
	now     time.Time
	dir     string // holds nwc.db
	stopRun func() // cancels Run and waits for it to return (also done at cleanup)
}

func newEnv(t testing.TB, tweak func(*service.Config)) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "nwc.db"))
	if err != nil {
		t.Fatal(err)
	}
	net := sandbox.NewNet()
	sb, err := sandbox.Open(ctx, sandbox.Config{Path: filepath.Join(dir, "sb.db"), InitialBalance: 10_000_000_000, Net: net})
	if err != nil {
		t.Fatal(err)
	}
	other, err := sandbox.Open(ctx, sandbox.Config{InitialBalance: 10_000_000_000, Net: net, Alias: "other"})
	if err != nil {
		t.Fatal(err)
	}
	var master [32]byte
	rand.Read(master[:])
	e := &env{t: t, ctx: ctx, store: st, keys: keyring.New(master), backend: sb, other: other,
		relays: &fakeRelays{added: make(chan struct{}, 1)}, cipher: nip47.NewCipher(100), dir: dir}
	cfg := service.Config{Keys: e.keys, Store: st, Backend: sb, Relays: e.relays, RatePerSecond: -1}
	if tweak != nil {
		tweak(&cfg)
	}
	if e.svc, err = service.New(cfg); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); e.svc.Run(ctx) }()
	e.stopRun = func() { cancel(); <-done }
	t.Cleanup(func() {
		e.stopRun()
		other.Close()
		sb.Close()
		st.Close()
	})
	return e
}

// app is one connection seen from the app's side.
type app struct {
	conn   *wallet.Connection
	secret *nostr.SecretKey
}

func (e *env) connect(c wallet.Connection) *app {
	e.t.Helper()
	sk := nostr.GenerateSecretKey()
	c.ClientPubKey = sk.Public()
	if c.Name == "" {
		c.Name = "test"
	}
	if c.Scopes == nil {
		c.Scopes = []wallet.Scope{wallet.ScopePayInvoice, wallet.ScopeMakeInvoice, wallet.ScopeLookupInvoice,
			wallet.ScopeListTransactions, wallet.ScopeGetBalance, wallet.ScopeGetInfo, wallet.ScopeSignMessage, wallet.ScopeNotifications}
	}
	err := e.store.CreateConnection(e.ctx, &c, func(i uint32) (nostr.PublicKey, error) { return e.keys.Derive(i).Public(), nil })
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.svc.Reload(e.ctx); err != nil {
		e.t.Fatal(err)
	}
	return &app{conn: &c, secret: sk}
}

// request builds a signed request event.
func (e *env) request(a *app, scheme nip47.Encryption, method nip47.Method, params any, extra ...nostr.Tag) *nostr.Event {
	e.t.Helper()
	req, err := nip47.NewRequest(method, params)
	if err != nil {
		e.t.Fatal(err)
	}
	ev, err := e.cipher.SealRequest(a.secret, a.conn.ServicePubKey, scheme, req, time.Now(), extra...)
	if err != nil {
		e.t.Fatal(err)
	}
	return ev
}

// responses returns the decrypted responses to request id.
func (e *env) responses(a *app, id nostr.EventID) []*nip47.Response {
	e.t.Helper()
	evs := e.relays.find(func(ev *nostr.Event) bool {
		to, ok := nip47.ResponseTo(ev)
		return ev.Kind == nip47.KindResponse && ok && to == id
	})
	var out []*nip47.Response
	for _, ev := range evs {
		if ev.PubKey != a.conn.ServicePubKey {
			e.t.Fatalf("response signed by %s, want the connection's service key", ev.PubKey)
		}
		resp, _, err := e.cipher.OpenResponse(a.secret, ev)
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, resp)
	}
	return out
}

// call sends one request and returns its single response.
func (e *env) call(a *app, scheme nip47.Encryption, method nip47.Method, params any) *nip47.Response {
	e.t.Helper()
	ev := e.request(a, scheme, method, params)
	e.svc.HandleRequest(e.ctx, ev)
	got := e.responses(a, ev.ID)
	if len(got) != 1 {
		e.t.Fatalf("%s: got %d responses, want 1", method, len(got))
	}
	if got[0].ResultType != method {
		e.t.Fatalf("result_type %q, want %q", got[0].ResultType, method)
	}
	return got[0]
}

func (e *env) ok(a *app, method nip47.Method, params, result any) {
	e.t.Helper()
	resp := e.call(a, nip47.EncryptionNIP44, method, params)
	if resp.Error != nil {
		e.t.Fatalf("%s: unexpected error %s: %s", method, resp.Error.Code, resp.Error.Message)
	}
	if result != nil {
		if err := json.Unmarshal(resp.Result, result); err != nil {
			e.t.Fatalf("%s result %s: %v", method, resp.Result, err)
		}
	}
}

func (e *env) fails(a *app, method nip47.Method, params any, code nip47.ErrorCode) *nip47.Error {
	e.t.Helper()
	resp := e.call(a, nip47.EncryptionNIP44, method, params)
	if resp.Error == nil || resp.Error.Code != code {
		e.t.Fatalf("%s: got error %+v result %s, want code %s", method, resp.Error, resp.Result, code)
	}
	if resp.Error.Message == "" {
		e.t.Fatalf("%s: empty error message", method)
	}
	return resp.Error
}

func (e *env) invoice(a *app, amount int64) *nip47.Transaction {
	e.t.Helper()
	var tx nip47.Transaction
	e.ok(a, nip47.MethodMakeInvoice, nip47.MakeInvoiceParams{Amount: amount, Description: "test"}, &tx)
	return &tx
}

func (e *env) externalInvoice(amount int64) string {
	e.t.Helper()
	inv, err := e.other.MakeInvoice(e.ctx, lightning.InvoiceParams{Amount: amount, Description: "external"})
	if err != nil {
		e.t.Fatal(err)
	}
	return inv.Bolt11
}

func TestEveryMethodBothEncryptions(t *testing.T) {
	for _, scheme := range []nip47.Encryption{nip47.EncryptionNIP44, nip47.EncryptionNIP04} {
		t.Run(string(scheme), func(t *testing.T) {
			e := newEnv(t, nil)
			a := e.connect(wallet.Connection{Budget: wallet.Budget{Limit: 100_000_000, Renewal: wallet.RenewalMonthly}})
			b := e.connect(wallet.Connection{})
			call := func(a *app, m nip47.Method, params, out any) {
				t.Helper()
				resp := e.call(a, scheme, m, params)
				if resp.Error != nil {
					t.Fatalf("%s: %s %s", m, resp.Error.Code, resp.Error.Message)
				}
				if out != nil {
					if err := json.Unmarshal(resp.Result, out); err != nil {
						t.Fatal(err)
					}
				}
			}
			var info nip47.GetInfoResult
			call(a, nip47.MethodGetInfo, nil, &info)
			if info.Network != "regtest" || info.Pubkey == "" || len(info.Methods) == 0 {
				t.Fatalf("get_info: %+v", info)
			}
			var bal nip47.GetBalanceResult
			call(a, nip47.MethodGetBalance, nil, &bal)
			if bal.Balance != 10_000_000_000 {
				t.Fatalf("balance %d", bal.Balance)
			}
			var inv nip47.Transaction
			call(b, nip47.MethodMakeInvoice, nip47.MakeInvoiceParams{Amount: 21_000, Description: "coffee", Expiry: 600}, &inv)
			if inv.Invoice == "" || inv.Amount != 21_000 || inv.State != nip47.StatePending || inv.ExpiresAt == nil {
				t.Fatalf("make_invoice: %+v", inv)
			}
			var paid nip47.PayInvoiceResult
			call(a, nip47.MethodPayInvoice, nip47.PayInvoiceParams{Invoice: inv.Invoice}, &paid)
			pre, _ := hex.DecodeString(paid.Preimage)
			if h := sha256.Sum256(pre); hex.EncodeToString(h[:]) != inv.PaymentHash {
				t.Fatalf("preimage %s does not hash to %s", paid.Preimage, inv.PaymentHash)
			}
			var looked nip47.Transaction
			call(b, nip47.MethodLookupInvoice, nip47.LookupInvoiceParams{PaymentHash: inv.PaymentHash}, &looked)
			if looked.State != nip47.StateSettled || looked.Preimage != paid.Preimage || looked.SettledAt == nil {
				t.Fatalf("lookup after payment: %+v", looked)
			}
			if looked.Type != nip47.TransactionIncoming {
				t.Fatalf("the invoice's maker looked up %s, want its incoming row", looked.Type)
			}
			call(b, nip47.MethodLookupInvoice, nip47.LookupInvoiceParams{Invoice: inv.Invoice}, &looked)
			if looked.PaymentHash != inv.PaymentHash {
				t.Fatalf("lookup by invoice: %+v", looked)
			}
			call(a, nip47.MethodLookupInvoice, nip47.LookupInvoiceParams{PaymentHash: inv.PaymentHash}, &looked)
			if looked.Type != nip47.TransactionOutgoing || looked.Preimage != paid.Preimage {
				t.Fatalf("the payer looked up %+v, want its outgoing row", looked)
			}
			var list nip47.ListTransactionsResult
			call(a, nip47.MethodListTransactions, nip47.ListTransactionsParams{}, &list)
			if len(list.Transactions) != 2 {
				t.Fatalf("list_transactions: %d rows, want the settled incoming and outgoing", len(list.Transactions))
			}
			var budget nip47.GetBudgetResult
			call(a, nip47.MethodGetBudget, nil, &budget)
			if budget.TotalBudget != 100_000_000 || budget.UsedBudget != 21_000 || budget.RenewsAt == nil || budget.RenewalPeriod != "monthly" {
				t.Fatalf("get_budget: %+v", budget)
			}
			var signed nip47.SignMessageResult
			call(a, nip47.MethodSignMessage, nip47.SignMessageParams{Message: "hello"}, &signed)
			if signed.Message != "hello" || signed.Signature == "" {
				t.Fatalf("sign_message: %+v", signed)
			}
			var ext nip47.PayInvoiceResult
			call(a, nip47.MethodPayInvoice, nip47.PayInvoiceParams{Invoice: e.externalInvoice(50_000)}, &ext)
			if ext.Preimage == "" || ext.FeesPaid <= 0 {
				t.Fatalf("external payment: %+v", ext)
			}
			otherInfo, _ := e.other.Info(e.ctx)
			var ks nip47.PayInvoiceResult
			call(a, nip47.MethodPayKeysend, nip47.PayKeysendParams{Amount: 5_000, Pubkey: otherInfo.PubKey,
				TLVRecords: []nip47.TLVRecord{{Type: 7629169, Value: "0102"}}}, &ks)
			if ks.Preimage == "" {
				t.Fatalf("keysend: %+v", ks)
			}
		})
	}
}

func TestNotificationsBothKinds(t *testing.T) {
	e := newEnv(t, nil)
	payer := e.connect(wallet.Connection{})
	payee := e.connect(wallet.Connection{Isolated: true})
	inv := e.invoice(payee, 30_000)
	e.ok(payer, nip47.MethodPayInvoice, nip47.PayInvoiceParams{Invoice: inv.Invoice}, nil)

	for _, kind := range []int{nip47.KindNotification, nip47.KindNotificationNIP04} {
		got := e.relays.waitFor(t, 1, func(ev *nostr.Event) bool {
			to, _ := nip47.Recipient(ev)
			return ev.Kind == kind && to == payee.conn.ClientPubKey
		})
		n, _, err := e.cipher.OpenNotification(payee.secret, got[0])
		if err != nil {
			t.Fatal(err)
		}
		if n.NotificationType != nip47.NotificationPaymentReceived || n.Notification.PaymentHash != inv.PaymentHash || n.Notification.Amount != 30_000 {
			t.Fatalf("kind %d: %+v", kind, n)
		}
	}
	// The payer (not isolated) hears of its own payment and of the wallet's incoming one.
	sent := e.relays.waitFor(t, 1, func(ev *nostr.Event) bool {
		to, _ := nip47.Recipient(ev)
		if ev.Kind != nip47.KindNotification || to != payer.conn.ClientPubKey {
			return false
		}
		n, _, err := e.cipher.OpenNotification(payer.secret, ev)
		return err == nil && n.NotificationType == nip47.NotificationPaymentSent
	})
	if len(sent) != 1 {
		t.Fatalf("payer got %d payment_sent notifications, want 1", len(sent))
	}
	var bal nip47.GetBalanceResult
	e.ok(payee, nip47.MethodGetBalance, nil, &bal)
	if bal.Balance != 30_000 {
		t.Fatalf("isolated balance %d, want 30000", bal.Balance)
	}
}

func TestErrorCodes(t *testing.T) {
	e := newEnv(t, func(c *service.Config) { c.RatePerSecond, c.RateBurst = 0.001, 3 })
	full := e.connect(wallet.Connection{})
	readOnly := e.connect(wallet.Connection{Scopes: []wallet.Scope{wallet.ScopeGetBalance}})
	expired := e.connect(wallet.Connection{ExpiresAt: time.Now().Add(-time.Minute)})
	small := e.connect(wallet.Connection{Budget: wallet.Budget{Limit: 20_000, Renewal: wallet.RenewalDaily}})
	isolated := e.connect(wallet.Connection{Isolated: true})

	e.fails(readOnly, nip47.MethodPayInvoice, nip47.PayInvoiceParams{Invoice: e.externalInvoice(1000)}, nip47.CodeRestricted)
	e.fails(expired, nip47.MethodGetBalance, nil, nip47.CodeExpired)
	e.fails(small, nip47.MethodPayInvoice, nip47.PayInvoiceParams{Invoice: e.externalInvoice(15_000)}, nip47.CodeQuotaExceeded)
	e.fails(isolated, nip47.MethodPayInvoice, nip47.PayInvoiceParams{Invoice: e.externalInvoice(1_000)}, nip47.CodeInsufficientBalance)
	e.fails(full, nip47.MethodLookupInvoice, nip47.LookupInvoiceParams{PaymentHash: hex.EncodeToString(make([]byte, 32))}, nip47.CodeNotFound)
	// The rate limit is a burst of 3 and then almost nothing: the fourth request is refused.
	limited := e.connect(wallet.Connection{})
	for i := 0; i < 3; i++ {
		e.ok(limited, nip47.MethodGetBalance, nil, nil)
	}
	e.fails(limited, nip47.MethodGetBalance, nil, nip47.CodeRateLimited)

	f := e.connect(wallet.Connection{})
	e.fails(f, nip47.MethodPayInvoice, nip47.PayInvoiceParams{Invoice: "lnbcrt1garbage"}, nip47.CodeBadRequest)
	e.fails(f, "no_such_method", nil, nip47.CodeNotImplemented)
	huge := json.RawMessage(fmt.Sprintf(`{"comment":%q}`, strings.Repeat("x", 5000)))
	// Metadata over 4096 bytes MUST be dropped and the request served (NIP-47 §4.13).
	var withHuge nip47.Transaction
	e.ok(f, nip47.MethodMakeInvoice, nip47.MakeInvoiceParams{Amount: 1000, Metadata: huge}, &withHuge)
	if withHuge.Metadata != nil || withHuge.Invoice == "" {
		t.Fatalf("huge metadata kept or invoice missing: %+v", withHuge)
	}

	// Wrong JSON types are a BAD_REQUEST, and a refused request leaves no row behind.
	w := e.connect(wallet.Connection{Isolated: true})
	e.fails(w, nip47.MethodMakeInvoice, json.RawMessage(`{"amount":"ten sats"}`), nip47.CodeBadRequest)
	e.fails(w, nip47.MethodPayInvoice, json.RawMessage(`{"invoice":42}`), nip47.CodeBadRequest)
	e.fails(w, nip47.MethodPayInvoice, nip47.PayInvoiceParams{Invoice: e.externalInvoice(1_000)}, nip47.CodeInsufficientBalance)
	rows, total, err := e.store.ListTransactions(e.ctx, wallet.TxQuery{ConnectionID: w.conn.ID, Unpaid: true})
	if err != nil || total != 0 || len(rows) != 0 {
		t.Fatalf("refused requests left %d rows (%v)", total, err)
	}

	g := e.connect(wallet.Connection{})
	inv := e.externalInvoice(2_000)
	e.ok(g, nip47.MethodPayInvoice, nip47.PayInvoiceParams{Invoice: inv}, nil)
	e.fails(g, nip47.MethodPayInvoice, nip47.PayInvoiceParams{Invoice: inv}, nip47.CodeOther)
	strange := e.strangerInvoice(3_000)
	if err := e.backend.SetOutcome(e.ctx, strange.PaymentHash, sandbox.OutcomeFail); err != nil {
		t.Fatal(err)
	}
	e.fails(g, nip47.MethodPayInvoice, nip47.PayInvoiceParams{Invoice: strange.Bolt11}, nip47.CodePaymentFailed)

	// Errors that happen before the method is known are answered in NIP-44 with an empty
	// result_type, as Alby Hub does.
	h := e.connect(wallet.Connection{})
	ev := e.request(h, nip47.EncryptionNIP44, nip47.MethodGetBalance, nil)
	ev.Tags = nostr.Tags{{"p", h.conn.ServicePubKey.String()}, {"encryption", "nip99"}}
	ev.Sign(h.secret)
	e.svc.HandleRequest(e.ctx, ev)
	got := e.responses(h, ev.ID)
	if len(got) != 1 || got[0].Error == nil || got[0].Error.Code != nip47.CodeUnsupportedEncryption || got[0].ResultType != "" {
		t.Fatalf("unsupported encryption: %+v", got)
	}
	ev = e.request(h, nip47.EncryptionNIP44, nip47.MethodGetBalance, nil)
	ev.Content = "AgAAAA" + ev.Content[6:]
	ev.Sign(h.secret)
	e.svc.HandleRequest(e.ctx, ev)
	got = e.responses(h, ev.ID)
	if len(got) != 1 || got[0].Error == nil || got[0].Error.Code != nip47.CodeBadRequest {
		t.Fatalf("undecryptable request: %+v", got)
	}
}

// strangerInvoice is an invoice of a node the wallet has no channel to: its payment
// follows the sandbox script.
func (e *env) strangerInvoice(amount int64) lightning.Invoice {
	e.t.Helper()
	sb, err := sandbox.Open(e.ctx, sandbox.Config{Alias: "stranger"})
	if err != nil {
		e.t.Fatal(err)
	}
	defer sb.Close()
	inv, err := sb.MakeInvoice(e.ctx, lightning.InvoiceParams{Amount: amount, Description: "stranger"})
	if err != nil {
		e.t.Fatal(err)
	}
	return inv
}

func TestSilence(t *testing.T) {
	e := newEnv(t, nil)
	a := e.connect(wallet.Connection{})
	stranger := &app{conn: a.conn, secret: nostr.GenerateSecretKey()} // right p tag, unknown author
	cases := map[string]*nostr.Event{
		"unknown app key": e.request(stranger, nip47.EncryptionNIP44, nip47.MethodGetBalance, nil),
		"expired request": e.request(a, nip47.EncryptionNIP44, nip47.MethodGetBalance, nil, nip47.ExpirationTag(time.Now().Add(-time.Second))),
	}
	wrongP := e.request(a, nip47.EncryptionNIP44, nip47.MethodGetBalance, nil)
	wrongP.Tags = nostr.Tags{{"p", nostr.GenerateSecretKey().Public().String()}, {"encryption", "nip44_v2"}}
	wrongP.Sign(a.secret)
	cases["wrong p tag"] = wrongP
	stale, _ := nip47.NewRequest(nip47.MethodPayInvoice, nip47.PayInvoiceParams{Invoice: e.externalInvoice(1000)})
	staleEv, err := e.cipher.SealRequest(a.secret, a.conn.ServicePubKey, nip47.EncryptionNIP44, stale, time.Now().Add(-7*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	cases["pay request older than 6h"] = staleEv
	notJSON := e.request(a, nip47.EncryptionNIP44, nip47.MethodGetBalance, nil)
	key, _ := nip44.ConversationKey(a.secret, a.conn.ServicePubKey)
	notJSON.Content, _ = nip44.Encrypt("this is not json", key)
	notJSON.Sign(a.secret)
	cases["content is not JSON"] = notJSON
	for name, ev := range cases {
		e.svc.HandleRequest(e.ctx, ev)
		if got := e.relays.find(func(x *nostr.Event) bool { to, _ := nip47.ResponseTo(x); return to == ev.ID }); len(got) != 0 {
			t.Errorf("%s: got %d responses, want silence", name, len(got))
		}
	}
	// A revoked connection is silent at once, without waiting for a refresh.
	if err := e.store.RevokeConnection(e.ctx, a.conn.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	ev := e.request(a, nip47.EncryptionNIP44, nip47.MethodGetBalance, nil)
	e.svc.HandleRequest(e.ctx, ev)
	if got := e.responses(a, ev.ID); len(got) != 0 {
		t.Fatalf("revoked connection answered %d times", len(got))
	}
	// A payment too (recorded by its reservation, not BeginRequest): no answer, no spend.
	before, _ := e.backend.Balance(e.ctx)
	pay := e.request(a, nip47.EncryptionNIP44, nip47.MethodPayInvoice, nip47.PayInvoiceParams{Invoice: e.externalInvoice(1_000)})
	e.svc.HandleRequest(e.ctx, pay)
	if got := e.responses(a, pay.ID); len(got) != 0 {
		t.Fatalf("revoked connection answered a payment %d times", len(got))
	}
	if after, _ := e.backend.Balance(e.ctx); after != before {
		t.Fatalf("a revoked connection's payment moved the balance from %d to %d", before, after)
	}
}

func TestDuplicateDeliveryPaysOnce(t *testing.T) {
	e := newEnv(t, nil)
	a := e.connect(wallet.Connection{})
	before, _ := e.backend.Balance(e.ctx)
	ev := e.request(a, nip47.EncryptionNIP44, nip47.MethodPayInvoice, nip47.PayInvoiceParams{Invoice: e.externalInvoice(10_000)})
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ { // three relays deliver it at once
		wg.Add(1)
		go func() { defer wg.Done(); e.svc.HandleRequest(e.ctx, ev) }()
	}
	wg.Wait()
	e.svc.HandleRequest(e.ctx, ev) // and once more later
	if got := e.responses(a, ev.ID); len(got) != 1 || got[0].Error != nil {
		t.Fatalf("got %d responses (%+v), want one success", len(got), got)
	}
	after, _ := e.backend.Balance(e.ctx)
	if spent := before - after; spent < 10_000 || spent > 10_000+int64(wallet.FeeReserve(10_000)) {
		t.Fatalf("node balance moved by %d, want one payment of 10000 plus fee", spent)
	}
}

func TestConcurrentPaymentsRespectBudget(t *testing.T) {
	e := newEnv(t, nil)
	// Each payment is 1000 sat with a 10 sat reserve; the budget allows exactly 37 of them.
	const amount, n, allowed = 1_000_000, 100, 37
	limit := wallet.MSat(allowed*(amount+10_000) + 5_000)
	a := e.connect(wallet.Connection{Budget: wallet.Budget{Limit: limit, Renewal: wallet.RenewalNever}})
	evs := make([]*nostr.Event, n)
	for i := range evs {
		evs[i] = e.request(a, nip47.EncryptionNIP44, nip47.MethodPayInvoice, nip47.PayInvoiceParams{Invoice: e.externalInvoice(amount)})
	}
	var wg sync.WaitGroup
	for _, ev := range evs {
		wg.Add(1)
		go func() { defer wg.Done(); e.svc.HandleRequest(e.ctx, ev) }()
	}
	wg.Wait()
	okCount, quota := 0, 0
	for _, ev := range evs {
		got := e.responses(a, ev.ID)
		if len(got) != 1 {
			t.Fatalf("%d responses to one request", len(got))
		}
		switch {
		case got[0].Error == nil:
			okCount++
		case got[0].Error.Code == nip47.CodeQuotaExceeded:
			quota++
		default:
			t.Fatalf("unexpected error %+v", got[0].Error)
		}
	}
	used, err := e.store.BudgetUsed(e.ctx, a.conn.ID, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if okCount != allowed || quota != n-allowed || used > limit {
		t.Fatalf("%d succeeded, %d refused, used %d of %d; want %d succeeded", okCount, quota, used, limit, allowed)
	}
}

func TestMultiPayInvoiceAnswersPerItem(t *testing.T) {
	e := newEnv(t, nil)
	a := e.connect(wallet.Connection{})
	inv2 := e.externalInvoice(2_000)
	ev := e.request(a, nip47.EncryptionNIP44, nip47.MethodMultiPayInvoice, nip47.MultiPayInvoiceParams{Invoices: []nip47.MultiPayInvoiceItem{
		{ID: "first", Invoice: e.externalInvoice(1_000)}, {Invoice: inv2}, {ID: "bad", Invoice: "lnbcrt1nope"},
	}})
	e.svc.HandleRequest(e.ctx, ev)
	evs := e.relays.find(func(x *nostr.Event) bool { to, _ := nip47.ResponseTo(x); return to == ev.ID })
	if len(evs) != 3 {
		t.Fatalf("%d responses, want 3", len(evs))
	}
	byD := map[string]*nip47.Response{}
	for _, x := range evs {
		d, _ := nip47.ItemID(x)
		resp, _, err := e.cipher.OpenResponse(a.secret, x)
		if err != nil {
			t.Fatal(err)
		}
		byD[d] = resp
	}
	decoded, err := bolt11.Decode(inv2)
	if err != nil {
		t.Fatal(err)
	}
	hash2 := hex.EncodeToString(decoded.PaymentHash[:])
	if r := byD["first"]; r == nil || r.Error != nil || r.ResultType != nip47.MethodMultiPayInvoice {
		t.Fatalf("first: %+v", r)
	}
	if r := byD[hash2]; r == nil || r.Error != nil {
		t.Fatalf("item without id not answered under its payment hash: %+v", byD)
	}
	if r := byD["bad"]; r == nil || r.Error == nil || r.Error.Code != nip47.CodeBadRequest {
		t.Fatalf("bad: %+v", r)
	}
}

func TestHoldInvoiceFlow(t *testing.T) {
	e := newEnv(t, nil)
	merchant := e.connect(wallet.Connection{})
	preimage := make([]byte, 32)
	rand.Read(preimage)
	hash := sha256.Sum256(preimage)
	var hold nip47.Transaction
	e.ok(merchant, nip47.MethodMakeHoldInvoice, nip47.MakeHoldInvoiceParams{Amount: 40_000, PaymentHash: hex.EncodeToString(hash[:])}, &hold)
	payDone := make(chan error, 1)
	go func() { payDone <- e.backend.PayFromOutside(e.ctx, hold.Invoice) }()
	acc := e.relays.waitFor(t, 1, func(ev *nostr.Event) bool {
		to, _ := nip47.Recipient(ev)
		if ev.Kind != nip47.KindNotification || to != merchant.conn.ClientPubKey {
			return false
		}
		n, _, err := e.cipher.OpenNotification(merchant.secret, ev)
		return err == nil && n.NotificationType == nip47.NotificationHoldInvoiceAccepted
	})
	n, _, _ := e.cipher.OpenNotification(merchant.secret, acc[0])
	if n.Notification.State != nip47.StateAccepted || n.Notification.SettleDeadline == nil {
		t.Fatalf("hold_invoice_accepted payload: %+v", n.Notification)
	}
	e.ok(merchant, nip47.MethodSettleHoldInvoice, nip47.SettleHoldInvoiceParams{Preimage: hex.EncodeToString(preimage)}, nil)
	if err := <-payDone; err != nil {
		t.Fatalf("payer: %v", err)
	}
	var tx nip47.Transaction
	e.ok(merchant, nip47.MethodLookupInvoice, nip47.LookupInvoiceParams{PaymentHash: hold.PaymentHash}, &tx)
	if tx.State != nip47.StateSettled {
		t.Fatalf("after settle: %+v", tx)
	}
	// Cancel path.
	hash2 := sha256.Sum256([]byte("another preimage of 32 bytes...!"))
	e.ok(merchant, nip47.MethodMakeHoldInvoice, nip47.MakeHoldInvoiceParams{Amount: 1_000, PaymentHash: hex.EncodeToString(hash2[:])}, &hold)
	e.ok(merchant, nip47.MethodCancelHoldInvoice, nip47.CancelHoldInvoiceParams{PaymentHash: hold.PaymentHash}, nil)
	e.fails(merchant, nip47.MethodSettleHoldInvoice, nip47.SettleHoldInvoiceParams{Preimage: hex.EncodeToString([]byte("another preimage of 32 bytes...!"))}, nip47.CodeOther)
}

func TestLastUsedIsRecorded(t *testing.T) {
	e := newEnv(t, nil)
	a := e.connect(wallet.Connection{})
	before := time.Now().Add(-time.Second)
	e.ok(a, nip47.MethodGetBalance, nil, nil)
	c, err := e.store.ConnectionByID(e.ctx, a.conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.LastUsedAt.Before(before) {
		t.Fatalf("last used %v, want the time of the request", c.LastUsedAt)
	}
}
