package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nwc-go/nwc/internal/wallet"
	"github.com/nwc-go/nwc/nostr"
)

// The checks below are not part of Run: they need more than the Store
// interface (a totals check, a way to open with a watched context) or are
// benchmarks. Each implementation's tests call them.

// Key returns a valid public key derived from label and n.
func Key(label string, n uint64) nostr.PublicKey {
	return keyFrom(binary.BigEndian.AppendUint64([]byte(label), n))
}

// Hash returns a payment hash derived from n.
func Hash(n uint64) string {
	sum := sha256.Sum256(binary.BigEndian.AppendUint64([]byte("hash"), n))
	return hex.EncodeToString(sum[:])
}

// RunningTotals drives random payments, invoices, settlements and failures
// through stores (Store values on one database, used in turn), with time
// crossing daily/weekly windows, and after every step has check compare
// the running totals with the sums over the rows (their definition).
func RunningTotals(t *testing.T, stores []Store, steps int, check func(context.Context) error) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 11))
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var conns []*wallet.Connection
	for i, b := range []wallet.Budget{
		{Limit: 50_000_000, Renewal: wallet.RenewalDaily},
		{Limit: 200_000_000, Renewal: wallet.RenewalWeekly},
		{},
	} {
		c := &wallet.Connection{Name: "c", ClientPubKey: Key("tc", uint64(i)), Budget: b, Isolated: i != 1, CreatedAt: now}
		if err := stores[0].CreateConnection(ctx, c, func(i uint32) (nostr.PublicKey, error) { return Key("ts", uint64(i)), nil }); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	var (
		pending  []string // outgoing payment hashes
		invoices []string // unpaid invoice hashes
		n        uint64
	)
	hash := func() string { n++; return Hash(n) }
	take := func(list *[]string) string {
		i := rng.IntN(len(*list))
		h := (*list)[i]
		*list = append((*list)[:i], (*list)[i+1:]...)
		return h
	}
	for step := range steps {
		s, other := stores[step%len(stores)], stores[(step+1)%len(stores)]
		now = now.Add(time.Duration(rng.IntN(3600)) * time.Second)
		c := conns[rng.IntN(len(conns))]
		switch op := rng.IntN(6); {
		case op <= 1: // pay
			amt := wallet.MSat(rng.IntN(5_000_000))
			r := wallet.PaymentReservation{ConnectionID: c.ID, PaymentHash: hash(), Amount: amt, FeeReserve: wallet.FeeReserve(amt),
				Budget: c.Budget, WindowStart: c.Budget.WindowStart(now, time.UTC), Isolated: c.Isolated, CreatedAt: now}
			_, err := s.ReservePayment(ctx, r)
			switch {
			case err == nil:
				pending = append(pending, r.PaymentHash)
			case errors.Is(err, wallet.ErrQuotaExceeded), errors.Is(err, wallet.ErrInsufficientBalance):
			default:
				t.Fatalf("step %d: reserve: %v", step, err)
			}
		case op == 2 && len(pending) > 0: // settle a payment
			if _, err := s.SettlePayment(ctx, take(&pending), "p", wallet.MSat(rng.IntN(20_000)), now); err != nil {
				t.Fatalf("step %d: settle payment: %v", step, err)
			}
		case op == 3 && len(pending) > 0: // fail a payment
			if _, err := s.FailPayment(ctx, take(&pending), "x", now); err != nil {
				t.Fatalf("step %d: fail payment: %v", step, err)
			}
		case op == 4: // invoice
			inv := &wallet.Transaction{ConnectionID: c.ID, PaymentHash: hash(), Amount: wallet.MSat(rng.IntN(10_000_000)), CreatedAt: now}
			if err := s.InsertInvoice(ctx, inv); err != nil {
				t.Fatalf("step %d: invoice: %v", step, err)
			}
			invoices = append(invoices, inv.PaymentHash)
		case op == 5 && len(invoices) > 0: // settle (twice, the second time on the next store) or cancel an invoice
			h := take(&invoices)
			if rng.IntN(4) == 0 {
				if _, err := s.MarkInvoiceCanceled(ctx, h, now); err != nil {
					t.Fatalf("step %d: cancel: %v", step, err)
				}
				break
			}
			if _, err := s.SettleInvoice(ctx, h, "p", 0, now); err != nil {
				t.Fatalf("step %d: settle invoice: %v", step, err)
			}
			if _, err := other.SettleInvoice(ctx, h, "p", 1, now); !errors.Is(err, wallet.ErrAlreadySettled) {
				t.Fatalf("step %d: second settle: %v", step, err)
			}
		}
		if err := check(ctx); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
	}
	for _, c := range conns {
		if b, err := stores[0].IsolatedBalance(ctx, c.ID); err != nil || (c.Isolated && b < 0) {
			t.Fatalf("connection %d: balance %d, %v", c.ID, b, err)
		}
	}
}

