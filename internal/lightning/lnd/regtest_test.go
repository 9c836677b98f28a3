package lnd_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/nwc-go/nwc/internal/lightning"
	"github.com/nwc-go/nwc/internal/lightning/bolt11"
	"github.com/nwc-go/nwc/internal/lightning/lightningtest"
	"github.com/nwc-go/nwc/internal/lightning/lnd"
	"github.com/nwc-go/nwc/internal/lightning/lnd/lndtest"
)

// These tests run against real LND nodes on a regtest network (scripts/regtest.sh);
// they are skipped without one.

func regtest(t *testing.T) (*lndtest.Env, *lnd.Backend, *lnd.Backend) {
	t.Helper()
	env := lndtest.Load(t)
	env.Lock(t)
	a, b := env.Open(t, env.A), env.Open(t, env.B)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := lndtest.WaitActive(ctx, a, b); err != nil {
		t.Fatalf("channels not active: %v", err)
	}
	if err := lndtest.WaitHTLCsResolved(ctx, a, b); err != nil {
		t.Fatalf("HTLCs of an earlier test still pending: %v", err)
	}
	return env, a, b
}

func TestRegtestConformance(t *testing.T) {
	env, a, b := regtest(t)
	lightningtest.Run(t, func(t *testing.T) lightningtest.Harness {
		return lndtest.Harness(a, b, env.B.PubKey)
	})
}

