package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nwc-go/nwc/internal/wallet"
)

// Concurrency tests run their goroutines against two Store instances on one
// database, alternately, the way two service processes share it.

// race runs n calls of fn at once (released together) and returns their errors.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// tally counts nil errors and errors matching want; anything else fails.
func tally(t *testing.T, errs []error, want error) (ok, refused int) {
	t.Helper()
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, want):
			refused++
		default:
			t.Fatalf("unexpected error: %v", err)
		}
	}
	return ok, refused
}

// testConcurrentBudget: 100 reservations race for a budget that allows
// exactly 37 of them.
func testConcurrentBudget(t *testing.T, h *harness) {
	const (
		n       = 100
		allowed = 37
		amount  = wallet.MSat(1_000_000) // 1000 sat; reserve 10 sat
	)
	cost := amount + wallet.FeeReserve(amount)
	c := h.conn(func(c *wallet.Connection) {
		c.Budget = wallet.Budget{Limit: allowed*cost + cost - 1, Renewal: wallet.RenewalMonthly} // 37.99 payments
	})
	stores := []Store{h.s, h.open()}
	rs := make([]wallet.PaymentReservation, n)
	for i := range rs {
		rs[i] = h.reservation(c, amount, t0.Add(time.Duration(i)*time.Millisecond))
	}
	errs := race(n, func(i int) error {
		_, err := stores[i%2].ReservePayment(h.ctx, rs[i])
		return err
	})
	ok, refused := tally(t, errs, wallet.ErrQuotaExceeded)
	if ok != allowed || refused != n-allowed {
		t.Fatalf("%d reservations succeeded, %d refused; want %d and %d", ok, refused, allowed, n-allowed)
	}
	used := h.budgetUsed(c, c.Budget.WindowStart(t0, time.UTC))
	if used != allowed*cost || used > c.Budget.Limit {
		t.Fatalf("budget used %d, want %d (limit %d)", used, allowed*cost, c.Budget.Limit)
	}
	pend, err := h.s.PendingPayments(h.ctx)
	if err != nil || len(pend) != allowed {
		t.Fatalf("%d pending rows, %v; want %d", len(pend), err, allowed)
	}
}

// testConcurrentBalance: an isolated connection's balance allows exactly 37
// of 100 racing payments, and is never negative.
func testConcurrentBalance(t *testing.T, h *harness) {
	const (
		n       = 100
		allowed = 37
		amount  = wallet.MSat(100_000) // reserve: 10 sat
	)
	cost := amount + wallet.FeeReserve(amount)
	c := h.conn(func(c *wallet.Connection) { c.Isolated = true })
	h.credit(c, allowed*cost+cost/2, t0)
	stores := []Store{h.s, h.open()}
	rs := make([]wallet.PaymentReservation, n)
	for i := range rs {
		rs[i] = h.reservation(c, amount, t0)
	}
	errs := race(n, func(i int) error {
		_, err := stores[i%2].ReservePayment(h.ctx, rs[i])
		return err
	})
	ok, _ := tally(t, errs, wallet.ErrInsufficientBalance)
	if ok != allowed {
		t.Fatalf("%d payments reserved, want %d", ok, allowed)
	}
	if b := h.balance(c); b != cost/2 {
		t.Fatalf("balance %d, want %d", b, cost/2)
	}
}

// testConcurrentSameHash: one invoice paid from 20 goroutines at once is
// reserved exactly once.
func testConcurrentSameHash(t *testing.T, h *harness) {
	c := h.conn(nil)
	hash := h.hash()
	stores := []Store{h.s, h.open()}
	errs := race(20, func(i int) error {
		r := h.reservationFor(c, hash)
		_, err := stores[i%2].ReservePayment(h.ctx, r)
		return err
	})
	if ok, _ := tally(t, errs, wallet.ErrPaymentPending); ok != 1 {
		t.Fatalf("%d reservations of one payment hash succeeded, want 1", ok)
	}
}

func (h *harness) reservationFor(c *wallet.Connection, hash string) wallet.PaymentReservation {
	return wallet.PaymentReservation{ConnectionID: c.ID, PaymentHash: hash, Amount: 1000,
		FeeReserve: wallet.MinFeeReserve, CreatedAt: t0}
}

// testConcurrentDuplicateRequest: one request event delivered 10 times at
// once (several relays, two instances) is begun exactly once.
func testConcurrentDuplicateRequest(t *testing.T, h *harness) {
	c := h.conn(nil)
	id := h.eventID()
	stores := []Store{h.s, h.open()}
	errs := race(10, func(i int) error {
		return stores[i%2].BeginRequest(h.ctx, id, c.ID, wallet.MethodPayInvoice, t0)
	})
	if ok, _ := tally(t, errs, wallet.ErrDuplicateRequest); ok != 1 {
		t.Fatalf("request begun %d times, want 1", ok)
	}
}

// testConcurrentSettle: a settlement reported 10 times at once credits once.
func testConcurrentSettle(t *testing.T, h *harness) {
	c := h.conn(func(c *wallet.Connection) { c.Isolated = true })
	inv := &wallet.Transaction{ConnectionID: c.ID, PaymentHash: h.hash(), Amount: 5000, CreatedAt: t0}
	if err := h.s.InsertInvoice(h.ctx, inv); err != nil {
		t.Fatal(err)
	}
	stores := []Store{h.s, h.open()}
	errs := race(10, func(i int) error {
		_, err := stores[i%2].SettleInvoice(h.ctx, inv.PaymentHash, "p", 5000, t0)
		return err
	})
	if ok, _ := tally(t, errs, wallet.ErrAlreadySettled); ok != 1 {
		t.Fatalf("invoice settled %d times, want 1", ok)
	}
	if b := h.balance(c); b != 5000 {
		t.Fatalf("balance %d, want 5000", b)
	}
}
