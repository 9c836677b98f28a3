package sandbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"

	"github.com/nwc-go/nwc/internal/lightning"
	"github.com/nwc-go/nwc/internal/lightning/bolt11"
)

// foreignInvoice is an invoice of a node that is neither the sandbox nor
// on its Net: paying it follows the script.
func foreignInvoice(t *testing.T, now time.Time, amount int64, seed byte) (string, string) {
	t.Helper()
	kb := sha256.Sum256([]byte{seed})
	key, _ := btcec.PrivKeyFromBytes(kb[:])
	hash := sha256.Sum256([]byte{seed, 1})
	secret := [32]byte{seed}
	s, err := bolt11.Encode(&bolt11.Invoice{
		Network: bolt11.Regtest, Amount: amount, Timestamp: now, PaymentHash: hash,
		PaymentSecret: &secret, Description: "foreign", Expiry: time.Hour, MinFinalCLTVExpiry: 40,
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	return s, hex.EncodeToString(hash[:])
}

func mustBalance(t *testing.T, s *Sandbox) int64 {
	t.Helper()
	b, err := s.Balance(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestScriptedOutcomes(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		def      Outcome // Config.ExternalOutcome
		set      Outcome // SetOutcome for the hash, "" = none
		amount   int64
		maxFee   int64
		wantErr  error
		wantFee  int64
		failText string
	}{
		{name: "default succeed", amount: 100_000, wantFee: 1_100},
		{name: "explicit default succeed", def: OutcomeSucceed, amount: 2_000_000, wantFee: 3_000},
		{name: "fee capped by limit", amount: 2_000_000, maxFee: 500, wantFee: 500},
		{name: "default fail", def: OutcomeFail, amount: 100_000, wantErr: lightning.ErrPaymentFailed, failText: "no route"},
		{name: "per-hash fail overrides default", set: OutcomeFail, amount: 100_000, wantErr: lightning.ErrPaymentFailed, failText: "no route"},
		{name: "per-hash succeed overrides fail default", def: OutcomeFail, set: OutcomeSucceed, amount: 50_000, wantFee: 1_050},
		{name: "insufficient balance", amount: 20_000_000, wantErr: lightning.ErrInsufficientBalance, failText: "insufficient balance"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			s := openTest(t, Config{Seed: []byte("s"), InitialBalance: 10_000_000, ExternalOutcome: tt.def, Clock: clock.Now})
			inv, hash := foreignInvoice(t, clock.Now(), tt.amount, 7)
			if tt.set != "" {
				if err := s.SetOutcome(ctx, hash, tt.set); err != nil {
					t.Fatal(err)
				}
			}
			res, err := s.PayInvoice(ctx, lightning.PayParams{Invoice: inv, MaxFee: tt.maxFee})
			p, lerr := s.LookupPayment(ctx, hash)
			if lerr != nil {
				t.Fatalf("LookupPayment: %v", lerr)
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !errors.Is(err, lightning.ErrPaymentFailed) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if p.State != lightning.PaymentFailed || p.FailureReason != tt.failText || p.Preimage != "" {
					t.Errorf("payment %+v", p)
				}
				if b := mustBalance(t, s); b != 10_000_000 {
					t.Errorf("balance %d after failure", b)
				}
				return
			}
			if err != nil {
				t.Fatalf("PayInvoice: %v", err)
			}
			h, _ := hex.DecodeString(hash)
			fake := s.derive("external preimage", h)
			if res.Preimage != hex.EncodeToString(fake[:]) || p.Preimage != res.Preimage {
				t.Errorf("preimage %s / lookup %s, want the deterministic fake", res.Preimage, p.Preimage)
			}
			if res.FeePaid != tt.wantFee || p.FeePaid != tt.wantFee {
				t.Errorf("fee %d / lookup %d, want %d", res.FeePaid, p.FeePaid, tt.wantFee)
			}
			if b := mustBalance(t, s); b != 10_000_000-tt.amount-tt.wantFee {
				t.Errorf("balance %d", b)
			}
		})
	}
}

func TestRetryAfterFailure(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s := openTest(t, Config{Seed: []byte("s"), InitialBalance: 1_000, Clock: clock.Now})
	inv, hash := foreignInvoice(t, clock.Now(), 100_000, 3)
	if _, err := s.PayInvoice(ctx, lightning.PayParams{Invoice: inv}); !errors.Is(err, lightning.ErrInsufficientBalance) {
		t.Fatalf("err = %v, want ErrInsufficientBalance", err)
	}
	own, err := s.MakeInvoice(ctx, lightning.InvoiceParams{Amount: 500_000})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PayFromOutside(ctx, own.Bolt11); err != nil {
		t.Fatal(err)
	}
	res, err := s.PayInvoice(ctx, lightning.PayParams{Invoice: inv})
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if p, _ := s.LookupPayment(ctx, hash); p.State != lightning.PaymentSucceeded || p.Preimage != res.Preimage {
		t.Errorf("payment after retry: %+v", p)
	}
}

func TestHangAndRelease(t *testing.T) {
	tests := []struct {
		name        string
		release     Outcome
		cancelFirst bool // the payer gives up before Release
	}{
		{"release succeed", OutcomeSucceed, false},
		{"release fail", OutcomeFail, false},
		{"payer gives up, then succeed", OutcomeSucceed, true},
		{"payer gives up, then fail", OutcomeFail, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			clock := newFakeClock()
			s := openTest(t, Config{Seed: []byte("h"), InitialBalance: 1_000_000, ExternalOutcome: OutcomeHang, Clock: clock.Now})
			pending := make(chan string, 1)
			s.testPending = func(h string) { pending <- h }
			events, err := s.Subscribe(ctx)
			if err != nil {
				t.Fatal(err)
			}
			inv, hash := foreignInvoice(t, clock.Now(), 100_000, 9)

			payCtx, cancelPay := context.WithCancel(ctx)
			defer cancelPay()
			type result struct {
				res lightning.PayResult
				err error
			}
			done := make(chan result, 1)
			go func() {
				res, err := s.PayInvoice(payCtx, lightning.PayParams{Invoice: inv})
				done <- result{res, err}
			}()
			if got := <-pending; got != hash {
				t.Fatalf("pending %s, want %s", got, hash)
			}
			p, err := s.LookupPayment(ctx, hash)
			if err != nil || p.State != lightning.PaymentPending || p.Preimage != "" {
				t.Fatalf("while hung: %+v, %v", p, err)
			}
			if b := mustBalance(t, s); b != 1_000_000-100_000-1_100 {
				t.Errorf("balance while pending %d: amount and fee must be reserved", b)
			}
			if _, err := s.PayInvoice(ctx, lightning.PayParams{Invoice: inv}); !errors.Is(err, lightning.ErrPaymentInFlight) {
				t.Errorf("second attempt: err = %v, want ErrPaymentInFlight", err)
			}
			if tt.cancelFirst {
				cancelPay()
				r := <-done
				if !errors.Is(r.err, lightning.ErrPaymentPending) || !errors.Is(r.err, context.Canceled) {
					t.Fatalf("canceled payer: err = %v, want ErrPaymentPending", r.err)
				}
			}
			if err := s.Release(ctx, hash, tt.release); err != nil {
				t.Fatalf("Release: %v", err)
			}
			if !tt.cancelFirst {
				r := <-done
				if tt.release == OutcomeSucceed && (r.err != nil || r.res.Preimage == "") {
					t.Errorf("payer after release: %+v, %v", r.res, r.err)
				}
				if tt.release == OutcomeFail && !errors.Is(r.err, lightning.ErrPaymentFailed) {
					t.Errorf("payer after failed release: err = %v", r.err)
				}
			}
			p, _ = s.LookupPayment(ctx, hash)
			switch tt.release {
			case OutcomeSucceed:
				if p.State != lightning.PaymentSucceeded || p.Preimage == "" {
					t.Errorf("after release: %+v", p)
				}
				ev := <-events
				if ev.Type != lightning.EventPaymentSent || ev.Payment.PaymentHash != hash {
					t.Errorf("event %+v", ev)
				}
			case OutcomeFail:
				if p.State != lightning.PaymentFailed {
					t.Errorf("after release: %+v", p)
				}
				if b := mustBalance(t, s); b != 1_000_000 {
					t.Errorf("balance %d after failed release, want refund", b)
				}
			}
			if err := s.Release(ctx, hash, OutcomeSucceed); !errors.Is(err, lightning.ErrInvoiceState) {
				t.Errorf("second Release: err = %v, want ErrInvoiceState", err)
			}
		})
	}
}

func TestReleaseErrors(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, Config{Seed: []byte("r")})
	if err := s.Release(ctx, strings.Repeat("00", 32), OutcomeSucceed); !errors.Is(err, lightning.ErrNotFound) {
		t.Errorf("unknown: err = %v", err)
	}
	if err := s.Release(ctx, "xx", OutcomeSucceed); !errors.Is(err, lightning.ErrInvalidParams) {
		t.Errorf("bad hash: err = %v", err)
	}
	if err := s.Release(ctx, strings.Repeat("00", 32), "maybe"); !errors.Is(err, lightning.ErrInvalidParams) {
		t.Errorf("bad outcome: err = %v", err)
	}
	if err := s.SetOutcome(ctx, strings.Repeat("00", 32), "maybe"); !errors.Is(err, lightning.ErrInvalidParams) {
		t.Errorf("SetOutcome bad outcome: err = %v", err)
	}
}

