// Package lightningtest is the conformance suite every lightning.Backend
// passes: the sandbox in unit tests, LND on a regtest network.
package lightningtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nwc-go/nwc/internal/lightning"
	"github.com/nwc-go/nwc/internal/lightning/bolt11"
)

// Harness is what a backend under test provides.
type Harness struct {
	// Backend under test. It needs a spendable balance of at least
	// 200 000 msat (200 sat) for the suite.
	Backend lightning.Backend
	// PayFromOutside pays an invoice of Backend from another node and
	// blocks until the payment resolves: nil once settled, an error if it
	// failed (for hold invoices: when canceled).
	PayFromOutside func(ctx context.Context, bolt11 string) error
	// ExternalInvoice makes an invoice on another node that Backend can
	// pay; amount 0 makes a zero-amount invoice.
	ExternalInvoice func(ctx context.Context, amount int64, expiry time.Duration) (string, error)
	// ExternalNode is the public key (hex) of another node that accepts
	// keysend payments from Backend.
	ExternalNode string
	// Advance lets d pass for Backend and the other node: a fake clock
	// moves, real nodes sleep.
	Advance func(d time.Duration)
	// Timeout bounds each case; default 60 s.
	Timeout time.Duration
}

// Run runs every case as a subtest, each on a fresh harness from
// newHarness (which may also hand out the same nodes again: cases only
// assume what they create themselves and compare balances by difference).
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	cases := []struct {
		name string
		fn   func(t *testing.T, ctx context.Context, h Harness)
	}{
		{"Info", testInfo},
		{"Capabilities", testCapabilities},
		{"MakeInvoice", testMakeInvoice},
		{"MakeInvoiceInvalid", testMakeInvoiceInvalid},
		{"ReceiveFromOutside", testReceive},
		{"PayExternalInvoice", testPay},
		{"PayZeroAmountInvoice", testPayZeroAmount},
		{"PayExpiredInvoice", testPayExpired},
		{"PayInvalidInvoice", testPayInvalid},
		{"PayConcurrently", testPayConcurrently},
		{"PayInsufficientBalance", testPayTooMuch},
		{"Keysend", testKeysend},
		{"HoldInvoiceSettle", testHoldSettle},
		{"HoldInvoiceCancel", testHoldCancel},
		{"HoldInvoiceErrors", testHoldErrors},
		{"LookupNotFound", testLookupNotFound},
		{"SignMessage", testSignMessage},
		{"SubscribeClosesOnCancel", testSubscribeCloses},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			timeout := h.Timeout
			if timeout == 0 {
				timeout = 60 * time.Second
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			c.fn(t, ctx, h)
		})
	}
}

func testInfo(t *testing.T, ctx context.Context, h Harness) {
	info, err := h.Backend.Info(ctx)
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	if b, err := hex.DecodeString(info.PubKey); err != nil || len(b) != 33 || (b[0] != 2 && b[0] != 3) {
		t.Errorf("PubKey %q is not a compressed public key", info.PubKey)
	}
	switch info.Network {
	case lightning.Mainnet, lightning.Testnet, lightning.Signet, lightning.Regtest:
	default:
		t.Errorf("Network %q", info.Network)
	}
	if info.BlockHeight == 0 {
		t.Error("BlockHeight is 0")
	}
	if b, err := hex.DecodeString(info.BlockHash); err != nil || len(b) != 32 {
		t.Errorf("BlockHash %q", info.BlockHash)
	}
	if info.Color != "" && (len(info.Color) != 7 || info.Color[0] != '#') {
		t.Errorf("Color %q", info.Color)
	}
}

func testCapabilities(t *testing.T, ctx context.Context, h Harness) {
	c := h.Backend.Capabilities()
	for _, m := range []string{"pay_invoice", "make_invoice", "lookup_invoice", "get_balance", "get_info"} {
		if !c.Has(m) {
			t.Errorf("Methods %v lack %s", c.Methods, m)
		}
	}
	for _, n := range c.Notifications {
		switch n {
		case "payment_received", "payment_sent", "hold_invoice_accepted":
		default:
			t.Errorf("unknown notification type %q", n)
		}
	}
}

