package sqlite_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nwc-go/nwc/internal/store/sqlite"
	"github.com/nwc-go/nwc/internal/wallet"
	"github.com/nwc-go/nwc/nostr"
)

func benchKey(seed string, n uint64) nostr.PublicKey {
	sum := sha256.Sum256(binary.BigEndian.AppendUint64([]byte(seed), n))
	sk, err := nostr.SecretKeyFromBytes(sum[:])
	if err != nil {
		panic(err)
	}
	return sk.Public()
}

// BenchmarkPayPath measures the store work of one pay_invoice request:
// begin request, reserve (budget + isolated balance checks), settle, finish,
// touch — five write transactions. history rows of earlier payments lie in
// the budget window.
func BenchmarkPayPath(b *testing.B) {
	for _, history := range []int{0, 10_000} {
		b.Run("history="+itoa(history), func(b *testing.B) { benchPayPath(b, history) })
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var buf []byte
	for ; n > 0; n /= 10 {
		buf = append([]byte{byte('0' + n%10)}, buf...)
	}
	return string(buf)
}

func benchPayPath(b *testing.B, history int) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	c := &wallet.Connection{Name: "bench", ClientPubKey: benchKey("c", 0),
		Scopes:    []wallet.Scope{wallet.ScopePayInvoice},
		Budget:    wallet.Budget{Limit: wallet.MaxMSat / 4, Renewal: wallet.RenewalMonthly},
		Isolated:  true,
		CreatedAt: time.Now()}
	if err := s.CreateConnection(ctx, c, func(i uint32) (nostr.PublicKey, error) { return benchKey("s", uint64(i)), nil }); err != nil {
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
	pay := func() error {
		n := seq.Add(1)
		var id nostr.EventID
		binary.BigEndian.PutUint64(id[:], n)
		at := time.Now()
		if err := s.BeginRequest(ctx, id, c.ID, wallet.MethodPayInvoice, at); err != nil {
			return err
		}
		r := wallet.PaymentReservation{ConnectionID: c.ID, RequestEventID: id, PaymentHash: hash(), Invoice: "lnbcrt1",
			Amount: 1000, FeeReserve: wallet.FeeReserve(1000), Budget: c.Budget,
			WindowStart: c.Budget.WindowStart(at, time.UTC), Isolated: true, CreatedAt: at}
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
		if err := pay(); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := pay(); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pays/s")
}
