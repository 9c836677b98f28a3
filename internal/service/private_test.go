package service_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nwc-go/nwc/internal/keyring"
	"github.com/nwc-go/nwc/internal/lightning"
	"github.com/nwc-go/nwc/internal/service"
	"github.com/nwc-go/nwc/internal/store/sqlite"
	"github.com/nwc-go/nwc/internal/wallet"
	"github.com/nwc-go/nwc/nip47"
	"github.com/nwc-go/nwc/nostr"
)

// A read-only request that several relays deliver, at once and later, is answered once
// and logged once, without a store record before it runs.
func TestReadOnlyRepeatsAnsweredOnce(t *testing.T) {
	e := newEnv(t, nil)
	a := e.connect(wallet.Connection{})
	ev := e.request(a, nip47.EncryptionNIP44, nip47.MethodGetBalance, nil)
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() { defer wg.Done(); e.svc.HandleRequest(e.ctx, ev) }()
	}
	wg.Wait()
	e.svc.HandleRequest(e.ctx, ev)
	if got := e.responses(a, ev.ID); len(got) != 1 || got[0].Error != nil {
		t.Fatalf("got %d responses (%+v), want one success", len(got), got)
	}
	if n := e.svc.Unrecorded(); n != 1 {
		t.Fatalf("%d requests served without a record first, want 1", n)
	}
	reqs, err := e.store.RecentRequests(e.ctx, a.conn.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 1 || reqs[0].EventID != ev.ID || reqs[0].Outcome != wallet.OutcomeOK || reqs[0].Method != string(nip47.MethodGetBalance) || reqs[0].FinishedAt.IsZero() {
		t.Fatalf("request log %+v, want one finished get_balance", reqs)
	}
}

// With SharedRequestLog every request is recorded first, and repeats are still answered once.
func TestSharedRequestLogRecordsFirst(t *testing.T) {
	e := newEnv(t, func(c *service.Config) { c.SharedRequestLog = true })
	a := e.connect(wallet.Connection{})
	ev := e.request(a, nip47.EncryptionNIP44, nip47.MethodGetInfo, nil)
	e.svc.HandleRequest(e.ctx, ev)
	e.svc.HandleRequest(e.ctx, ev)
	if got := e.responses(a, ev.ID); len(got) != 1 {
		t.Fatalf("got %d responses, want 1", len(got))
	}
	if n := e.svc.Unrecorded(); n != 0 {
		t.Fatalf("%d requests served without a record, want 0", n)
	}
}