// An invoice of a node nobody can reach: LND finds no route, the payment fails
// cleanly and is recorded as failed.
func TestRegtestNoRoute(t *testing.T) {
	_, a, _ := regtest(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	key, err := btcec.NewPrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	var hash, secret [32]byte
	rand.Read(hash[:])
	rand.Read(secret[:])
	inv, err := bolt11.Encode(&bolt11.Invoice{
		Network: bolt11.Regtest, Amount: 5_000_000, Timestamp: time.Now(), PaymentHash: hash, PaymentSecret: &secret,
		Description: "unreachable", Expiry: time.Hour, MinFinalCLTVExpiry: 40, Features: []int{9, 14},
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	before, err := a.Balance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.PayInvoice(ctx, lightning.PayParams{Invoice: inv, MaxFee: 10_000})
	if !errors.Is(err, lightning.ErrPaymentFailed) || errors.Is(err, lightning.ErrPaymentPending) {
		t.Fatalf("err = %v, want ErrPaymentFailed", err)
	}
	p, err := a.LookupPayment(ctx, hex.EncodeToString(hash[:]))
	if err != nil || p.State != lightning.PaymentFailed || p.FailureReason != "no_route" {
		t.Errorf("LookupPayment = %+v, %v; want failed, no_route", p, err)
	}
	if after, err := a.Balance(ctx); err != nil || after != before {
		t.Errorf("balance %d -> %d (%v)", before, after, err)
	}
}

// A keysend from the other node arrives as a settled keysend invoice with its records.
func TestRegtestKeysendReceived(t *testing.T) {
	env, a, b := regtest(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sub, cancelSub := context.WithCancel(ctx)
	events, err := a.Subscribe(sub)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancelSub()
		for range events {
		}
	}()
	tlvs := []lightning.TLV{{Type: 7629169, Value: []byte(`{"action":"boost"}`)}}
	res, err := b.PayKeysend(ctx, lightning.KeysendParams{Destination: env.A.PubKey, Amount: 3_000, TLVs: tlvs, MaxFee: 10_000})
	if err != nil {
		t.Fatal(err)
	}
	ev := waitEvent(t, ctx, events, lightning.EventInvoiceSettled, res.PaymentHash)
	inv := ev.Invoice
	if !inv.IsKeysend || inv.Bolt11 != "" || inv.AmountReceived != 3_000 || inv.Preimage != res.Preimage {
		t.Errorf("keysend invoice %+v", inv)
	}
	if len(inv.TLVs) != 1 || inv.TLVs[0].Type != 7629169 || string(inv.TLVs[0].Value) != `{"action":"boost"}` {
		t.Errorf("TLVs %+v", inv.TLVs)
	}
	got, err := a.LookupInvoice(ctx, res.PaymentHash)
	if err != nil || !got.IsKeysend || got.State != lightning.InvoiceSettled {
		t.Errorf("LookupInvoice = %+v, %v", got, err)
	}
	if err := lndtest.WaitHTLCsResolved(ctx, a, b); err != nil {
		t.Fatal(err)
	}
}

// Listing: the newest invoices and payments come back with their states.
func TestRegtestListings(t *testing.T) {
	_, a, b := regtest(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	mine, err := a.MakeInvoice(ctx, lightning.InvoiceParams{Amount: 2_000, Description: "listed"})
	if err != nil {
		t.Fatal(err)
	}
	ext, err := b.MakeInvoice(ctx, lightning.InvoiceParams{Amount: 2_000, Description: "to list"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := a.PayInvoice(ctx, lightning.PayParams{Invoice: ext.Bolt11, MaxFee: 10_000})
	if err != nil {
		t.Fatal(err)
	}
	invs, _, err := a.ListInvoices(ctx, lnd.InvoiceQuery{Reversed: true, Max: 10})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, inv := range invs {
		if inv.PaymentHash == mine.PaymentHash {
			found = inv.State == lightning.InvoiceOpen && inv.Bolt11 == mine.Bolt11 && inv.Description == "listed"
		}
	}
	if !found {
		t.Errorf("new invoice %s not listed as open among %d", mine.PaymentHash, len(invs))
	}
	pays, _, err := a.ListPayments(ctx, lnd.PaymentQuery{Reversed: true, Max: 10, IncludeIncomplete: true})
	if err != nil {
		t.Fatal(err)
	}
	found = false
	for _, p := range pays {
		if p.PaymentHash == res.PaymentHash {
			found = p.State == lightning.PaymentSucceeded && p.Preimage == res.Preimage && p.Amount == 2_000 && p.Bolt11 == ext.Bolt11
		}
	}
	if !found {
		t.Errorf("payment %s not listed as succeeded among %d", res.PaymentHash, len(pays))
	}
	if err := lndtest.WaitHTLCsResolved(ctx, a, b); err != nil {
		t.Fatal(err)
	}
}

// A payment whose outcome is not known when the caller gives up (the payee holds the
// HTLC) is found again by hash from a new backend instance — as after a service
// restart — first pending, then succeeded once the payee settles.
func TestRegtestReconcileInFlightPayment(t *testing.T) {
	env, a, b := regtest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var pre [32]byte
	rand.Read(pre[:])
	h := sha256.Sum256(pre[:])
	hash := hex.EncodeToString(h[:])
	hold, err := b.MakeInvoice(ctx, lightning.InvoiceParams{Amount: 4_000, PaymentHash: hash, Description: "held by b"})
	if err != nil {
		t.Fatal(err)
	}
	// If the test stops half way, release the held HTLC so the tests after it (which
	// wait for the channel to be clear) do not fail too. After a settle this is refused.
	t.Cleanup(func() { b.CancelHoldInvoice(context.Background(), hash) })
	bEvents, err := b.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	payCtx, payCancel := context.WithCancel(ctx)
	payDone := make(chan error, 1)
	go func() {
		_, err := a.PayInvoice(payCtx, lightning.PayParams{Invoice: hold.Bolt11, MaxFee: 10_000})
		payDone <- err
	}()
	waitEvent(t, ctx, bEvents, lightning.EventHoldInvoiceAccepted, hash)
	payCancel() // the service gives up waiting (or crashes)
	if err := <-payDone; !errors.Is(err, lightning.ErrPaymentPending) {
		t.Fatalf("PayInvoice after cancel: %v, want ErrPaymentPending", err)
	}

	restarted := env.Open(t, env.A)
	p, err := restarted.LookupPayment(ctx, hash)
	if err != nil || p.State != lightning.PaymentPending {
		t.Fatalf("LookupPayment while held = %+v, %v; want pending", p, err)
	}
	if err := b.SettleHoldInvoice(ctx, hex.EncodeToString(pre[:])); err != nil {
		t.Fatal(err)
	}
	err = lndtest.Poll(ctx, 50*time.Millisecond, func() (bool, error) {
		p, err = restarted.LookupPayment(ctx, hash)
		return err == nil && p.State != lightning.PaymentPending, nil
	})
	if err != nil || p.State != lightning.PaymentSucceeded || p.Preimage != hex.EncodeToString(pre[:]) || p.Amount != 4_000 {
		t.Fatalf("LookupPayment after settle = %+v, %v", p, err)
	}
	if err := lndtest.WaitHTLCsResolved(ctx, a, b); err != nil {
		t.Fatal(err)
	}
}

// While LND is down every call fails fast with ErrUnavailable; once it is back, calls
// work again and the event stream, resubscribed on its own, delivers settlements.
func TestRegtestRestart(t *testing.T) {
	env, a, b := regtest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	sub, cancelSub := context.WithCancel(ctx)
	events, err := a.Subscribe(sub)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancelSub()
		for range events {
		}
	}()
	ext, err := b.MakeInvoice(ctx, lightning.InvoiceParams{Amount: 1_000, Description: "while down"})
	if err != nil {
		t.Fatal(err)
	}

	env.StopNode(t, "a")
	restarted := false
	defer func() {
		if !restarted { // leave the network usable for the next test
			env.StartNode(t, "a")
		}
	}()
	calls := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"Info", func(ctx context.Context) error { _, err := a.Info(ctx); return err }},
		{"Balance", func(ctx context.Context) error { _, err := a.Balance(ctx); return err }},
		{"MakeInvoice", func(ctx context.Context) error {
			_, err := a.MakeInvoice(ctx, lightning.InvoiceParams{Amount: 1_000})
			return err
		}},
		{"LookupInvoice", func(ctx context.Context) error { _, err := a.LookupInvoice(ctx, ext.PaymentHash); return err }},
		{"PayInvoice", func(ctx context.Context) error {
			_, err := a.PayInvoice(ctx, lightning.PayParams{Invoice: ext.Bolt11})
			return err
		}},
		{"LookupPayment", func(ctx context.Context) error { _, err := a.LookupPayment(ctx, ext.PaymentHash); return err }},
		{"SignMessage", func(ctx context.Context) error { _, err := a.SignMessage(ctx, "hi"); return err }},
	}
	for _, c := range calls {
		start := time.Now()
		cctx, ccancel := context.WithTimeout(ctx, 30*time.Second)
		err := c.call(cctx)
		ccancel()
		if !errors.Is(err, lightning.ErrUnavailable) || errors.Is(err, lightning.ErrPaymentPending) {
			t.Errorf("%s while down: err = %v, want ErrUnavailable (payment never started)", c.name, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s while down took %v, want a quick failure", c.name, d)
		}
	}

	env.StartNode(t, "a")
	restarted = true
	if err := lndtest.WaitActive(ctx, a, b); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Info(ctx); err != nil {
		t.Fatalf("Info after restart: %v", err)
	}
	inv, err := a.MakeInvoice(ctx, lightning.InvoiceParams{Amount: 6_000, Description: "after restart"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.PayInvoice(ctx, lightning.PayParams{Invoice: inv.Bolt11, MaxFee: 10_000}); err != nil {
		t.Fatalf("pay after restart: %v", err)
	}
	ev := waitEvent(t, ctx, events, lightning.EventInvoiceSettled, inv.PaymentHash)
	if ev.Invoice.AmountReceived != 6_000 {
		t.Errorf("event %+v", ev.Invoice)
	}
	if err := lndtest.WaitHTLCsResolved(ctx, a, b); err != nil {
		t.Fatal(err)
	}
}

func waitEvent(t *testing.T, ctx context.Context, ch <-chan lightning.Event, typ lightning.EventType, hash string) lightning.Event {
	t.Helper()
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("event stream closed waiting for %s %s", typ, hash)
			}
			if ev.Type == typ && ((ev.Invoice != nil && ev.Invoice.PaymentHash == hash) || (ev.Payment != nil && ev.Payment.PaymentHash == hash)) {
				return ev
			}
		case <-ctx.Done():
			t.Fatalf("no %s event for %s: %v", typ, hash, ctx.Err())
		}
	}
}