// A ledger survives Close/Open on the same file, including a payment that
// was hung when the process went away.
func TestPersistence(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	path := filepath.Join(t.TempDir(), "ledger.db")
	cfg := Config{Path: path, Seed: []byte("persist"), InitialBalance: 1_000_000, ExternalOutcome: OutcomeHang, Clock: clock.Now}

	s1, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	pending := make(chan string, 1)
	s1.testPending = func(h string) { pending <- h }
	inv, err := s1.MakeInvoice(ctx, lightning.InvoiceParams{Amount: 40_000, Description: "kept"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s1.PayFromOutside(ctx, inv.Bolt11); err != nil {
		t.Fatal(err)
	}
	ext, extHash := foreignInvoice(t, clock.Now(), 10_000, 5)
	payCtx, cancelPay := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := s1.PayInvoice(payCtx, lightning.PayParams{Invoice: ext})
		done <- err
	}()
	<-pending
	cancelPay()
	if err := <-done; !errors.Is(err, lightning.ErrPaymentPending) {
		t.Fatalf("hung payment: err = %v", err)
	}
	later, laterHash := foreignInvoice(t, clock.Now(), 1_000, 6)
	if err := s1.SetOutcome(ctx, laterHash, OutcomeFail); err != nil {
		t.Fatal(err)
	}
	balance1 := mustBalance(t, s1)
	pub1, height1 := s1.PubKey(), s1.BlockHeight()
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}

	clock.Advance(30 * time.Minute)
	s2 := openTest(t, cfg)
	if s2.PubKey() != pub1 {
		t.Errorf("pubkey changed %s -> %s", pub1, s2.PubKey())
	}
	if h := s2.BlockHeight(); h != height1+3 {
		t.Errorf("height %d after 30 min, want %d (genesis kept)", h, height1+3)
	}
	if b := mustBalance(t, s2); b != balance1 {
		t.Errorf("balance %d, want %d", b, balance1)
	}
	got, err := s2.LookupInvoice(ctx, inv.PaymentHash)
	if err != nil || got.State != lightning.InvoiceSettled || got.Bolt11 != inv.Bolt11 || got.Preimage == "" {
		t.Errorf("invoice after restart: %+v, %v", got, err)
	}
	p, err := s2.LookupPayment(ctx, extHash)
	if err != nil || p.State != lightning.PaymentPending {
		t.Fatalf("hung payment after restart: %+v, %v", p, err)
	}
	if _, err := s2.PayInvoice(ctx, lightning.PayParams{Invoice: ext}); !errors.Is(err, lightning.ErrPaymentInFlight) {
		t.Errorf("paying the pending invoice again: err = %v, want ErrPaymentInFlight", err)
	}
	if err := s2.Release(ctx, extHash, OutcomeSucceed); err != nil {
		t.Fatal(err)
	}
	if p, _ := s2.LookupPayment(ctx, extHash); p.State != lightning.PaymentSucceeded || p.Preimage == "" {
		t.Errorf("after release: %+v", p)
	}
	if _, err := s2.PayInvoice(ctx, lightning.PayParams{Invoice: later}); !errors.Is(err, lightning.ErrPaymentFailed) {
		t.Errorf("scripted outcome lost across restart: err = %v", err)
	}
	// The derivation counter persisted: new invoices do not repeat old hashes.
	inv2, err := s2.MakeInvoice(ctx, lightning.InvoiceParams{Amount: 40_000, Description: "kept"})
	if err != nil || inv2.PaymentHash == inv.PaymentHash {
		t.Errorf("new invoice after restart: %+v, %v", inv2, err)
	}
}

