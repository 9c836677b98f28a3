package sqlite_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/nwc-go/nwc/internal/store/sqlite"
	"github.com/nwc-go/nwc/internal/wallet"
	"github.com/nwc-go/nwc/nostr"
)

// TestRunningTotals drives random payments, invoices, settlements and
// failures through the store, with time crossing daily/weekly windows, and
// checks after every step that the O(1) running totals equal the sums over
// the rows (their definition).
func TestRunningTotals(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "nwc.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rng := rand.New(rand.NewPCG(7, 11))
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var conns []*wallet.Connection
	for i, b := range []wallet.Budget{
		{Limit: 50_000_000, Renewal: wallet.RenewalDaily},
		{Limit: 200_000_000, Renewal: wallet.RenewalWeekly},
		{},
	} {
		c := &wallet.Connection{Name: "c", ClientPubKey: benchKey("tc", uint64(i)), Budget: b, Isolated: i != 1, CreatedAt: now}
		if err := s.CreateConnection(ctx, c, func(i uint32) (nostr.PublicKey, error) { return benchKey("ts", uint64(i)), nil }); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	var (
		pending  []string // outgoing payment hashes
		invoices []string // unpaid invoice hashes
		n        uint64
	)
	hash := func() string {
		n++
		sum := sha256.Sum256(binary.BigEndian.AppendUint64(nil, n))
		return hex.EncodeToString(sum[:])
	}
	take := func(list *[]string) string {
		i := rng.IntN(len(*list))
		h := (*list)[i]
		*list = append((*list)[:i], (*list)[i+1:]...)
		return h
	}
	for step := range 600 {
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
		case op == 5 && len(invoices) > 0: // settle (sometimes twice) or cancel an invoice
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
			if _, err := s.SettleInvoice(ctx, h, "p", 1, now); !errors.Is(err, wallet.ErrAlreadySettled) {
				t.Fatalf("step %d: second settle: %v", step, err)
			}
		}
		if err := s.CheckTotalsForTest(ctx); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
	}
	for _, c := range conns {
		if b, err := s.IsolatedBalance(ctx, c.ID); err != nil || (c.Isolated && b < 0) {
			t.Fatalf("connection %d: balance %d, %v", c.ID, b, err)
		}
	}
}