func testMakeInvoice(t *testing.T, ctx context.Context, h Harness) {
	info, err := h.Backend.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dh := sha256.Sum256([]byte("a long description that only travels as a hash"))
	tests := []struct {
		name string
		p    lightning.InvoiceParams
	}{
		{"amount and description", lightning.InvoiceParams{Amount: 21_000, Description: "coffee", Expiry: 10 * time.Minute}},
		{"any amount", lightning.InvoiceParams{Description: "tip jar", Expiry: time.Hour}},
		{"description hash", lightning.InvoiceParams{Amount: 5_000, DescriptionHash: hex.EncodeToString(dh[:]), Expiry: 2 * time.Hour}},
		{"default expiry", lightning.InvoiceParams{Amount: 1_000, Description: "défaut ☕"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := h.Backend.MakeInvoice(ctx, tt.p)
			if err != nil {
				t.Fatalf("MakeInvoice: %v", err)
			}
			dec, err := bolt11.Decode(inv.Bolt11)
			if err != nil {
				t.Fatalf("decode %s: %v", inv.Bolt11, err)
			}
			wantExpiry := tt.p.Expiry
			if wantExpiry == 0 {
				wantExpiry = lightning.DefaultExpiry
			}
			if dec.Amount != tt.p.Amount || inv.Amount != tt.p.Amount {
				t.Errorf("amount: bolt11 %d, invoice %d, want %d", dec.Amount, inv.Amount, tt.p.Amount)
			}
			if got := hex.EncodeToString(dec.PaymentHash[:]); got != inv.PaymentHash {
				t.Errorf("payment hash: bolt11 %s, invoice %s", got, inv.PaymentHash)
			}
			if dec.Expiry != wantExpiry || inv.ExpiresAt.Sub(inv.CreatedAt) != wantExpiry {
				t.Errorf("expiry: bolt11 %v, invoice %v, want %v", dec.Expiry, inv.ExpiresAt.Sub(inv.CreatedAt), wantExpiry)
			}
			if !dec.Timestamp.Equal(inv.CreatedAt) {
				t.Errorf("timestamp %v, created_at %v", dec.Timestamp, inv.CreatedAt)
			}
			if tt.p.DescriptionHash != "" {
				if dec.DescriptionHash == nil || hex.EncodeToString(dec.DescriptionHash[:]) != tt.p.DescriptionHash || inv.DescriptionHash != tt.p.DescriptionHash {
					t.Errorf("description hash not carried: %+v", inv)
				}
			} else if dec.Description != tt.p.Description || inv.Description != tt.p.Description {
				t.Errorf("description: bolt11 %q, invoice %q, want %q", dec.Description, inv.Description, tt.p.Description)
			}
			if dec.PaymentSecret == nil {
				t.Error("no payment secret")
			}
			if got := hex.EncodeToString(dec.Payee.SerializeCompressed()); got != info.PubKey {
				t.Errorf("payee %s, node %s", got, info.PubKey)
			}
			if dec.Network != info.Network && !(dec.Network == bolt11.Mainnet && info.Network == lightning.Mainnet) {
				t.Errorf("invoice network %s, node %s", dec.Network, info.Network)
			}
			if inv.State != lightning.InvoiceOpen || inv.Preimage != "" || inv.IsHold || inv.IsKeysend {
				t.Errorf("new invoice: state %s preimage %q hold %v keysend %v", inv.State, inv.Preimage, inv.IsHold, inv.IsKeysend)
			}
			got, err := h.Backend.LookupInvoice(ctx, inv.PaymentHash)
			if err != nil || got.Bolt11 != inv.Bolt11 || got.State != lightning.InvoiceOpen {
				t.Errorf("LookupInvoice = %+v, %v", got, err)
			}
		})
	}
}

func testMakeInvoiceInvalid(t *testing.T, ctx context.Context, h Harness) {
	tests := []struct {
		name string
		p    lightning.InvoiceParams
	}{
		{"negative amount", lightning.InvoiceParams{Amount: -1}},
		{"bad description hash", lightning.InvoiceParams{Amount: 1000, DescriptionHash: "abcd"}},
		{"bad hold hash", lightning.InvoiceParams{Amount: 1000, PaymentHash: "zz"}},
	}
	for _, tt := range tests {
		if _, err := h.Backend.MakeInvoice(ctx, tt.p); !errors.Is(err, lightning.ErrInvalidParams) {
			t.Errorf("%s: err = %v, want ErrInvalidParams", tt.name, err)
		}
	}
}

