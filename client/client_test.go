package client_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nwc-go/nwc/client"
	"github.com/nwc-go/nwc/internal/server"
	"github.com/nwc-go/nwc/internal/server/servertest"
	"github.com/nwc-go/nwc/nip47"
	"github.com/nwc-go/nwc/nostr"
	"github.com/nwc-go/nwc/nostr/relaypool"
	"github.com/nwc-go/nwc/relay"
)

func dial(t *testing.T, uri string, opts ...client.Option) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, uri, opts...)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func randomHex(t *testing.T) string {
	t.Helper()
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

func sha256Hex(t *testing.T, h string) string {
	t.Helper()
	b, err := hex.DecodeString(h)
	if err != nil {
		t.Fatalf("not hex: %q", h)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// nodeKey is a valid compressed node id nobody in the sandbox owns (keysend succeeds).
func nodeKey() string {
	return "02" + nostr.GenerateSecretKey().Public().String()
}

func nextNotification(t *testing.T, ch <-chan nip47.Notification, typ, hash string) nip47.Notification {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case n, ok := <-ch:
			if !ok {
				t.Fatalf("notifications closed while waiting for %s", typ)
			}
			if n.NotificationType == typ && n.Notification.PaymentHash == hash {
				return n
			}
		case <-timeout:
			t.Fatalf("no %s notification for %s", typ, hash)
		}
	}
}

// TestMethodsEndToEnd runs every method against the real service, once per encryption.
func TestMethodsEndToEnd(t *testing.T) {
	w := startWallet(t)
	for _, enc := range []nip47.Encryption{nip47.EncryptionNIP44, nip47.EncryptionNIP04} {
		t.Run(string(enc), func(t *testing.T) {
			ctx := context.Background()
			app := dial(t, w.connect(server.ConnectionOptions{Methods: allMethods, Budget: "100000sat/monthly", Notifications: true}), client.WithEncryption(enc))
			shop := dial(t, w.connect(server.ConnectionOptions{Methods: allMethods, Notifications: true}), client.WithEncryption(enc))
			if app.Encryption() != enc {
				t.Fatalf("Encryption() = %s", app.Encryption())
			}
			if !app.Info().Supports(nip47.MethodPayInvoice) || !app.Info().Notifications {
				t.Errorf("info event: %+v", app.Info())
			}

			info, err := app.GetInfo(ctx)
			if err != nil {
				t.Fatal("get_info:", err)
			}
			if info.Network != "regtest" || !slices.Contains(info.Methods, nip47.MethodPayKeysend) || len(info.Notifications) == 0 {
				t.Errorf("get_info = %+v", info)
			}
			bal, err := app.GetBalance(ctx)
			if err != nil || bal.Balance <= 0 {
				t.Fatalf("get_balance = %+v, %v", bal, err)
			}
			budget, err := app.GetBudget(ctx)
			if err != nil || !budget.HasBudget() || budget.TotalBudget != 100_000_000 || budget.RenewalPeriod != nip47.BudgetRenewalMonthly || budget.RenewsAt == nil {
				t.Fatalf("get_budget = %+v, %v", budget, err)
			}
			noBudget, err := shop.GetBudget(ctx)
			if err != nil || noBudget.HasBudget() {
				t.Fatalf("get_budget without budget = %+v, %v", noBudget, err)
			}

			// make_invoice and both lookups.
			inv, err := shop.MakeInvoice(ctx, nip47.MakeInvoiceParams{Amount: 21_000, Description: "coffee", Expiry: 600})
			if err != nil {
				t.Fatal("make_invoice:", err)
			}
			if !strings.HasPrefix(inv.Invoice, "lnbcrt") || inv.Amount != 21_000 || inv.Type != nip47.TransactionIncoming ||
				inv.State != nip47.StatePending || inv.Description != "coffee" || inv.ExpiresAt == nil {
				t.Errorf("make_invoice = %+v", inv)
			}
			byHash, err := shop.LookupInvoiceByHash(ctx, inv.PaymentHash)
			if err != nil || byHash.Invoice != inv.Invoice {
				t.Fatalf("lookup by hash = %+v, %v", byHash, err)
			}
			byInvoice, err := shop.LookupInvoiceByInvoice(ctx, inv.Invoice)
			if err != nil || byInvoice.PaymentHash != inv.PaymentHash {
				t.Fatalf("lookup by invoice = %+v, %v", byInvoice, err)
			}

			// pay_invoice: the shop is told, the app gets a preimage that hashes to the invoice's hash.
			notes, err := shop.Notifications(ctx)
			if err != nil {
				t.Fatal(err)
			}
			paid, err := app.PayInvoice(ctx, inv.Invoice, client.WithMetadata(json.RawMessage(`{"comment":"hi"}`)))
			if err != nil {
				t.Fatal("pay_invoice:", err)
			}
			if sha256Hex(t, paid.Preimage) != inv.PaymentHash {
				t.Errorf("preimage %s does not hash to %s", paid.Preimage, inv.PaymentHash)
			}
			n := nextNotification(t, notes, nip47.NotificationPaymentReceived, inv.PaymentHash)
			if n.Notification.Amount != 21_000 || n.Notification.State != nip47.StateSettled {
				t.Errorf("notification = %+v", n.Notification)
			}
			settled, err := shop.LookupInvoiceByHash(ctx, inv.PaymentHash)
			if err != nil || settled.State != nip47.StateSettled || settled.Preimage != paid.Preimage {
				t.Errorf("lookup after payment = %+v, %v", settled, err)
			}

			// pay_keysend to a node outside the sandbox (scripted to succeed).
			pre := randomHex(t)
			ks, err := app.PayKeysend(ctx, nip47.PayKeysendParams{Amount: 5_000, Pubkey: nodeKey(), Preimage: pre,
				TLVRecords: []nip47.TLVRecord{{Type: 7629169, Value: "0102"}}})
			if err != nil {
				t.Fatal("pay_keysend:", err)
			}
			if ks.Preimage != pre {
				t.Errorf("keysend preimage = %s, want %s", ks.Preimage, pre)
			}

			// multi_pay_invoice: one result per element, by id (generated for the second).
			a, err := shop.MakeInvoice(ctx, nip47.MakeInvoiceParams{Amount: 1_000})
			if err != nil {
				t.Fatal(err)
			}
			b, err := shop.MakeInvoice(ctx, nip47.MakeInvoiceParams{Amount: 2_000})
			if err != nil {
				t.Fatal(err)
			}
			multi, err := app.MultiPayInvoice(ctx, []nip47.MultiPayInvoiceItem{{ID: "a", Invoice: a.Invoice}, {Invoice: b.Invoice}})
			if err != nil {
				t.Fatalf("multi_pay_invoice: %v (%+v)", err, multi)
			}
			if len(multi.Results) != 2 || multi.Results["a"] == nil || multi.Results["#1"] == nil ||
				sha256Hex(t, multi.Results["#1"].Preimage) != b.PaymentHash {
				t.Errorf("multi_pay_invoice = %+v", multi)
			}
			multiKS, err := app.MultiPayKeysend(ctx, []nip47.MultiPayKeysendItem{{ID: "k1", Amount: 1_000, Pubkey: nodeKey()}, {ID: "k2", Amount: 2_000, Pubkey: nodeKey()}})
			if err != nil || len(multiKS.Results) != 2 {
				t.Fatalf("multi_pay_keysend = %+v, %v", multiKS, err)
			}

			list, err := app.ListTransactions(ctx, nip47.ListTransactionsParams{Limit: 20, Type: nip47.TransactionOutgoing})
			if err != nil {
				t.Fatal("list_transactions:", err)
			}
			if !slices.ContainsFunc(list.Transactions, func(tx nip47.Transaction) bool { return tx.PaymentHash == inv.PaymentHash }) {
				t.Errorf("list_transactions misses the payment: %+v", list.Transactions)
			}
			for _, tx := range list.Transactions {
				if tx.Type != nip47.TransactionOutgoing {
					t.Errorf("type filter ignored: %+v", tx)
				}
			}

			after, err := app.GetBudget(ctx)
			if err != nil || after.UsedBudget < 21_000 {
				t.Errorf("budget after paying = %+v, %v", after, err)
			}

			sig, err := app.SignMessage(ctx, "hello")
			if err != nil || sig.Message != "hello" || sig.Signature == "" {
				t.Errorf("sign_message = %+v, %v", sig, err)
			}

			testHoldInvoice(t, app, shop, notes)
		})
	}
}

// testHoldInvoice: the shop makes a hold invoice, the app pays it (the call blocks), the
// shop sees hold_invoice_accepted and settles; a second one is cancelled.
func testHoldInvoice(t *testing.T, app, shop *client.Client, notes <-chan nip47.Notification) {
	ctx := context.Background()
	pre := randomHex(t)
	hash := sha256Hex(t, pre)
	hold, err := shop.MakeHoldInvoice(ctx, nip47.MakeHoldInvoiceParams{Amount: 3_000, PaymentHash: hash, Description: "hold"})
	if err != nil {
		t.Fatal("make_hold_invoice:", err)
	}
	if hold.PaymentHash != hash {
		t.Errorf("hold invoice hash = %s", hold.PaymentHash)
	}
	type payOutcome struct {
		res *nip47.PayInvoiceResult
		err error
	}
	paying := make(chan payOutcome, 1)
	go func() {
		res, err := app.PayInvoice(ctx, hold.Invoice)
		paying <- payOutcome{res, err}
	}()
	n := nextNotification(t, notes, nip47.NotificationHoldInvoiceAccepted, hash)
	if n.Notification.State != nip47.StateAccepted {
		t.Errorf("accepted notification = %+v", n.Notification)
	}
	if err := shop.SettleHoldInvoice(ctx, pre); err != nil {
		t.Fatal("settle_hold_invoice:", err)
	}
	out := <-paying
	if out.err != nil || out.res.Preimage != pre {
		t.Fatalf("paying the hold invoice = %+v, %v", out.res, out.err)
	}

	other, err := shop.MakeHoldInvoice(ctx, nip47.MakeHoldInvoiceParams{Amount: 3_000, PaymentHash: sha256Hex(t, randomHex(t))})
	if err != nil {
		t.Fatal(err)
	}
	if err := shop.CancelHoldInvoice(ctx, other.PaymentHash); err != nil {
		t.Fatal("cancel_hold_invoice:", err)
	}
}

// TestWalletErrors checks that each error code the wallet sends comes back as a
// *nip47.Error that errors.Is recognises, with the wallet's message.
func TestWalletErrors(t *testing.T) {
	w := startWallet(t)
	ctx := context.Background()
	full := dial(t, w.connect(server.ConnectionOptions{Methods: allMethods}))
	balanceOnly := dial(t, w.connect(server.ConnectionOptions{Methods: "get_balance"}))
	tiny := dial(t, w.connect(server.ConnectionOptions{Methods: allMethods, Budget: "10sat/never"}))
	inv, err := full.MakeInvoice(ctx, nip47.MakeInvoiceParams{Amount: 21_000})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"restricted", func() error { _, err := balanceOnly.PayInvoice(ctx, inv.Invoice); return err }, nip47.ErrRestricted},
		{"quota exceeded", func() error { _, err := tiny.PayInvoice(ctx, inv.Invoice); return err }, nip47.ErrQuotaExceeded},
		{"not found", func() error { _, err := full.LookupInvoiceByHash(ctx, randomHex(t)); return err }, nip47.ErrNotFound},
		{"bad invoice", func() error { _, err := full.PayInvoice(ctx, "lnbcrt1notaninvoice"); return err }, nip47.ErrBadRequest},
		{"unknown method", func() error { return full.Call(ctx, "no_such_method", nil, nil) }, nip47.ErrNotImplemented},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var werr *nip47.Error
			if !errors.As(err, &werr) || werr.Message == "" {
				t.Errorf("want a *nip47.Error with the wallet's message, got %#v", err)
			}
			if errors.Is(err, client.ErrTimeout) || errors.Is(err, client.ErrPublish) {
				t.Errorf("a wallet error must not look like a transport error: %v", err)
			}
		})
	}
}