// A second process can open the file while the first one never closed it
// (as after kill -9): every committed row is there. (Shared: in one process the first
// Sandbox's lock is still held; a killed process's lock is dropped by the kernel.)
func TestCommittedRowsVisibleWithoutClose(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	path := filepath.Join(t.TempDir(), "ledger.db")
	cfg := Config{Path: path, Seed: []byte("crash"), InitialBalance: 1_000_000, ExternalOutcome: OutcomeHang, Clock: clock.Now, Shared: true}
	s1 := openTest(t, cfg)
	pending := make(chan string, 1)
	s1.testPending = func(h string) { pending <- h }
	ext, extHash := foreignInvoice(t, clock.Now(), 10_000, 8)
	payCtx, cancelPay := context.WithCancel(ctx)
	defer cancelPay()
	done := make(chan error, 1)
	go func() {
		_, err := s1.PayInvoice(payCtx, lightning.PayParams{Invoice: ext})
		done <- err
	}()
	<-pending
	s2 := openTest(t, cfg)
	if p, err := s2.LookupPayment(ctx, extHash); err != nil || p.State != lightning.PaymentPending {
		t.Fatalf("second opener sees %+v, %v", p, err)
	}
	cancelPay()
	<-done
}

func TestKeyHandling(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "a.db")
	s, err := Open(ctx, Config{Path: path, Seed: []byte("one")})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(ctx, Config{Path: path, Seed: []byte("two")}); !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("other seed: err = %v, want ErrKeyMismatch", err)
	}

	// No key at all: generated once, stored, reused.
	path = filepath.Join(dir, "b.db")
	s, err = Open(ctx, Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	pub := s.PubKey()
	s.Close()
	s = openTest(t, Config{Path: path})
	if s.PubKey() != pub {
		t.Errorf("generated key not reused: %s then %s", pub, s.PubKey())
	}

	// An explicit key wins over the seed.
	k, _ := btcec.NewPrivateKey()
	s = openTest(t, Config{NodeKey: k, Seed: []byte("ignored")})
	if s.PubKey() != hex.EncodeToString(k.PubKey().SerializeCompressed()) {
		t.Error("NodeKey not used")
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	for _, cfg := range []Config{
		{Network: "moon"},
		{Network: "simnet"},
		{ExternalOutcome: "maybe"},
		{InitialBalance: -1},
		{Path: filepath.Join(t.TempDir(), "no", "such", "dir", "x.db")},
	} {
		if s, err := Open(ctx, cfg); err == nil {
			s.Close()
			t.Errorf("Open(%+v) succeeded", cfg)
		}
	}
}

func TestDeterministic(t *testing.T) {
	ctx := context.Background()
	make3 := func() []string {
		clock := newFakeClock()
		s := openTest(t, Config{Seed: []byte("same"), Clock: clock.Now})
		var out []string
		for i, amt := range []int64{1_000, 0, 123_456} {
			inv, err := s.MakeInvoice(ctx, lightning.InvoiceParams{Amount: amt, Description: "d", Expiry: time.Duration(i+1) * time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, inv.Bolt11)
		}
		sig, _ := s.SignMessage(ctx, "m")
		return append(out, sig, s.PubKey())
	}
	a, b := make3(), make3()
	if !slices.Equal(a, b) {
		t.Errorf("same seed and clock, different ledgers:\n%v\n%v", a, b)
	}
	if !strings.HasPrefix(a[0], "lnbcrt10n1") {
		t.Errorf("invoice %s: want regtest prefix and 10n (1000 msat)", a[0])
	}
}

func TestBlockHeight(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s := openTest(t, Config{Seed: []byte("b"), Clock: clock.Now})
	info, _ := s.Info(ctx)
	if info.BlockHeight != GenesisHeight || info.Network != lightning.Regtest || info.Alias != "nwc-sandbox" {
		t.Errorf("info %+v", info)
	}
	clock.Advance(25 * time.Minute)
	info2, _ := s.Info(ctx)
	if info2.BlockHeight != GenesisHeight+2 || info2.BlockHash == info.BlockHash {
		t.Errorf("after 25 min: %+v", info2)
	}

	// Hold deadline = height at acceptance + the invoice's CLTV delta.
	pre := sha256.Sum256([]byte("pre"))
	hash := sha256.Sum256(pre[:])
	events, _ := s.Subscribe(ctx)
	inv, err := s.MakeInvoice(ctx, lightning.InvoiceParams{Amount: 1_000, PaymentHash: hex.EncodeToString(hash[:]), MinCLTVExpiryDelta: 18})
	if err != nil {
		t.Fatal(err)
	}
	if dec, _ := bolt11.Decode(inv.Bolt11); dec.MinFinalCLTVExpiry != 18 {
		t.Errorf("cltv %d", dec.MinFinalCLTVExpiry)
	}
	payer := make(chan error, 1)
	go func() { payer <- s.PayFromOutside(ctx, inv.Bolt11) }()
	ev := <-events
	if ev.Type != lightning.EventHoldInvoiceAccepted || ev.Invoice.SettleDeadline != GenesisHeight+2+18 {
		t.Errorf("accepted event %+v", ev.Invoice)
	}
	if err := s.SettleHoldInvoice(ctx, hex.EncodeToString(pre[:])); err != nil {
		t.Fatal(err)
	}
	if err := <-payer; err != nil {
		t.Fatal(err)
	}
	// Settling again with the same preimage is a no-op.
	if err := s.SettleHoldInvoice(ctx, hex.EncodeToString(pre[:])); err != nil {
		t.Errorf("idempotent settle: %v", err)
	}
}

func TestSelfPayment(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s := openTest(t, Config{Seed: []byte("self"), InitialBalance: 100_000, Clock: clock.Now})
	events, _ := s.Subscribe(ctx)

	inv, _ := s.MakeInvoice(ctx, lightning.InvoiceParams{Amount: 30_000, Description: "to myself"})
	res, err := s.PayInvoice(ctx, lightning.PayParams{Invoice: inv.Bolt11})
	if err != nil {
		t.Fatal(err)
	}
	if res.FeePaid != 0 {
		t.Errorf("fee %d for an internal payment", res.FeePaid)
	}
	if got, _ := s.LookupInvoice(ctx, inv.PaymentHash); got.State != lightning.InvoiceSettled || got.Preimage != res.Preimage {
		t.Errorf("invoice %+v", got)
	}
	if ev := <-events; ev.Type != lightning.EventInvoiceSettled || ev.Invoice.PaymentHash != inv.PaymentHash {
		t.Errorf("first event %+v", ev)
	}
	if ev := <-events; ev.Type != lightning.EventPaymentSent || ev.Payment.PaymentHash != inv.PaymentHash {
		t.Errorf("second event %+v", ev)
	}
	if b := mustBalance(t, s); b != 100_000 {
		t.Errorf("balance %d, internal transfer must not change it", b)
	}
	// Paying a settled own invoice again.
	if _, err := s.PayInvoice(ctx, lightning.PayParams{Invoice: inv.Bolt11}); !errors.Is(err, lightning.ErrAlreadyPaid) {
		t.Errorf("again: err = %v", err)
	}

	// Own hold invoice: the payer blocks until settle or cancel.
	for _, settle := range []bool{true, false} {
		pre := sha256.Sum256([]byte{byte(len(inv.PaymentHash)), boolByte(settle)})
		hash := sha256.Sum256(pre[:])
		hold, err := s.MakeInvoice(ctx, lightning.InvoiceParams{Amount: 20_000, PaymentHash: hex.EncodeToString(hash[:])})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			_, err := s.PayInvoice(ctx, lightning.PayParams{Invoice: hold.Bolt11})
			done <- err
		}()
		if ev := <-events; ev.Type != lightning.EventHoldInvoiceAccepted {
			t.Fatalf("event %+v", ev)
		}
		if b := mustBalance(t, s); b != 80_000 {
			t.Errorf("balance %d while own hold payment is locked in", b)
		}
		if p, _ := s.LookupPayment(ctx, hold.PaymentHash); p.State != lightning.PaymentPending {
			t.Errorf("payment %+v", p)
		}
		if err := s.Release(ctx, hold.PaymentHash, OutcomeSucceed); !errors.Is(err, lightning.ErrInvalidParams) {
			t.Errorf("Release of own hold payment: err = %v", err)
		}
		if settle {
			if err := s.SettleHoldInvoice(ctx, hex.EncodeToString(pre[:])); err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Errorf("payer: %v", err)
			}
			<-events // settled
			<-events // sent
		} else {
			if err := s.CancelHoldInvoice(ctx, hold.PaymentHash); err != nil {
				t.Fatal(err)
			}
			if err := <-done; !errors.Is(err, lightning.ErrPaymentFailed) {
				t.Errorf("payer after cancel: %v", err)
			}
			if err := s.CancelHoldInvoice(ctx, hold.PaymentHash); err != nil {
				t.Errorf("second cancel: %v", err)
			}
			if err := s.SettleHoldInvoice(ctx, hex.EncodeToString(pre[:])); !errors.Is(err, lightning.ErrInvoiceState) {
				t.Errorf("settle after cancel: %v", err)
			}
		}
		if b := mustBalance(t, s); b != 100_000 {
			t.Errorf("balance %d after own hold payment (settle=%v)", b, settle)
		}
	}
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

func TestKeysendReceived(t *testing.T) {
	ctx := context.Background()
	a, b, _ := pair(t)
	tlvs := []lightning.TLV{{Type: 7629169, Value: []byte("boost")}, {Type: 133773310, Value: []byte{}}}
	bEvents, _ := b.Subscribe(ctx)
	for _, tc := range []struct {
		name     string
		receiver *Sandbox
		events   <-chan lightning.Event
	}{
		{"to peer", b, bEvents},
		{"to self", a, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := mustBalance(t, tc.receiver)
			res, err := a.PayKeysend(ctx, lightning.KeysendParams{Destination: tc.receiver.PubKey(), Amount: 9_000, TLVs: tlvs})
			if err != nil {
				t.Fatal(err)
			}
			got, err := tc.receiver.LookupInvoice(ctx, res.PaymentHash)
			if err != nil {
				t.Fatal(err)
			}
			if !got.IsKeysend || got.State != lightning.InvoiceSettled || got.AmountReceived != 9_000 || got.Preimage != res.Preimage || got.Bolt11 != "" {
				t.Errorf("received keysend %+v", got)
			}
			if len(got.TLVs) != 2 || got.TLVs[0].Type != 7629169 || string(got.TLVs[0].Value) != "boost" {
				t.Errorf("TLVs %+v", got.TLVs)
			}
			want := before + 9_000
			if tc.receiver == a {
				want = before // internal: out and in
			}
			if b := mustBalance(t, tc.receiver); b != want {
				t.Errorf("receiver balance %d, want %d", b, want)
			}
			if tc.events != nil {
				if ev := <-tc.events; ev.Type != lightning.EventInvoiceSettled || !ev.Invoice.IsKeysend {
					t.Errorf("receiver event %+v", ev)
				}
			}
		})
	}
	// Reserved TLV types are refused.
	for _, typ := range []uint64{1, 65535, lightning.KeysendPreimageType} {
		_, err := a.PayKeysend(ctx, lightning.KeysendParams{Destination: b.PubKey(), Amount: 1_000, TLVs: []lightning.TLV{{Type: typ}}})
		if !errors.Is(err, lightning.ErrInvalidParams) {
			t.Errorf("TLV type %d: err = %v", typ, err)
		}
	}
}

