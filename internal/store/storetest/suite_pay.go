package storetest

import (
	"testing"
	"time"

	"github.com/nwc-go/nwc/internal/wallet"
)

// testReserveRefusals: each refusal code, and that a refusal writes nothing.
func testReserveRefusals(t *testing.T, h *harness) {
	const sat = wallet.MSat(1000)
	c := h.conn(func(c *wallet.Connection) {
		c.Budget = wallet.Budget{Limit: 100_000 * sat, Renewal: wallet.RenewalNever}
	})
	iso := h.conn(func(c *wallet.Connection) {
		c.Isolated = true
		c.Budget = wallet.Budget{Limit: 10 * sat} // smaller than its balance
	})
	h.credit(iso, 1_000_000*sat, t0)

	pending := h.reserve(h.reservation(c, 1000*sat, t0))
	settled := h.reserve(h.reservation(c, 1000*sat, t0))
	if _, err := h.s.SettlePayment(h.ctx, settled.PaymentHash, "ab", 0, t0); err != nil {
		t.Fatal(err)
	}

	type tc struct {
		name string
		r    wallet.PaymentReservation
		want error
	}
	withHash := func(r wallet.PaymentReservation, hash string) wallet.PaymentReservation {
		r.PaymentHash = hash
		return r
	}
	cases := []tc{
		{"pending hash", withHash(h.reservation(c, sat, t0), pending.PaymentHash), wallet.ErrPaymentPending},
		{"settled hash", withHash(h.reservation(c, sat, t0), settled.PaymentHash), wallet.ErrAlreadyPaid},
		// An isolated connection paying the same hash is refused too: the
		// invoice is paid once per wallet, not per connection.
		{"settled hash other connection", withHash(h.reservation(iso, sat, t0), settled.PaymentHash), wallet.ErrAlreadyPaid},
		{"over budget", h.reservation(c, 99_000*sat, t0), wallet.ErrQuotaExceeded},
		{"over budget by the reserve", h.reservation(c, 97_500*sat, t0), wallet.ErrQuotaExceeded}, // 2010 + 97500 fits, + 975 reserve does not
		{"isolated: quota is checked before balance", h.reservation(iso, 2_000_000*sat, t0), wallet.ErrQuotaExceeded},
		{"negative amount", h.reservation(c, -1, t0), wallet.ErrInvalidAmount},
	}
	noBudget := h.conn(func(c *wallet.Connection) { c.Isolated = true })
	cases = append(cases, tc{"isolated without funds", h.reservation(noBudget, sat, t0), wallet.ErrInsufficientBalance})

	for _, tc := range cases {
		usedBefore := h.budgetUsed(c, time.Time{})
		_, err := h.s.ReservePayment(h.ctx, tc.r)
		wantErr(t, tc.name, err, tc.want)
		if got := h.budgetUsed(c, time.Time{}); got != usedBefore {
			t.Fatalf("%s: refused reservation changed budget used %d -> %d", tc.name, usedBefore, got)
		}
	}
	// Pending counts amount + reserve (1010 sat), settled amount + fee paid (1000 sat).
	used := h.budgetUsed(c, time.Time{})
	if used != 2010*sat {
		t.Fatalf("budget used %d, want %d", used, 2010*sat)
	}
	h.reserve(h.reservation(c, 96_000*sat, t0))        // + 96960 sat = 98970 sat
	left := 100_000*sat - h.budgetUsed(c, time.Time{}) // 1030 sat
	// Exactly at the limit is allowed.
	exact := h.reservation(c, left-wallet.MinFeeReserve, t0)
	exact.FeeReserve = wallet.MinFeeReserve
	h.reserve(exact)
	if got := h.budgetUsed(c, time.Time{}); got != c.Budget.Limit {
		t.Fatalf("after an exact fit used %d, want the limit %d", got, c.Budget.Limit)
	}
	_, err := h.s.ReservePayment(h.ctx, wallet.PaymentReservation{ConnectionID: c.ID, PaymentHash: h.hash(), Amount: 1,
		Budget: c.Budget, CreatedAt: t0})
	wantErr(t, "one msat over the limit", err, wallet.ErrQuotaExceeded)
	// A connection without budget and not isolated is never refused for money.
	free := h.conn(nil)
	h.reserve(h.reservation(free, 1_000_000_000*sat, t0))
}