// ContextCanceled: a canceled context fails calls cleanly and s stays usable.
func ContextCanceled(t *testing.T, s Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.PutSetting(ctx, "k", "v"); err == nil {
		t.Fatal("PutSetting with a canceled context succeeded")
	}
	if _, err := s.ReservePayment(ctx, wallet.PaymentReservation{PaymentHash: "aa", Amount: 1}); err == nil {
		t.Fatal("ReservePayment with a canceled context succeeded")
	}
	if err := s.PutSetting(context.Background(), "k", "v"); err != nil {
		t.Fatalf("store unusable after a canceled call: %v", err)
	}
	if v, err := s.GetSetting(context.Background(), "k"); err != nil || v != "v" {
		t.Fatalf("GetSetting = %q, %v", v, err)
	}
}

// CloseLeavesNoGoroutines: a store that was used (with a cancellable
// context, which drivers watch) leaves nothing running once closed.
func CloseLeavesNoGoroutines(t *testing.T, open func(context.Context) (Store, error)) {
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutSetting(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetSetting(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.ListTransactions(ctx, wallet.TxQuery{Unpaid: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Drivers' and pools' goroutines end asynchronously after Close; give
	// them a moment.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines before, %d after Close:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// PayPath benchmarks the store work of one pay_invoice request: reserve
// (budget + isolated balance checks), settle, finish, touch, with the
// request recorded by BeginRequest first (beginFirst: five write
// transactions) or inside the reservation, as the service does for single
// payments (four). history payments lie in the budget window beforehand.
// The goroutines take the stores (Store values on one database, as
// instances) in turn.
func PayPath(b *testing.B, stores []Store, history int, beginFirst bool) {
	ctx := context.Background()
	s := stores[0]
	c := &wallet.Connection{Name: "bench", ClientPubKey: Key("c", 0),
		Scopes:    []wallet.Scope{wallet.ScopePayInvoice},
		Budget:    wallet.Budget{Limit: wallet.MaxMSat / 4, Renewal: wallet.RenewalMonthly},
		Isolated:  true,
		CreatedAt: time.Now()}
	if err := s.CreateConnection(ctx, c, func(i uint32) (nostr.PublicKey, error) { return Key("s", uint64(i)), nil }); err != nil {
		b.Fatal(err)
	}
	var seq atomic.Uint64
	hash := func() string { return Hash(seq.Add(1)) }
	now := time.Now()
	inv := &wallet.Transaction{ConnectionID: c.ID, PaymentHash: hash(), Amount: wallet.MaxMSat / 4, CreatedAt: now}
	if err := s.InsertInvoice(ctx, inv); err != nil {
		b.Fatal(err)
	}
	if _, err := s.SettleInvoice(ctx, inv.PaymentHash, "p", 0, now); err != nil {
		b.Fatal(err)
	}
	pay := func(s Store) error {
		n := seq.Add(1)
		var id nostr.EventID
		binary.BigEndian.PutUint64(id[:], n)
		at := time.Now()
		r := wallet.PaymentReservation{ConnectionID: c.ID, RequestEventID: id, PaymentHash: hash(), Invoice: "lnbcrt1",
			Amount: 1000, FeeReserve: wallet.FeeReserve(1000), Budget: c.Budget,
			WindowStart: c.Budget.WindowStart(at, time.UTC), Isolated: true, CreatedAt: at}
		if beginFirst {
			if err := s.BeginRequest(ctx, id, c.ID, wallet.MethodPayInvoice, at); err != nil {
				return err
			}
		} else {
			r.Request = &wallet.Request{EventID: id, ConnectionID: c.ID, Method: wallet.MethodPayInvoice, ReceivedAt: at}
		}
		if _, err := s.ReservePayment(ctx, r); err != nil {
			return err
		}
		if _, err := s.SettlePayment(ctx, r.PaymentHash, "pre", 1, at); err != nil {
			return err
		}
		if err := s.FinishRequest(ctx, id, wallet.OutcomeOK, 1000, time.Millisecond, at); err != nil {
			return err
		}
		return s.TouchConnection(ctx, c.ID, at)
	}
	for range history {
		if err := pay(s); err != nil {
			b.Fatal(err)
		}
	}
	var worker atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		s := stores[int(worker.Add(1))%len(stores)]
		for pb.Next() {
			if err := pay(s); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pays/s")
}