func TestPayFromOutsideErrors(t *testing.T) {
	ctx := context.Background()
	a, b, clock := pair(t)
	mine, _ := a.MakeInvoice(ctx, lightning.InvoiceParams{Amount: 1_000, Expiry: time.Minute})
	theirs, _ := b.MakeInvoice(ctx, lightning.InvoiceParams{Amount: 1_000})
	anyAmount, _ := a.MakeInvoice(ctx, lightning.InvoiceParams{})
	short, _ := a.MakeInvoice(ctx, lightning.InvoiceParams{Amount: 5_000})

	if err := a.PayFromOutside(ctx, theirs.Bolt11); !errors.Is(err, lightning.ErrInvalidInvoice) {
		t.Errorf("not ours: %v", err)
	}
	if err := a.PayFromOutside(ctx, "lnbcrt1xyz"); !errors.Is(err, lightning.ErrInvalidInvoice) {
		t.Errorf("garbage: %v", err)
	}
	if err := a.PayFromOutside(ctx, anyAmount.Bolt11); !errors.Is(err, lightning.ErrInvalidParams) {
		t.Errorf("zero amount without amount: %v", err)
	}
	if err := a.PayFromOutsideAmount(ctx, short.Bolt11, 4_000); !errors.Is(err, lightning.ErrInvalidParams) {
		t.Errorf("underpaid: %v", err)
	}
	if err := a.PayFromOutsideAmount(ctx, anyAmount.Bolt11, 2_500); err != nil {
		t.Errorf("zero amount with amount: %v", err)
	}
	if got, _ := a.LookupInvoice(ctx, anyAmount.PaymentHash); got.AmountReceived != 2_500 {
		t.Errorf("received %d", got.AmountReceived)
	}
	if err := a.PayFromOutsideAmount(ctx, anyAmount.Bolt11, 2_500); !errors.Is(err, lightning.ErrAlreadyPaid) {
		t.Errorf("twice: %v", err)
	}
	clock.Advance(2 * time.Minute)
	if got, _ := a.LookupInvoice(ctx, mine.PaymentHash); got.State != lightning.InvoiceExpired {
		t.Errorf("state %s, want expired", got.State)
	}
	if err := a.PayFromOutside(ctx, mine.Bolt11); !errors.Is(err, lightning.ErrInvoiceExpired) {
		t.Errorf("expired: %v", err)
	}
}