// testBudgetWindows: only payments created inside the window count; settled
// ones count their fee, pending ones their reserve, failed ones nothing.
func testBudgetWindows(t *testing.T, h *harness) {
	const sat = wallet.MSat(1000)
	c := h.conn(func(c *wallet.Connection) {
		c.Budget = wallet.Budget{Limit: 10_000 * sat, Renewal: wallet.RenewalDaily}
	})
	day := time.Date(2026, time.March, 10, 0, 0, 0, 0, time.UTC)
	yesterday := day.Add(-time.Second) // last second of the previous window
	morning := day.Add(9 * time.Hour)

	// Yesterday: 8000 sat spent (window full then), not counted today.
	old := h.reserve(h.reservation(c, 8000*sat, yesterday))
	if _, err := h.s.SettlePayment(h.ctx, old.PaymentHash, "aa", 5*sat, yesterday); err != nil {
		t.Fatal(err)
	}
	// Today: settled 1000 sat with a fee of 3 sat (reserve 10 sat released).
	p1 := h.reserve(h.reservation(c, 1000*sat, day))
	if _, err := h.s.SettlePayment(h.ctx, p1.PaymentHash, "bb", 3*sat, morning); err != nil {
		t.Fatal(err)
	}
	// Today: pending 2000 sat with reserve 20 sat.
	h.reserve(h.reservation(c, 2000*sat, morning))
	// Today: failed 4000 sat, releases everything.
	p3 := h.reserve(h.reservation(c, 4000*sat, morning))
	if _, err := h.s.FailPayment(h.ctx, p3.PaymentHash, "no route", morning); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name  string
		since time.Time
		want  wallet.MSat
	}{
		{"today", wallet.WindowStart(wallet.RenewalDaily, morning, time.UTC), 1003*sat + 2020*sat},
		{"since yesterday's last second", yesterday, 8005*sat + 1003*sat + 2020*sat},
		{"ever (zero)", time.Time{}, 8005*sat + 1003*sat + 2020*sat},
		{"tomorrow", day.Add(24 * time.Hour), 0},
	} {
		if got := h.budgetUsed(c, tc.since); got != tc.want {
			t.Errorf("BudgetUsed(%s) = %d, want %d", tc.name, got, tc.want)
		}
	}
	// Remaining today: 10000 - 3023 = 6977 sat: 6900 + 69 reserve fits; then 8 sat are left and 9 + 10 do not.
	h.reserve(h.reservation(c, 6900*sat, morning))
	_, err := h.s.ReservePayment(h.ctx, h.reservation(c, 9*sat, morning))
	wantErr(t, "over today's budget", err, wallet.ErrQuotaExceeded)
	// The next day the budget renews (yesterday's 8000 sat would not have fit).
	tomorrow := day.Add(24*time.Hour + time.Minute)
	h.reserve(h.reservation(c, 9000*sat, tomorrow))
	// A weekly window on the same history counts the whole week.
	wk := wallet.Budget{Limit: 100_000 * sat, Renewal: wallet.RenewalWeekly}
	if got, want := h.budgetUsed(c, wk.WindowStart(tomorrow, time.UTC)), 8005*sat+1003*sat+2020*sat+6969*sat+9090*sat; got != want {
		t.Errorf("BudgetUsed(week) = %d, want %d", got, want)
	}
}

func testIsolatedBalance(t *testing.T, h *harness) {
	const sat = wallet.MSat(1000)
	c := h.conn(func(c *wallet.Connection) { c.Isolated = true })
	other := h.conn(func(c *wallet.Connection) { c.Isolated = true })
	h.credit(other, 500_000*sat, t0) // another app's money is not ours

	check := func(what string, want wallet.MSat) {
		t.Helper()
		if got := h.balance(c); got != want {
			t.Fatalf("%s: balance %d, want %d", what, got, want)
		}
	}
	check("empty", 0)
	// An unpaid invoice credits nothing.
	inv := &wallet.Transaction{ConnectionID: c.ID, PaymentHash: h.hash(), Amount: 50_000 * sat, CreatedAt: t0}
	if err := h.s.InsertInvoice(h.ctx, inv); err != nil {
		t.Fatal(err)
	}
	check("unpaid invoice", 0)
	if _, err := h.s.SettleInvoice(h.ctx, inv.PaymentHash, "cc", 0, t0); err != nil {
		t.Fatal(err)
	}
	check("settled invoice", 50_000*sat)

	p := h.reserve(h.reservation(c, 10_000*sat, t0)) // reserve 100 sat
	check("pending payment", 39_900*sat)
	if _, err := h.s.SettlePayment(h.ctx, p.PaymentHash, "dd", 7*sat, t0); err != nil {
		t.Fatal(err)
	}
	check("settled payment", 39_993*sat)
	q := h.reserve(h.reservation(c, 39_000*sat, t0)) // reserve 390 sat: 39390 <= 39993
	check("second pending", 603*sat)
	_, err := h.s.ReservePayment(h.ctx, h.reservation(c, 600*sat, t0)) // needs 610 sat
	wantErr(t, "amount + reserve > balance", err, wallet.ErrInsufficientBalance)
	if _, err := h.s.FailPayment(h.ctx, q.PaymentHash, "no route", t0); err != nil {
		t.Fatal(err)
	}
	check("failed payment released", 39_993*sat)
	// Self-payment: no reserve; exactly the whole balance.
	r := h.reservation(c, 39_993*sat, t0)
	r.FeeReserve = 0
	h.reserve(r)
	check("whole balance spent", 0)
}

