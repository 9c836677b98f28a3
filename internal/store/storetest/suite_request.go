package storetest

import (
	"testing"
	"time"

	"github.com/nwc-go/nwc/internal/wallet"
)

// testReserveRecordsRequest: a reservation that carries its request records it in the
// same transaction: a repeat of the request is refused before anything else, a refusal
// keeps the request recorded, an error records nothing.
func testReserveRecordsRequest(t *testing.T, h *harness) {
	c := h.conn(func(c *wallet.Connection) {
		c.Budget = wallet.Budget{Limit: 3_000_000, Renewal: wallet.RenewalNever}
	})
	req := func() *wallet.Request {
		return &wallet.Request{EventID: h.eventID(), ConnectionID: c.ID, Method: wallet.MethodPayInvoice, ReceivedAt: t0}
	}
	recorded := func(r *wallet.Request) bool {
		t.Helper()
		list, err := h.s.RecentRequests(h.ctx, c.ID, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range list {
			if x.EventID == r.EventID {
				if x.Method != r.Method || !x.ReceivedAt.Equal(t0) || x.Outcome != "" {
					t.Fatalf("recorded request %+v, want method %s received %v, running", x, r.Method, t0)
				}
				return true
			}
		}
		return false
	}

	first := req()
	r := h.reservation(c, 1_000_000, t0)
	r.Request = first
	tx := h.reserve(r)
	if !recorded(first) || tx.State != wallet.StatePending {
		t.Fatalf("reservation with its request: recorded %v, row %+v", recorded(first), tx)
	}
	// The same request again (another relay, another instance): refused before the checks,
	// nothing reserved.
	again := h.reservation(c, 1_000_000, t0)
	again.Request = first
	_, err := h.s.ReservePayment(h.ctx, again)
	wantErr(t, "repeat of a recorded request", err, wallet.ErrDuplicateRequest)
	if _, err := h.s.Transaction(h.ctx, 0, "", again.PaymentHash); err == nil {
		t.Fatal("a repeated request reserved a payment")
	}
	wantErr(t, "BeginRequest of a request recorded by a reservation",
		h.s.BeginRequest(h.ctx, first.EventID, c.ID, wallet.MethodPayInvoice, t0), wallet.ErrDuplicateRequest)
	// A BeginRequest first, then a reservation with it: refused as a repeat.
	begun := req()
	if err := h.s.BeginRequest(h.ctx, begun.EventID, c.ID, begun.Method, t0); err != nil {
		t.Fatal(err)
	}
	r = h.reservation(c, 1_000, t0)
	r.Request = begun
	_, err = h.s.ReservePayment(h.ctx, r)
	wantErr(t, "reservation of a begun request", err, wallet.ErrDuplicateRequest)

	// Refusals keep the request recorded: exactly one instance answers them.
	for _, tc := range []struct {
		name   string
		mod    func(r *wallet.PaymentReservation)
		refuse error
	}{
		{"quota", func(r *wallet.PaymentReservation) { r.Amount = 5_000_000 }, wallet.ErrQuotaExceeded},
		{"pending", func(r *wallet.PaymentReservation) { r.PaymentHash = tx.PaymentHash }, wallet.ErrPaymentPending},
	} {
		q := req()
		r := h.reservation(c, 1_000, t0)
		r.Request = q
		tc.mod(&r)
		_, err := h.s.ReservePayment(h.ctx, r)
		wantErr(t, tc.name, err, tc.refuse)
		if !recorded(q) {
			t.Fatalf("%s: the refused request is not recorded", tc.name)
		}
	}
	// An error (unknown connection) records nothing.
	q := req()
	q.ConnectionID = c.ID + 1000
	r = h.reservation(c, 1_000, t0)
	r.ConnectionID, r.Request = q.ConnectionID, q
	_, err = h.s.ReservePayment(h.ctx, r)
	wantErr(t, "unknown connection", err, wallet.ErrNotFound)
	if err := h.s.BeginRequest(h.ctx, q.EventID, 0, q.Method, t0); err != nil {
		t.Fatalf("the request of a failed reservation was recorded: %v", err)
	}
}

// testConcurrentReserveSameRequest: one pay request delivered to both instances, each
// reserving with the request, runs exactly once.
func testConcurrentReserveSameRequest(t *testing.T, h *harness) {
	c := h.conn(nil)
	req := &wallet.Request{EventID: h.eventID(), ConnectionID: c.ID, Method: wallet.MethodPayInvoice, ReceivedAt: t0}
	stores := []Store{h.s, h.open()}
	rs := make([]wallet.PaymentReservation, 10)
	for i := range rs {
		rs[i] = h.reservation(c, 1_000, t0.Add(time.Duration(i)*time.Millisecond))
		rs[i].Request = req
	}
	errs := race(len(rs), func(i int) error {
		_, err := stores[i%2].ReservePayment(h.ctx, rs[i])
		return err
	})
	if ok, _ := tally(t, errs, wallet.ErrDuplicateRequest); ok != 1 {
		t.Fatalf("request reserved %d times, want 1", ok)
	}
	pend, err := h.s.PendingPayments(h.ctx)
	if err != nil || len(pend) != 1 {
		t.Fatalf("%d pending payments, %v; want 1", len(pend), err)
	}
}

// testRevokedRefusesRequests: once a connection is revoked, its requests are not recorded
// (wallet.ErrRevoked), by BeginRequest or by a reservation carrying the request, and a
// repeat of a request recorded before the revocation is still a duplicate.
func testRevokedRefusesRequests(t *testing.T, h *harness) {
	c := h.conn(func(c *wallet.Connection) {
		c.Budget = wallet.Budget{Limit: 3_000_000, Renewal: wallet.RenewalNever}
	})
	before := h.eventID()
	if err := h.s.BeginRequest(h.ctx, before, c.ID, wallet.MethodGetBalance, t0); err != nil {
		t.Fatal(err)
	}
	other := h.conn(nil)
	if err := h.s.RevokeConnection(h.ctx, c.ID, t0); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "BeginRequest on a revoked connection",
		h.s.BeginRequest(h.ctx, h.eventID(), c.ID, wallet.MethodGetBalance, t0), wallet.ErrRevoked)
	r := h.reservation(c, 1_000, t0)
	r.Request = &wallet.Request{EventID: h.eventID(), ConnectionID: c.ID, Method: wallet.MethodPayInvoice, ReceivedAt: t0}
	_, err := h.s.ReservePayment(h.ctx, r)
	wantErr(t, "reservation with its request on a revoked connection", err, wallet.ErrRevoked)
	if _, err := h.s.Transaction(h.ctx, 0, "", r.PaymentHash); err == nil {
		t.Fatal("a revoked connection reserved a payment")
	}
	wantErr(t, "repeat of a request recorded before the revocation",
		h.s.BeginRequest(h.ctx, before, c.ID, wallet.MethodGetBalance, t0), wallet.ErrDuplicateRequest)
	// Other connections, and requests without one, are unaffected.
	if err := h.s.BeginRequest(h.ctx, h.eventID(), other.ID, wallet.MethodGetBalance, t0); err != nil {
		t.Errorf("BeginRequest on another connection: %v", err)
	}
	if err := h.s.BeginRequest(h.ctx, h.eventID(), 0, wallet.MethodGetInfo, t0); err != nil {
		t.Errorf("BeginRequest without a connection: %v", err)
	}
}