func TestWrongNetwork(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	main := openTest(t, Config{Seed: []byte("m"), Network: lightning.Mainnet, Clock: clock.Now})
	reg := openTest(t, Config{Seed: []byte("r"), InitialBalance: 1_000_000, Clock: clock.Now})
	inv, _ := main.MakeInvoice(ctx, lightning.InvoiceParams{Amount: 1_000})
	if !strings.HasPrefix(inv.Bolt11, "lnbc10n1") {
		t.Errorf("mainnet invoice %s", inv.Bolt11)
	}
	if _, err := reg.PayInvoice(ctx, lightning.PayParams{Invoice: inv.Bolt11}); !errors.Is(err, lightning.ErrInvalidInvoice) {
		t.Errorf("err = %v, want ErrInvalidInvoice", err)
	}
}

func TestClose(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s, err := Open(ctx, Config{Seed: []byte("c"), InitialBalance: 1_000_000, ExternalOutcome: OutcomeHang, Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	pending := make(chan string, 1)
	s.testPending = func(h string) { pending <- h }
	events, _ := s.Subscribe(ctx)
	inv, _ := foreignInvoice(t, clock.Now(), 1_000, 4)
	done := make(chan error, 1)
	go func() {
		_, err := s.PayInvoice(ctx, lightning.PayParams{Invoice: inv})
		done <- err
	}()
	<-pending
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, lightning.ErrUnavailable) {
		t.Errorf("blocked payer after Close: %v", err)
	}
	if _, ok := <-events; ok {
		t.Error("event channel open after Close")
	}
	if _, err := s.Balance(ctx); !errors.Is(err, lightning.ErrUnavailable) {
		t.Errorf("Balance after Close: %v", err)
	}
	if _, err := s.Subscribe(ctx); !errors.Is(err, lightning.ErrUnavailable) {
		t.Errorf("Subscribe after Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestInvoiceValidation(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, Config{Seed: []byte("v")})
	hash := strings.Repeat("ab", 32)
	if _, err := s.MakeInvoice(ctx, lightning.InvoiceParams{Amount: 1, PaymentHash: hash}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		p    lightning.InvoiceParams
	}{
		{"duplicate hold hash", lightning.InvoiceParams{Amount: 1, PaymentHash: hash}},
		{"negative expiry", lightning.InvoiceParams{Amount: 1, Expiry: -time.Second}},
		{"description too long for BOLT-11", lightning.InvoiceParams{Amount: 1, Description: strings.Repeat("x", 700)}},
	}
	for _, tt := range tests {
		if _, err := s.MakeInvoice(ctx, tt.p); !errors.Is(err, lightning.ErrInvalidParams) {
			t.Errorf("%s: err = %v, want ErrInvalidParams", tt.name, err)
		}
	}
	// Long descriptions fit with a description hash.
	long := strings.Repeat("x", 700)
	dh := sha256.Sum256([]byte(long))
	inv, err := s.MakeInvoice(ctx, lightning.InvoiceParams{Amount: 1, Description: long, DescriptionHash: hex.EncodeToString(dh[:])})
	if err != nil || inv.Description != long {
		t.Errorf("long description with hash: %v", err)
	}
	// Upper-case hashes are accepted for lookups.
	if _, err := s.LookupInvoice(ctx, strings.ToUpper(hash)); err != nil {
		t.Errorf("upper-case lookup: %v", err)
	}
}