// testPaymentLifecycle: settle/fail transitions, idempotency, retries after
// failure, pending listing.
func testPaymentLifecycle(t *testing.T, h *harness) {
	c := h.conn(nil)
	r := h.reservation(c, 21_000, t0)
	r.Description, r.DescriptionHash = "coffee", "d1"
	r.Metadata = []byte(`{"comment":"thanks"}`)
	r.ExpiresAt = t0.Add(time.Hour)
	p := h.reserve(r)
	if p.ID == 0 || p.State != wallet.StatePending || p.Type != wallet.TxOutgoing || p.FeeReserve != wallet.MinFeeReserve {
		t.Fatalf("reserved %+v", p)
	}
	got, err := h.s.Transaction(h.ctx, c.ID, wallet.TxOutgoing, p.PaymentHash)
	wantErr(t, "Transaction", err, nil)
	checkTx(t, "stored reservation", got, p)

	settledAt := t0.Add(time.Minute)
	s1, err := h.s.SettlePayment(h.ctx, p.PaymentHash, "preimage1", 1234, settledAt)
	wantErr(t, "SettlePayment", err, nil)
	want := *p
	want.State, want.Preimage, want.FeesPaid, want.SettledAt, want.UpdatedAt = wallet.StateSettled, "preimage1", 1234, settledAt, settledAt
	checkTx(t, "settled row", s1, &want)
	got, _ = h.s.Transaction(h.ctx, 0, "", p.PaymentHash)
	checkTx(t, "stored settled row", got, &want)

	// Settling again changes nothing and says so; failing a settled payment is refused.
	s2, err := h.s.SettlePayment(h.ctx, p.PaymentHash, "other", 9999, settledAt.Add(time.Hour))
	wantErr(t, "SettlePayment again", err, wallet.ErrAlreadySettled)
	checkTx(t, "row returned by repeated settle", s2, &want)
	f, err := h.s.FailPayment(h.ctx, p.PaymentHash, "late failure", settledAt)
	wantErr(t, "FailPayment(settled)", err, wallet.ErrAlreadySettled)
	checkTx(t, "row returned by refused fail", f, &want)

	// Failure, then a retry of the same invoice, which settles.
	q := h.reserve(h.reservation(c, 5000, t0))
	failed, err := h.s.FailPayment(h.ctx, q.PaymentHash, "no route", t0.Add(time.Second))
	wantErr(t, "FailPayment", err, nil)
	if failed.State != wallet.StateFailed || failed.FailureReason != "no route" {
		t.Fatalf("failed row %+v", failed)
	}
	_, err = h.s.FailPayment(h.ctx, q.PaymentHash, "again", t0)
	wantErr(t, "FailPayment twice", err, wallet.ErrInvalidState)
	_, err = h.s.SettlePayment(h.ctx, q.PaymentHash, "pp", 0, t0)
	wantErr(t, "SettlePayment(failed)", err, wallet.ErrInvalidState)
	retry := h.reservation(c, 5000, t0.Add(2*time.Second))
	retry.PaymentHash = q.PaymentHash
	rp := h.reserve(retry)
	if rp.ID == q.ID {
		t.Fatal("retry reused the failed row")
	}
	if _, err := h.s.SettlePayment(h.ctx, q.PaymentHash, "pp", 1, t0.Add(3*time.Second)); err != nil {
		t.Fatalf("SettlePayment(retry): %v", err)
	}
	got, _ = h.s.Transaction(h.ctx, c.ID, wallet.TxOutgoing, q.PaymentHash)
	if got.ID != rp.ID || got.State != wallet.StateSettled {
		t.Fatalf("lookup after retry = %+v, want the settled retry %d", got, rp.ID)
	}

	_, err = h.s.SettlePayment(h.ctx, h.hash(), "x", 0, t0)
	wantErr(t, "SettlePayment(unknown)", err, wallet.ErrNotFound)
	_, err = h.s.FailPayment(h.ctx, h.hash(), "x", t0)
	wantErr(t, "FailPayment(unknown)", err, wallet.ErrNotFound)

	// PendingPayments: only pending outgoing rows, oldest first.
	a := h.reserve(h.reservation(c, 1, t0.Add(2*time.Hour)))
	b := h.reserve(h.reservation(c, 2, t0.Add(time.Hour)))
	inv := &wallet.Transaction{ConnectionID: c.ID, PaymentHash: h.hash(), Amount: 5, CreatedAt: t0}
	if err := h.s.InsertInvoice(h.ctx, inv); err != nil {
		t.Fatal(err)
	}
	pend, err := h.s.PendingPayments(h.ctx)
	if err != nil || len(pend) != 2 || pend[0].ID != b.ID || pend[1].ID != a.ID {
		t.Fatalf("PendingPayments = %+v, %v; want [%d %d]", pend, err, b.ID, a.ID)
	}
}