func testReceive(t *testing.T, ctx context.Context, h Harness) {
	events := subscribe(t, ctx, h.Backend)
	before := balance(t, ctx, h.Backend)
	inv, err := h.Backend.MakeInvoice(ctx, lightning.InvoiceParams{Amount: 50_000, Description: "from outside"})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.PayFromOutside(ctx, inv.Bolt11); err != nil {
		t.Fatalf("PayFromOutside: %v", err)
	}
	ev := waitEvent(t, ctx, events, lightning.EventInvoiceSettled, inv.PaymentHash)
	if ev.Invoice.AmountReceived != 50_000 || ev.Invoice.State != lightning.InvoiceSettled {
		t.Errorf("event invoice: %+v", ev.Invoice)
	}
	got, err := h.Backend.LookupInvoice(ctx, inv.PaymentHash)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != lightning.InvoiceSettled || got.AmountReceived != 50_000 || got.SettledAt.IsZero() {
		t.Errorf("settled invoice: %+v", got)
	}
	checkPreimage(t, got.Preimage, inv.PaymentHash)
	if after := balance(t, ctx, h.Backend); after != before+50_000 {
		t.Errorf("balance %d -> %d, want +50000", before, after)
	}
}

func testPay(t *testing.T, ctx context.Context, h Harness) {
	ext, hash := externalInvoice(t, ctx, h, 10_000, time.Hour)
	events := subscribe(t, ctx, h.Backend)
	before := balance(t, ctx, h.Backend)
	res, err := h.Backend.PayInvoice(ctx, lightning.PayParams{Invoice: ext, MaxFee: 5_000})
	if err != nil {
		t.Fatalf("PayInvoice: %v", err)
	}
	checkPreimage(t, res.Preimage, hash)
	if res.FeePaid < 0 || res.FeePaid > 5_000 || res.Amount != 10_000 || res.PaymentHash != hash {
		t.Errorf("result %+v", res)
	}
	ev := waitEvent(t, ctx, events, lightning.EventPaymentSent, hash)
	if ev.Payment.State != lightning.PaymentSucceeded || ev.Payment.Preimage != res.Preimage {
		t.Errorf("event payment: %+v", ev.Payment)
	}
	p, err := h.Backend.LookupPayment(ctx, hash)
	if err != nil {
		t.Fatal(err)
	}
	if p.State != lightning.PaymentSucceeded || p.Preimage != res.Preimage || p.FeePaid != res.FeePaid || p.Amount != 10_000 || p.IsKeysend {
		t.Errorf("LookupPayment = %+v, result %+v", p, res)
	}
	if after := balance(t, ctx, h.Backend); after != before-10_000-res.FeePaid {
		t.Errorf("balance %d -> %d, want -%d", before, after, 10_000+res.FeePaid)
	}
	if _, err := h.Backend.PayInvoice(ctx, lightning.PayParams{Invoice: ext, MaxFee: 5_000}); !errors.Is(err, lightning.ErrAlreadyPaid) {
		t.Errorf("second payment: err = %v, want ErrAlreadyPaid", err)
	}
}

func testPayZeroAmount(t *testing.T, ctx context.Context, h Harness) {
	ext, hash := externalInvoice(t, ctx, h, 0, time.Hour)
	if _, err := h.Backend.PayInvoice(ctx, lightning.PayParams{Invoice: ext}); !errors.Is(err, lightning.ErrInvalidInvoice) {
		t.Errorf("no amount: err = %v, want ErrInvalidInvoice", err)
	}
	res, err := h.Backend.PayInvoice(ctx, lightning.PayParams{Invoice: ext, Amount: 7_000, MaxFee: 5_000})
	if err != nil {
		t.Fatalf("PayInvoice: %v", err)
	}
	if res.Amount != 7_000 {
		t.Errorf("paid %d, want 7000", res.Amount)
	}
	checkPreimage(t, res.Preimage, hash)
}

func testPayExpired(t *testing.T, ctx context.Context, h Harness) {
	ext, _ := externalInvoice(t, ctx, h, 3_000, time.Second)
	h.Advance(2 * time.Second)
	before := balance(t, ctx, h.Backend)
	if _, err := h.Backend.PayInvoice(ctx, lightning.PayParams{Invoice: ext}); !errors.Is(err, lightning.ErrInvoiceExpired) {
		t.Fatalf("err = %v, want ErrInvoiceExpired", err)
	}
	if after := balance(t, ctx, h.Backend); after != before {
		t.Errorf("balance changed %d -> %d", before, after)
	}
}

func testPayInvalid(t *testing.T, ctx context.Context, h Harness) {
	for _, s := range []string{"", "lnbc1garbage", "not an invoice", strings.Repeat("q", 500)} {
		if _, err := h.Backend.PayInvoice(ctx, lightning.PayParams{Invoice: s}); !errors.Is(err, lightning.ErrInvalidInvoice) {
			t.Errorf("PayInvoice(%.20q): err = %v, want ErrInvalidInvoice", s, err)
		}
	}
}