// TestLocalValidation: params that cannot be right are refused without a round trip.
func TestLocalValidation(t *testing.T) {
	w := startWallet(t)
	c := dial(t, w.connect(server.ConnectionOptions{Methods: allMethods}))
	ctx := context.Background()
	calls := map[string]func() error{
		"empty invoice": func() error { _, err := c.PayInvoice(ctx, ""); return err },
		"zero amount":   func() error { _, err := c.MakeInvoice(ctx, nip47.MakeInvoiceParams{}); return err },
		"bad preimage":  func() error { return c.SettleHoldInvoice(ctx, "zz") },
		"empty multi":   func() error { _, err := c.MultiPayInvoice(ctx, nil); return err },
		"duplicate ids": func() error {
			_, err := c.MultiPayInvoice(ctx, []nip47.MultiPayInvoiceItem{{ID: "x", Invoice: "a"}, {ID: "x", Invoice: "b"}})
			return err
		},
		"keysend no node": func() error { _, err := c.PayKeysend(ctx, nip47.PayKeysendParams{Amount: 1}); return err },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			if err := call(); !errors.Is(err, nip47.ErrInvalidParams) {
				t.Errorf("err = %v, want ErrInvalidParams", err)
			}
		})
	}
}

// TestNotificationsBetweenConnections: one connection pays another's invoice; the payee
// hears payment_received and the payer payment_sent, with either encryption.
func TestNotificationsBetweenConnections(t *testing.T) {
	w := startWallet(t)
	for _, enc := range []nip47.Encryption{nip47.EncryptionNIP44, nip47.EncryptionNIP04} {
		t.Run(string(enc), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			payer := dial(t, w.connect(server.ConnectionOptions{Methods: allMethods, Notifications: true}), client.WithEncryption(enc))
			payee := dial(t, w.connect(server.ConnectionOptions{Methods: allMethods, Notifications: true, Isolated: true}), client.WithEncryption(enc))
			received, err := payee.Notifications(ctx)
			if err != nil {
				t.Fatal(err)
			}
			sent, err := payer.Notifications(ctx)
			if err != nil {
				t.Fatal(err)
			}
			inv, err := payee.MakeInvoice(ctx, nip47.MakeInvoiceParams{Amount: 7_000, Description: "tip"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := payer.PayInvoice(ctx, inv.Invoice); err != nil {
				t.Fatal(err)
			}
			got := nextNotification(t, received, nip47.NotificationPaymentReceived, inv.PaymentHash)
			if got.Notification.Type != nip47.TransactionIncoming || got.Notification.Amount != 7_000 || got.Notification.Description != "tip" {
				t.Errorf("payment_received = %+v", got.Notification)
			}
			out := nextNotification(t, sent, nip47.NotificationPaymentSent, inv.PaymentHash)
			if out.Notification.Type != nip47.TransactionOutgoing {
				t.Errorf("payment_sent = %+v", out.Notification)
			}
			// The isolated payee now owns what it received.
			if bal, err := payee.GetBalance(ctx); err != nil || bal.Balance != 7_000 {
				t.Errorf("isolated balance = %+v, %v", bal, err)
			}
			cancel()
			for range received { // closed once ctx ends
			}
		})
	}
}

// TestConcurrentCalls: 50 goroutines share one client; every call gets its own answer.
func TestConcurrentCalls(t *testing.T) {
	w := startWallet(t)
	// A generous timeout: on a loaded machine 100 round trips under -race can take a
	// while; a lost answer still fails the test.
	c := dial(t, w.connect(server.ConnectionOptions{Methods: allMethods}), client.WithTimeout(60*time.Second))
	ctx := context.Background()
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			amount := int64(1_000 * (i + 1))
			inv, err := c.MakeInvoice(ctx, nip47.MakeInvoiceParams{Amount: amount, Description: fmt.Sprint("item ", i)})
			if err != nil {
				errs <- fmt.Errorf("%d: make_invoice: %w", i, err)
				return
			}
			if inv.Amount != amount || inv.Description != fmt.Sprint("item ", i) {
				errs <- fmt.Errorf("%d: got someone else's answer: %+v", i, inv)
				return
			}
			got, err := c.LookupInvoiceByHash(ctx, inv.PaymentHash)
			if err != nil || got.Amount != amount {
				errs <- fmt.Errorf("%d: lookup = %+v, %v", i, got, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if st := w.srv.Relay.Stats(); st.SlowDropped != 0 {
		t.Errorf("the relay dropped %d slow connections", st.SlowDropped)
	}
}

// startRelay runs a bare embedded relay: a place where nobody serves the wallet.
func startRelay(t *testing.T) string {
	t.Helper()
	r, err := relay.New(relay.Config{})
	if err != nil {
		t.Fatal(err)
	}
	url, stop, err := relay.ListenAndServe(context.Background(), "127.0.0.1:0", r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(); r.Close() })
	return url
}

// publishInfo puts an info event for a wallet key on the relay, so Dial succeeds though
// no service answers.
func publishInfo(t *testing.T, relayURL string, wallet *nostr.SecretKey, encryptions ...nip47.Encryption) {
	t.Helper()
	servertest.PublishInfo(t, relayURL, wallet, []nip47.Method{nip47.MethodGetBalance, nip47.MethodPayInvoice}, encryptions...)
}

func uriFor(wallet *nostr.SecretKey, relays ...string) string {
	u := nip47.ConnectionURI{WalletPubKey: wallet.Public(), Relays: relays, Secret: nostr.GenerateSecretKey()}
	return u.String()
}

// TestTimeouts: a wallet nobody serves yields ErrTimeout after the configured timeout; a
// cancelled ctx yields context.Canceled, not a timeout.
func TestTimeouts(t *testing.T) {
	url := startRelay(t)
	wallet := nostr.GenerateSecretKey()
	publishInfo(t, url, wallet, nip47.EncryptionNIP44, nip47.EncryptionNIP04)
	c := dial(t, uriFor(wallet, url), client.WithTimeout(300*time.Millisecond))
	if c.Encryption() != nip47.EncryptionNIP44 {
		t.Errorf("negotiated %s, want nip44_v2", c.Encryption())
	}

	start := time.Now()
	_, err := c.GetBalance(context.Background())
	if !errors.Is(err, client.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("timeout took %v", took)
	}
	var werr *nip47.Error
	if errors.As(err, &werr) {
		t.Errorf("a timeout is not a wallet error: %v", err)
	}

	// A ctx deadline shorter than the client's timeout wins.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.GetBalance(ctx); !errors.Is(err, client.ErrTimeout) {
		t.Errorf("ctx deadline: err = %v", err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if _, err := c.GetBalance(ctx); !errors.Is(err, context.Canceled) || errors.Is(err, client.ErrTimeout) {
		t.Errorf("cancelled ctx: err = %v", err)
	}
}

// TestDialErrors covers the ways Dial fails before any request.
func TestDialErrors(t *testing.T) {
	url := startRelay(t)
	nip04Only := nostr.GenerateSecretKey()
	publishInfo(t, url, nip04Only) // no encryption tag: NIP-04 only
	tests := []struct {
		name string
		uri  string
		opts []client.Option
		want error
	}{
		{"bad uri", "nostr+walletconnect://nothex?relay=" + url, nil, nip47.ErrInvalidURI},
		{"no info event", uriFor(nostr.GenerateSecretKey(), url), nil, client.ErrNoInfo},
		{"relay down", uriFor(nostr.GenerateSecretKey(), "ws://127.0.0.1:1"), nil, client.ErrNoInfo},
		{"unknown forced scheme", uriFor(nip04Only, url), []client.Option{client.WithEncryption("rot13")}, nip47.ErrUnsupportedEncryption},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			c, err := client.Dial(ctx, tt.uri, append(tt.opts, client.WithInfoTimeout(2*time.Second))...)
			if !errors.Is(err, tt.want) {
				if c != nil {
					c.Close()
				}
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("nip04 only wallet", func(t *testing.T) {
		c := dial(t, uriFor(nip04Only, url))
		if c.Encryption() != nip47.EncryptionNIP04 {
			t.Errorf("negotiated %s with a NIP-04-only wallet", c.Encryption())
		}
	})
}

// TestLegacyNIP04WithoutTag: a request without encryption tag is NIP-04 for the service.
func TestLegacyNIP04WithoutTag(t *testing.T) {
	w := startWallet(t)
	c := dial(t, w.connect(server.ConnectionOptions{Methods: allMethods}), client.WithEncryption(nip47.EncryptionNIP04), client.WithoutEncryptionTag())
	if _, err := c.GetBalance(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestSharedPool: two clients share a pool; closing one leaves the other working.
func TestSharedPool(t *testing.T) {
	w := startWallet(t)
	pool := relaypool.New(relaypool.Options{})
	defer pool.Close()
	a := dial(t, w.connect(server.ConnectionOptions{Methods: allMethods}), client.WithPool(pool))
	b := dial(t, w.connect(server.ConnectionOptions{Methods: allMethods}), client.WithPool(pool))
	ctx := context.Background()
	if _, err := a.GetBalance(ctx); err != nil {
		t.Fatal(err)
	}
	a.Close()
	if _, err := a.GetBalance(ctx); !errors.Is(err, client.ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
	if _, err := b.GetBalance(ctx); err != nil {
		t.Errorf("the other client broke: %v", err)
	}
}

// TestCloseLeavesNoGoroutines: after Close (and the wallet's shutdown) no goroutine of
// the client or its pool is left, including one blocked in Notifications or a call.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	t.Run("session", func(t *testing.T) {
		w := startWallet(t)
		c := dial(t, w.connect(server.ConnectionOptions{Methods: allMethods, Notifications: true}))
		ctx := context.Background()
		if _, err := c.GetBalance(ctx); err != nil {
			t.Fatal(err)
		}
		notes, err := c.Notifications(ctx)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		if _, ok := <-notes; ok {
			t.Error("notifications still open after Close")
		}
		if _, err := c.Notifications(ctx); !errors.Is(err, client.ErrClosed) {
			t.Errorf("Notifications after Close: %v", err)
		}
		if err := c.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
	t.Run("call in flight", func(t *testing.T) {
		url := startRelay(t)
		wallet := nostr.GenerateSecretKey()
		publishInfo(t, url, wallet, nip47.EncryptionNIP44)
		c := dial(t, uriFor(wallet, url))
		errc := make(chan error, 1)
		go func() { _, err := c.GetBalance(context.Background()); errc <- err }()
		// Close while the call waits for an answer that never comes.
		c.Close()
		if err := <-errc; !errors.Is(err, client.ErrClosed) && !errors.Is(err, client.ErrTimeout) {
			t.Errorf("call during Close: %v", err)
		}
	})
	// Subtests have run their cleanups: the wallets are stopped too.
	assertNoGoroutines(t, "nwc/client.", "nwc/nostr/relaypool.", "nwc/internal/service.")
}

// assertNoGoroutines fails if a goroutine whose stack mentions one of the markers is still
// running. Goroutines finish their last instructions asynchronously, so it retries a
// little before failing.
func assertNoGoroutines(t *testing.T, markers ...string) {
	t.Helper()
	var left []string
	for deadline := time.Now().Add(5 * time.Second); ; {
		left = left[:0]
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "assertNoGoroutines") {
				continue
			}
			for _, m := range markers {
				if strings.Contains(g, m) {
					left = append(left, g)
					break
				}
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, g := range left {
		t.Errorf("leaked goroutine:\n%s", g)
	}
}

// TestAuthRelay: on a relay that lets only known keys read and write (NIP-42), the client
// authenticates with its connection key, with its own pool or a shared one.
func TestAuthRelay(t *testing.T) {
	wallet := nostr.GenerateSecretKey()
	app := nostr.GenerateSecretKey()
	r, err := relay.New(relay.Config{AuthAllow: []nostr.PublicKey{wallet.Public(), app.Public()}})
	if err != nil {
		t.Fatal(err)
	}
	url, stop, err := relay.ListenAndServe(context.Background(), "127.0.0.1:0", r)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { stop(); r.Close() }()
	ev, err := nip47.InfoEvent(wallet, []nip47.Method{nip47.MethodGetBalance}, nil, []nip47.Encryption{nip47.EncryptionNIP44}, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	walletPool := relaypool.New(relaypool.Options{AuthKeys: func(string) []*nostr.SecretKey { return []*nostr.SecretKey{wallet} }})
	defer walletPool.Close()
	if err := walletPool.AddRelay(url); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := walletPool.Publish(ctx, ev); err != nil {
		t.Fatal(err)
	}
	uri := (&nip47.ConnectionURI{WalletPubKey: wallet.Public(), Relays: []string{url}, Secret: app}).String()

	shared := relaypool.New(relaypool.Options{})
	defer shared.Close()
	for name, opts := range map[string][]client.Option{"own pool": nil, "shared pool": {client.WithPool(shared)}} {
		t.Run(name, func(t *testing.T) {
			c := dial(t, uri, append(opts, client.WithTimeout(300*time.Millisecond))...)
			if c.Info().WalletPubKey != wallet.Public() {
				t.Errorf("info = %+v", c.Info())
			}
			// Nobody serves the wallet: the request must be accepted by the relay (no
			// ErrPublish) and then time out.
			if _, err := c.GetBalance(context.Background()); !errors.Is(err, client.ErrTimeout) {
				t.Errorf("err = %v, want ErrTimeout", err)
			}
		})
	}
}
