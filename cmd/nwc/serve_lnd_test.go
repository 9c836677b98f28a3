package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/nwc-go/nwc/client"
	"github.com/nwc-go/nwc/internal/lightning"
	"github.com/nwc-go/nwc/internal/lightning/bolt11"
	"github.com/nwc-go/nwc/internal/lightning/lnd/lndtest"
	"github.com/nwc-go/nwc/nip47"
)

// TestServeLNDEndToEnd runs `nwc serve --backend lnd` against node A of the regtest
// network (scripts/regtest.sh; skipped without one) and drives it as an app would:
// the Go client over the embedded relay, node B as the rest of the Lightning network.
func TestServeLNDEndToEnd(t *testing.T) {
	env := lndtest.Load(t)
	env.Lock(t)
	a, b := env.Open(t, env.A), env.Open(t, env.B)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := lndtest.WaitActive(ctx, a, b); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	uri, _, stop := serveLND(t, ctx, env, dir)
	defer stop()
	c := dialWallet(t, ctx, uri)
	defer c.Close()
	notes, err := c.Notifications(ctx)
	if err != nil {
		t.Fatal(err)
	}

	info, err := c.GetInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Alias != "nwc-a" || info.Network != "regtest" || info.Pubkey != env.A.PubKey || info.BlockHeight == 0 || len(info.BlockHash) != 64 {
		t.Errorf("get_info = %+v", info)
	}
	if !slices.Contains(info.Methods, nip47.Method("pay_invoice")) || !slices.Contains(info.Notifications, "payment_received") {
		t.Errorf("get_info methods %v notifications %v", info.Methods, info.Notifications)
	}
	bal, err := c.GetBalance(ctx)
	if err != nil || bal.Balance <= 0 {
		t.Fatalf("get_balance = %+v, %v", bal, err)
	}

	// make_invoice, paid by node B: payment_received.
	inv, err := c.MakeInvoice(ctx, nip47.MakeInvoiceParams{Amount: 21_000, Description: "e2e coffee"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.PayInvoice(ctx, lightning.PayParams{Invoice: inv.Invoice, MaxFee: 10_000}); err != nil {
		t.Fatalf("node b pays: %v", err)
	}
	n := waitNotification(t, ctx, notes, nip47.NotificationPaymentReceived, inv.PaymentHash)
	if n.Amount != 21_000 || n.Preimage == "" || n.Type != nip47.TransactionType("incoming") {
		t.Errorf("payment_received %+v", n)
	}
	if got, err := c.LookupInvoiceByHash(ctx, inv.PaymentHash); err != nil || got.State != nip47.TransactionState("settled") {
		t.Errorf("lookup_invoice = %+v, %v", got, err)
	}

	// pay_invoice of node B's invoice: preimage back.
	ext, err := b.MakeInvoice(ctx, lightning.InvoiceParams{Amount: 12_000, Description: "from b"})
	if err != nil {
		t.Fatal(err)
	}
	paid, err := c.PayInvoice(ctx, ext.Bolt11)
	if err != nil {
		t.Fatal(err)
	}
	if pre, _ := hex.DecodeString(paid.Preimage); sha256.Sum256(pre) != mustHash(t, ext.PaymentHash) {
		t.Errorf("preimage %s does not match %s", paid.Preimage, ext.PaymentHash)
	}

	// pay_keysend to node B.
	ks, err := c.PayKeysend(ctx, nip47.PayKeysendParams{Amount: 3_000, Pubkey: env.B.PubKey,
		TLVRecords: []nip47.TLVRecord{{Type: 696969, Value: "010203"}}})
	if err != nil || ks.Preimage == "" {
		t.Fatalf("pay_keysend = %+v, %v", ks, err)
	}

	// An unreachable payee: PAYMENT_FAILED, and the budget is not charged.
	key, _ := btcec.NewPrivateKey()
	var hash, secret [32]byte
	rand.Read(hash[:])
	rand.Read(secret[:])
	unreachable, err := bolt11.Encode(&bolt11.Invoice{Network: bolt11.Regtest, Amount: 2_000_000, Timestamp: time.Now(),
		PaymentHash: hash, PaymentSecret: &secret, Description: "nobody", Expiry: time.Hour, MinFinalCLTVExpiry: 40, Features: []int{9, 14}}, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PayInvoice(ctx, unreachable); !errors.Is(err, nip47.ErrPaymentFailed) {
		t.Errorf("pay_invoice to an unreachable node: err = %v, want PAYMENT_FAILED", err)
	}

	// Hold invoice: accepted notification, then settle, then payment_received.
	var pre [32]byte
	rand.Read(pre[:])
	h := sha256.Sum256(pre[:])
	hold, err := c.MakeHoldInvoice(ctx, nip47.MakeHoldInvoiceParams{Amount: 9_000, PaymentHash: hex.EncodeToString(h[:]), Description: "held"})
	if err != nil {
		t.Fatal(err)
	}
	payer := make(chan error, 1)
	go func() {
		_, err := b.PayInvoice(ctx, lightning.PayParams{Invoice: hold.Invoice, MaxFee: 10_000})
		payer <- err
	}()
	acc := waitNotification(t, ctx, notes, nip47.NotificationHoldInvoiceAccepted, hold.PaymentHash)
	if acc.State != nip47.TransactionState("accepted") || acc.SettleDeadline == nil || *acc.SettleDeadline <= info.BlockHeight {
		t.Errorf("hold_invoice_accepted %+v", acc)
	}
	if err := c.SettleHoldInvoice(ctx, hex.EncodeToString(pre[:])); err != nil {
		t.Fatal(err)
	}
	if err := <-payer; err != nil {
		t.Errorf("node b's hold payment: %v", err)
	}
	waitNotification(t, ctx, notes, nip47.NotificationPaymentReceived, hold.PaymentHash)

	list, err := c.ListTransactions(ctx, nip47.ListTransactionsParams{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, tx := range list.Transactions {
		seen[tx.PaymentHash] = string(tx.Type) + "/" + string(tx.State)
	}
	for hash, want := range map[string]string{inv.PaymentHash: "incoming/settled", ext.PaymentHash: "outgoing/settled", hold.PaymentHash: "incoming/settled"} {
		if seen[hash] != want {
			t.Errorf("list_transactions: %s is %q, want %q", hash, seen[hash], want)
		}
	}
	if err := lndtest.WaitHTLCsResolved(ctx, a, b); err != nil {
		t.Fatal(err)
	}
}

// TestServeLNDReconcilesAfterRestart: a payment still in flight when the app gets its
// answer (the payee holds the HTLC past --payment-timeout) stays pending across a
// restart of `nwc serve`; once the payee settles, the restarted service reconciles it
// by payment hash and the app sees it settled.
func TestServeLNDReconcilesAfterRestart(t *testing.T) {
	env := lndtest.Load(t)
	env.Lock(t)
	a, b := env.Open(t, env.A), env.Open(t, env.B)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := lndtest.WaitActive(ctx, a, b); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	uri, _, stop := serveLND(t, ctx, env, dir, "--payment-timeout", "3s")
	defer stop() // if the test fails early; stopping twice is a no-op
	c := dialWallet(t, ctx, uri)

	var pre [32]byte
	rand.Read(pre[:])
	h := sha256.Sum256(pre[:])
	hash := hex.EncodeToString(h[:])
	hold, err := b.MakeInvoice(ctx, lightning.InvoiceParams{Amount: 8_000, PaymentHash: hash, Description: "held by b"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.PayInvoice(ctx, hold.Bolt11)
	var nerr *nip47.Error
	if !errors.As(err, &nerr) || nerr.Code != nip47.CodeInternal {
		t.Fatalf("pay_invoice of a held payment: %v, want INTERNAL (still in flight)", err)
	}
	if tx, err := c.LookupInvoiceByHash(ctx, hash); err != nil || tx.State != nip47.TransactionState("pending") {
		t.Fatalf("lookup while held = %+v, %v", tx, err)
	}
	c.Close()
	stop()

	// While the service is down, the payee settles.
	if err := b.SettleHoldInvoice(ctx, hex.EncodeToString(pre[:])); err != nil {
		t.Fatal(err)
	}
	if err := lndtest.WaitHTLCsResolved(ctx, a, b); err != nil {
		t.Fatal(err)
	}
	_, relay, stop := serveLND(t, ctx, env, dir)
	defer stop()
	c = dialWallet(t, ctx, withRelay(t, uri, relay), client.WithTimeout(2*time.Second))
	defer c.Close()
	// The relay kept the info event, so Dial can succeed before the restarted service
	// listens for requests (which relays do not store): ask until it answers.
	var tx *nip47.Transaction
	err = lndtest.Poll(ctx, 100*time.Millisecond, func() (bool, error) {
		tx, err = c.LookupInvoiceByHash(ctx, hash)
		return err == nil, nil
	})
	if err != nil || tx.State != nip47.TransactionState("settled") || tx.Preimage != hex.EncodeToString(pre[:]) {
		t.Fatalf("lookup after restart = %+v, %v; want settled with the preimage", tx, err)
	}
}

// serveLND runs `nwc serve --backend lnd` on node A in-process until stop. It returns
// the first connection's URI ("" when the data dir already had one) and the relay URL.
func serveLND(t *testing.T, ctx context.Context, env *lndtest.Env, dir string, args ...string) (string, string, func()) {
	t.Helper()
	// The macaroon goes in as hex, the certificate as a file: both forms are accepted.
	mac, err := os.ReadFile(env.A.Macaroon)
	if err != nil {
		t.Fatal(err)
	}
	serveCtx, cancel := context.WithCancel(ctx)
	out, outW := io.Pipe()
	stderr := &lockedBuffer{}
	exit := make(chan int, 1)
	go func() {
		defer outW.Close()
		exit <- run(serveCtx, append([]string{"serve", "--data-dir", dir, "--relay-listen", "127.0.0.1:0", "--admin-listen", "off",
			"--backend", "lnd", "--lnd-host", env.A.Host, "--lnd-tlscert", env.A.TLSCert, "--lnd-macaroon", hex.EncodeToString(mac),
			"--log-level", "info"}, args...), outW, stderr)
	}()
	uri := ""
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		l := strings.TrimSpace(lines.Text())
		if strings.HasPrefix(l, "nostr+walletconnect://") {
			uri = l
			break
		}
		if strings.HasPrefix(l, "Serving ") {
			break
		}
	}
	drained := make(chan struct{})
	go func() { io.Copy(io.Discard, out); close(drained) }() // the QR code and later output
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if code := <-exit; code != 0 {
			t.Errorf("nwc serve exit %d; stderr:\n%s", code, stderr.String())
		}
		<-drained
	}
	// The relay listens on a new port each run: point the URI at this run's relay.
	m := regexp.MustCompile(`relays=(\S+)`).FindStringSubmatch(stderr.String())
	if m == nil {
		stop()
		t.Fatalf("no relay in the log:\n%s", stderr.String())
	}
	return uri, m[1], stop
}

// withRelay points a connection URI at relay.
func withRelay(t *testing.T, uri, relay string) string {
	t.Helper()
	u, err := url.Parse(uri)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("relay", relay)
	u.RawQuery = q.Encode()
	return u.String()
}

// dialWallet connects the Go client. The URI is printed before the service has
// announced itself, so it dials until the info event is on the relay.
func dialWallet(t *testing.T, ctx context.Context, uri string, opts ...client.Option) *client.Client {
	t.Helper()
	if uri == "" {
		t.Fatal("no connection URI")
	}
	var c *client.Client
	err := lndtest.Poll(ctx, 50*time.Millisecond, func() (bool, error) {
		var err error
		c, err = client.Dial(ctx, uri, opts...)
		if errors.Is(err, client.ErrNoInfo) {
			return false, nil
		}
		return true, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func waitNotification(t *testing.T, ctx context.Context, ch <-chan nip47.Notification, typ, hash string) nip47.Transaction {
	t.Helper()
	for {
		select {
		case n, ok := <-ch:
			if !ok {
				t.Fatalf("notifications closed waiting for %s %s", typ, hash)
			}
			if n.NotificationType == typ && n.Notification.PaymentHash == hash {
				return n.Notification
			}
		case <-ctx.Done():
			t.Fatalf("no %s notification for %s", typ, hash)
		}
	}
}

func mustHash(t *testing.T, s string) [32]byte {
	t.Helper()
	var h [32]byte
	if b, err := hex.DecodeString(s); err != nil || len(b) != 32 {
		t.Fatalf("bad hash %q", s)
	} else {
		copy(h[:], b)
	}
	return h
}

// lockedBuffer is a bytes.Buffer safe for the serve goroutine and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