func testPayConcurrently(t *testing.T, ctx context.Context, h Harness) {
	ext, _ := externalInvoice(t, ctx, h, 4_000, time.Hour)
	before := balance(t, ctx, h.Backend)
	const n = 4
	errs := make([]error, n)
	fees := make([]int64, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := h.Backend.PayInvoice(ctx, lightning.PayParams{Invoice: ext, MaxFee: 5_000})
			errs[i], fees[i] = err, res.FeePaid
		}()
	}
	wg.Wait()
	ok := 0
	var fee int64
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
			fee = fees[i]
		case errors.Is(err, lightning.ErrAlreadyPaid), errors.Is(err, lightning.ErrPaymentInFlight):
		default:
			t.Errorf("payment %d: unexpected error %v", i, err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d payments succeeded, want exactly 1 (errors %v)", ok, errs)
	}
	if after := balance(t, ctx, h.Backend); after != before-4_000-fee {
		t.Errorf("balance %d -> %d, want -%d", before, after, 4_000+fee)
	}
}

func testPayTooMuch(t *testing.T, ctx context.Context, h Harness) {
	before := balance(t, ctx, h.Backend)
	ext, hash := externalInvoice(t, ctx, h, before+1_000_000, time.Hour)
	if _, err := h.Backend.PayInvoice(ctx, lightning.PayParams{Invoice: ext}); !errors.Is(err, lightning.ErrPaymentFailed) {
		t.Fatalf("err = %v, want ErrPaymentFailed", err)
	}
	if after := balance(t, ctx, h.Backend); after != before {
		t.Errorf("balance changed %d -> %d", before, after)
	}
	if p, err := h.Backend.LookupPayment(ctx, hash); err == nil && p.State != lightning.PaymentFailed {
		t.Errorf("LookupPayment state %s, want failed (or not found)", p.State)
	}
}

func testKeysend(t *testing.T, ctx context.Context, h Harness) {
	tlvs := []lightning.TLV{{Type: 7629169, Value: []byte(`{"podcast":"x"}`)}, {Type: 696969, Value: []byte{1, 2, 3}}}
	events := subscribe(t, ctx, h.Backend)
	before := balance(t, ctx, h.Backend)
	res, err := h.Backend.PayKeysend(ctx, lightning.KeysendParams{Destination: h.ExternalNode, Amount: 5_000, TLVs: tlvs, MaxFee: 5_000})
	if err != nil {
		t.Fatalf("PayKeysend: %v", err)
	}
	checkPreimage(t, res.Preimage, res.PaymentHash)
	if res.FeePaid > 5_000 || res.Amount != 5_000 {
		t.Errorf("result %+v", res)
	}
	waitEvent(t, ctx, events, lightning.EventPaymentSent, res.PaymentHash)
	p, err := h.Backend.LookupPayment(ctx, res.PaymentHash)
	if err != nil {
		t.Fatal(err)
	}
	if p.State != lightning.PaymentSucceeded || !p.IsKeysend || p.Destination != h.ExternalNode || p.Preimage != res.Preimage {
		t.Errorf("LookupPayment = %+v", p)
	}
	if after := balance(t, ctx, h.Backend); after != before-5_000-res.FeePaid {
		t.Errorf("balance %d -> %d", before, after)
	}

	// With a preimage chosen by the caller.
	pre := randomHex(t)
	res, err = h.Backend.PayKeysend(ctx, lightning.KeysendParams{Destination: h.ExternalNode, Amount: 1_000, Preimage: pre, MaxFee: 5_000})
	if err != nil {
		t.Fatalf("PayKeysend with preimage: %v", err)
	}
	if res.Preimage != pre {
		t.Errorf("preimage %s, want %s", res.Preimage, pre)
	}
	checkPreimage(t, res.Preimage, res.PaymentHash)

	for _, bad := range []lightning.KeysendParams{
		{Destination: "02abcd", Amount: 1_000},
		{Destination: h.ExternalNode, Amount: 0},
		{Destination: h.ExternalNode, Amount: 1_000, Preimage: "xyz"},
	} {
		if _, err := h.Backend.PayKeysend(ctx, bad); !errors.Is(err, lightning.ErrInvalidParams) {
			t.Errorf("PayKeysend(%+v): err = %v, want ErrInvalidParams", bad, err)
		}
	}
}