// A revocation by another process (here another Store on the same file, as the CLI opens
// it) silences the connection's read-only requests at once, without a refresh.
func TestReadOnlyRevokedElsewhere(t *testing.T) {
	e := newEnv(t, nil)
	a := e.connect(wallet.Connection{})
	e.ok(a, nip47.MethodGetBalance, nil, nil)
	path := filepath.Join(e.dir, "nwc.db")
	cli, err := sqlite.Open(e.ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if err := cli.RevokeConnection(e.ctx, a.conn.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, m := range []nip47.Method{nip47.MethodGetBalance, nip47.MethodGetInfo, nip47.MethodListTransactions} {
		ev := e.request(a, nip47.EncryptionNIP44, m, nil)
		e.svc.HandleRequest(e.ctx, ev)
		if got := e.responses(a, ev.ID); len(got) != 0 {
			t.Fatalf("%s of a connection revoked elsewhere: %d responses, want none", m, len(got))
		}
	}
}

// noEvents is a backend whose events never arrive (a node whose stream lags).
type noEvents struct{ lightning.Backend }

func (noEvents) Subscribe(ctx context.Context) (<-chan lightning.Event, error) {
	return make(chan lightning.Event), nil
}

// lookup_invoice of an invoice the store still shows unpaid asks the node: the payer,
// holding the preimage, may look it up before the settlement event is processed.
func TestLookupCatchesUpWithTheNode(t *testing.T) {
	e := newEnv(t, func(c *service.Config) { c.Backend = noEvents{c.Backend} })
	a := e.connect(wallet.Connection{})
	inv := e.invoice(a, 5_000)
	paid, err := e.other.PayInvoice(e.ctx, lightning.PayParams{Invoice: inv.Invoice})
	if err != nil {
		t.Fatal(err)
	}
	var got nip47.Transaction
	e.ok(a, nip47.MethodLookupInvoice, nip47.LookupInvoiceParams{PaymentHash: inv.PaymentHash}, &got)
	if got.State != nip47.StateSettled || got.Preimage != paid.Preimage || got.SettledAt == nil {
		t.Fatalf("lookup after an outside payment: %+v, want settled with preimage %s", got, paid.Preimage)
	}
	tx, err := e.store.Transaction(e.ctx, a.conn.ID, wallet.TxIncoming, inv.PaymentHash)
	if err != nil || tx.State != wallet.StateSettled {
		t.Fatalf("store row %+v, %v: want it settled", tx, err)
	}
}

// Request-log rows older than the retention go; newer ones and their duplicate check stay.
func TestPruneRequestLog(t *testing.T) {
	e := newEnv(t, func(c *service.Config) { c.RequestLogRetention = 48 * time.Hour })
	a := e.connect(wallet.Connection{})
	old, recent := nostr.EventID{1}, nostr.EventID{2}
	for id, at := range map[nostr.EventID]time.Time{old: time.Now().Add(-72 * time.Hour), recent: time.Now().Add(-24 * time.Hour)} {
		if err := e.store.BeginRequest(e.ctx, id, a.conn.ID, string(nip47.MethodPayInvoice), at); err != nil {
			t.Fatal(err)
		}
	}
	e.ok(a, nip47.MethodGetBalance, nil, nil) // answered now: logged after the answer
	n, err := e.svc.PruneRequestLog(e.ctx)
	if err != nil || n != 1 {
		t.Fatalf("PruneRequestLog = %d, %v; want the one row older than 48 h", n, err)
	}
	reqs, err := e.store.RecentRequests(e.ctx, a.conn.ID, 10)
	if err != nil || len(reqs) != 2 {
		t.Fatalf("left %+v, %v; want 2", reqs, err)
	}
	if err := e.store.BeginRequest(e.ctx, recent, a.conn.ID, string(nip47.MethodPayInvoice), time.Now()); !errors.Is(err, wallet.ErrDuplicateRequest) {
		t.Fatalf("the kept row no longer stops its duplicate: %v", err)
	}
}

func TestRequestLogRetentionBounds(t *testing.T) {
	for _, r := range []time.Duration{time.Hour, 6 * time.Hour} {
		cfg := service.Config{Keys: keyring.New([32]byte{1}), Store: &sqlite.Store{}, Backend: noEvents{}, Relays: &fakeRelays{},
			RequestLogRetention: r, MaxRequestAge: 12 * time.Hour}
		if _, err := service.New(cfg); err == nil || !strings.Contains(err.Error(), "too short") {
			t.Fatalf("retention %s: %v, want too short", r, err)
		}
	}
}

// A hold invoice canceled on the node, not through the service (LND cancels one whose
// HTLC is about to expire; no event reports it), shows as failed on lookup.
func TestLookupSeesNodeCancel(t *testing.T) {
	e := newEnv(t, func(c *service.Config) { c.Backend = noEvents{c.Backend} })
	a := e.connect(wallet.Connection{})
	hash := sha256.Sum256([]byte("preimage of the canceled invoice"))
	var hold nip47.Transaction
	e.ok(a, nip47.MethodMakeHoldInvoice, nip47.MakeHoldInvoiceParams{Amount: 2_000, PaymentHash: hex.EncodeToString(hash[:])}, &hold)
	if err := e.backend.CancelHoldInvoice(e.ctx, hold.PaymentHash); err != nil {
		t.Fatal(err)
	}
	var got nip47.Transaction
	e.ok(a, nip47.MethodLookupInvoice, nip47.LookupInvoiceParams{PaymentHash: hold.PaymentHash}, &got)
	if got.State != nip47.StateFailed {
		t.Fatalf("lookup of an invoice the node canceled: state %q, want failed", got.State)
	}
	tx, err := e.store.Transaction(e.ctx, a.conn.ID, wallet.TxIncoming, hold.PaymentHash)
	if err != nil || tx.State != wallet.StateFailed {
		t.Fatalf("store row %+v, %v: want it failed", tx, err)
	}
}

// heldAnswers is a Relays that takes answers asynchronously and reports their outcome
// only when released (a relay slow to say OK).
type heldAnswers struct {
	service.Relays
	release chan struct{}
}

func (h *heldAnswers) PublishAsync(ev *nostr.Event, done func(error)) error {
	err := h.Relays.Publish(context.Background(), ev)
	go func() { <-h.release; done(err) }()
	return nil
}

// Answers are handed over without waiting for the relay's OK, and Run does not return
// before their outcome is known: a drained service has published every answer.
func TestRunWaitsForAnswers(t *testing.T) {
	held := &heldAnswers{release: make(chan struct{})}
	e := newEnv(t, func(c *service.Config) { held.Relays = c.Relays; c.Relays = held })
	a := e.connect(wallet.Connection{})
	e.ok(a, nip47.MethodGetBalance, nil, nil) // answered (the worker did not wait for the OK)
	stopped := make(chan struct{})
	go func() { e.stopRun(); close(stopped) }()
	select {
	case <-stopped:
		t.Fatal("Run returned while an answer's outcome was unknown")
	case <-time.After(300 * time.Millisecond):
	}
	close(held.release)
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return once the answer was published")
	}
}
