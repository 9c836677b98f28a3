package postgres_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nwc-go/nwc/internal/store/postgres"
	"github.com/nwc-go/nwc/internal/store/postgres/pgtest"
	"github.com/nwc-go/nwc/internal/wallet"
	"github.com/nwc-go/nwc/nostr"
)

// BenchmarkPayPath measures the store work of one pay_invoice request as the service
// does it: reserve with the request recorded in the same transaction (budget + isolated
// balance checks, connection row locked), settle, finish, touch — four write
// transactions. history rows of earlier payments lie in the budget window; that many
// Store values share the database (the goroutines alternate between them), as instances do.
func BenchmarkPayPath(b *testing.B) {
	for _, bc := range []struct{ history, instances int }{{0, 1}, {0, 2}, {10_000, 2}} {
		b.Run(fmt.Sprintf("history=%d/instances=%d", bc.history, bc.instances), func(b *testing.B) {
			benchPayPath(b, bc.history, bc.instances)
		})
	}
}

func benchPayPath(b *testing.B, history, instances int) {
	ctx := context.Background()
	url := pgtest.URL(b)
	stores := make([]*postgres.Store, instances)
	for i := range stores {
		s, err := postgres.Open(ctx, url)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		stores[i] = s
	}
	s := stores[0]
	c := &wallet.Connection{Name: "bench", ClientPubKey: testKey("c", 0),
		Budget:   wallet.Budget{Limit: wallet.MaxMSat / 4, Renewal: wallet.RenewalMonthly},
		Isolated: true, CreatedAt: time.Now()}
	if err := s.CreateConnection(ctx, c, func(i uint32) (nostr.PublicKey, error) { return testKey("s", uint64(i)), nil }); err != nil {
		b.Fatal(err)
	}
	var seq atomic.Uint64
	hash := func() string {
		sum := sha256.Sum256(binary.BigEndian.AppendUint64(nil, seq.Add(1)))
		return hex.EncodeToString(sum[:])
	}
	now := time.Now()
	inv := &wallet.Transaction{ConnectionID: c.ID, PaymentHash: hash(), Amount: wallet.MaxMSat / 4, CreatedAt: now}
	if err := s.InsertInvoice(ctx, inv); err != nil {
		b.Fatal(err)
	}
	if _, err := s.SettleInvoice(ctx, inv.PaymentHash, "p", 0, now); err != nil {
		b.Fatal(err)
	}
	pay := func(s *postgres.Store) error {
		n := seq.Add(1)
		var id nostr.EventID
		binary.BigEndian.PutUint64(id[:], n)
		at := time.Now()
		r := wallet.PaymentReservation{ConnectionID: c.ID, RequestEventID: id, PaymentHash: hash(), Invoice: "lnbcrt1",
			Amount: 1000, FeeReserve: wallet.FeeReserve(1000), Budget: c.Budget,
			WindowStart: c.Budget.WindowStart(at, time.UTC), Isolated: true, CreatedAt: at,
			Request: &wallet.Request{EventID: id, ConnectionID: c.ID, Method: wallet.MethodPayInvoice, ReceivedAt: at}}
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