// holdAccepted makes a hold invoice, has it paid from outside and waits for
// the accepted event. It returns the preimage, the invoice and the payer's
// result channel.
func holdAccepted(t *testing.T, ctx context.Context, h Harness, events <-chan lightning.Event) (string, lightning.Invoice, <-chan error) {
	t.Helper()
	pre := randomHex(t)
	hash := hashOf(t, pre)
	inv, err := h.Backend.MakeInvoice(ctx, lightning.InvoiceParams{Amount: 15_000, Description: "hold", PaymentHash: hash, Expiry: 10 * time.Minute})
	if err != nil {
		t.Fatalf("MakeInvoice(hold): %v", err)
	}
	if inv.PaymentHash != hash || !inv.IsHold || inv.State != lightning.InvoiceOpen || inv.Preimage != "" {
		t.Fatalf("hold invoice %+v", inv)
	}
	dec, err := bolt11.Decode(inv.Bolt11)
	if err != nil || hex.EncodeToString(dec.PaymentHash[:]) != hash {
		t.Fatalf("decoded hold invoice hash mismatch (%v)", err)
	}
	info, err := h.Backend.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	payer := make(chan error, 1)
	go func() { payer <- h.PayFromOutside(ctx, inv.Bolt11) }()
	ev := waitEvent(t, ctx, events, lightning.EventHoldInvoiceAccepted, hash)
	if ev.Invoice.State != lightning.InvoiceAccepted || ev.Invoice.SettleDeadline <= info.BlockHeight || ev.Invoice.Preimage != "" {
		t.Errorf("accepted event: %+v (height %d)", ev.Invoice, info.BlockHeight)
	}
	got, err := h.Backend.LookupInvoice(ctx, hash)
	if err != nil || got.State != lightning.InvoiceAccepted || got.AmountReceived != 15_000 {
		t.Errorf("LookupInvoice while accepted = %+v, %v", got, err)
	}
	return pre, inv, payer
}

func testHoldSettle(t *testing.T, ctx context.Context, h Harness) {
	events := subscribe(t, ctx, h.Backend)
	before := balance(t, ctx, h.Backend)
	pre, inv, payer := holdAccepted(t, ctx, h, events)
	if err := h.Backend.SettleHoldInvoice(ctx, pre); err != nil {
		t.Fatalf("SettleHoldInvoice: %v", err)
	}
	if err := <-payer; err != nil {
		t.Errorf("payer: %v", err)
	}
	waitEvent(t, ctx, events, lightning.EventInvoiceSettled, inv.PaymentHash)
	got, err := h.Backend.LookupInvoice(ctx, inv.PaymentHash)
	if err != nil || got.State != lightning.InvoiceSettled || got.Preimage != pre {
		t.Errorf("LookupInvoice after settle = %+v, %v", got, err)
	}
	if after := balance(t, ctx, h.Backend); after != before+15_000 {
		t.Errorf("balance %d -> %d, want +15000", before, after)
	}
}

func testHoldCancel(t *testing.T, ctx context.Context, h Harness) {
	events := subscribe(t, ctx, h.Backend)
	before := balance(t, ctx, h.Backend)
	_, inv, payer := holdAccepted(t, ctx, h, events)
	if err := h.Backend.CancelHoldInvoice(ctx, inv.PaymentHash); err != nil {
		t.Fatalf("CancelHoldInvoice: %v", err)
	}
	if err := <-payer; err == nil {
		t.Error("payer succeeded after cancel")
	}
	got, err := h.Backend.LookupInvoice(ctx, inv.PaymentHash)
	if err != nil || got.State != lightning.InvoiceCanceled || got.Preimage != "" {
		t.Errorf("LookupInvoice after cancel = %+v, %v", got, err)
	}
	if after := balance(t, ctx, h.Backend); after != before {
		t.Errorf("balance %d -> %d after cancel", before, after)
	}
}

func testHoldErrors(t *testing.T, ctx context.Context, h Harness) {
	if err := h.Backend.SettleHoldInvoice(ctx, randomHex(t)); !errors.Is(err, lightning.ErrNotFound) {
		t.Errorf("settle unknown: err = %v, want ErrNotFound", err)
	}
	if err := h.Backend.CancelHoldInvoice(ctx, randomHex(t)); !errors.Is(err, lightning.ErrNotFound) {
		t.Errorf("cancel unknown: err = %v, want ErrNotFound", err)
	}
	pre := randomHex(t)
	if _, err := h.Backend.MakeInvoice(ctx, lightning.InvoiceParams{Amount: 1_000, PaymentHash: hashOf(t, pre)}); err != nil {
		t.Fatal(err)
	}
	if err := h.Backend.SettleHoldInvoice(ctx, pre); !errors.Is(err, lightning.ErrInvoiceState) {
		t.Errorf("settle before accepted: err = %v, want ErrInvoiceState", err)
	}
	if err := h.Backend.SettleHoldInvoice(ctx, "nothex"); !errors.Is(err, lightning.ErrInvalidParams) {
		t.Errorf("settle bad preimage: err = %v, want ErrInvalidParams", err)
	}
}

func testLookupNotFound(t *testing.T, ctx context.Context, h Harness) {
	hash := randomHex(t)
	if _, err := h.Backend.LookupInvoice(ctx, hash); !errors.Is(err, lightning.ErrNotFound) {
		t.Errorf("LookupInvoice: err = %v, want ErrNotFound", err)
	}
	if _, err := h.Backend.LookupPayment(ctx, hash); !errors.Is(err, lightning.ErrNotFound) {
		t.Errorf("LookupPayment: err = %v, want ErrNotFound", err)
	}
	if _, err := h.Backend.LookupInvoice(ctx, "xyz"); !errors.Is(err, lightning.ErrInvalidParams) {
		t.Errorf("LookupInvoice(bad hash): err = %v, want ErrInvalidParams", err)
	}
}

func testSignMessage(t *testing.T, ctx context.Context, h Harness) {
	info, err := h.Backend.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range []string{"hello", "", "ナンセンス 1杯"} {
		sig, err := h.Backend.SignMessage(ctx, msg)
		if err != nil || sig == "" {
			t.Fatalf("SignMessage(%q) = %q, %v", msg, sig, err)
		}
		if pub, err := lightning.VerifyMessage(msg, sig); err != nil || pub != info.PubKey {
			t.Errorf("signature of %q recovers %s (%v), node is %s", msg, pub, err, info.PubKey)
		}
	}
}

func testSubscribeCloses(t *testing.T, ctx context.Context, h Harness) {
	subCtx, cancel := context.WithCancel(ctx)
	ch, err := h.Backend.Subscribe(subCtx)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-ctx.Done():
			t.Fatal("event channel not closed after its context was canceled")
		}
	}
}

// Helpers.

func subscribe(t *testing.T, ctx context.Context, b lightning.Backend) <-chan lightning.Event {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	ch, err := b.Subscribe(ctx)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		for range ch { // drain until the backend closes it
		}
	})
	return ch
}

// waitEvent returns the first event of type typ about hash.
func waitEvent(t *testing.T, ctx context.Context, ch <-chan lightning.Event, typ lightning.EventType, hash string) lightning.Event {
	t.Helper()
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("event stream closed while waiting for %s %s", typ, hash)
			}
			if ev.Type != typ {
				continue
			}
			if (ev.Invoice != nil && ev.Invoice.PaymentHash == hash) || (ev.Payment != nil && ev.Payment.PaymentHash == hash) {
				return ev
			}
		case <-ctx.Done():
			t.Fatalf("no %s event for %s: %v", typ, hash, ctx.Err())
		}
	}
}

func balance(t *testing.T, ctx context.Context, b lightning.Backend) int64 {
	t.Helper()
	v, err := b.Balance(ctx)
	if err != nil {
		t.Fatalf("Balance: %v", err)
	}
	return v
}

func externalInvoice(t *testing.T, ctx context.Context, h Harness, amount int64, expiry time.Duration) (string, string) {
	t.Helper()
	s, err := h.ExternalInvoice(ctx, amount, expiry)
	if err != nil {
		t.Fatalf("ExternalInvoice: %v", err)
	}
	dec, err := bolt11.Decode(s)
	if err != nil {
		t.Fatalf("external invoice does not decode: %v", err)
	}
	return s, hex.EncodeToString(dec.PaymentHash[:])
}

func checkPreimage(t *testing.T, preimage, hash string) {
	t.Helper()
	if hashOf(t, preimage) != hash {
		t.Errorf("sha256(preimage %q) != payment hash %s", preimage, hash)
	}
}

func hashOf(t *testing.T, preimage string) string {
	t.Helper()
	b, err := hex.DecodeString(preimage)
	if err != nil || len(b) != 32 {
		t.Errorf("preimage %q is not 32 bytes of hex", preimage)
		return ""
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func randomHex(t *testing.T) string {
	t.Helper()
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}
