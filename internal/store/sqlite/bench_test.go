package sqlite_test

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nwc-go/nwc/internal/store/sqlite"
	"github.com/nwc-go/nwc/internal/store/storetest"
	"github.com/nwc-go/nwc/internal/wallet"
	"github.com/nwc-go/nwc/nostr"
)

// BenchmarkPayPath measures the store work of one pay_invoice request:
// begin request, reserve (budget + isolated balance checks), settle, finish,
// touch — five write transactions. history rows of earlier payments lie in
// the budget window.
func BenchmarkPayPath(b *testing.B) {
	for _, history := range []int{0, 10_000} {
		b.Run("history="+strconv.Itoa(history), func(b *testing.B) {
			s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			storetest.PayPath(b, []storetest.Store{s}, history, true)
		})
	}
}

// BenchmarkBeginFinish is one read-only request's request-log writes: BeginRequest, then
// FinishRequestLater — from GOMAXPROCS×parallelism goroutines at once (group commit shares
// the commits between them; a busy hint as the service gives when it has other requests).
func BenchmarkBeginFinish(b *testing.B) {
	for _, par := range []int{1, 16} {
		b.Run(fmt.Sprintf("parallelism=%d", par), func(b *testing.B) {
			ctx := context.Background()
			s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "nwc.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			c := &wallet.Connection{Name: "bench", ClientPubKey: storetest.Key("c", 0), Scopes: []wallet.Scope{wallet.ScopeGetBalance}}
			if err := s.CreateConnection(ctx, c, func(i uint32) (nostr.PublicKey, error) { return storetest.Key("s", uint64(i)), nil }); err != nil {
				b.Fatal(err)
			}
			var seq, inFlight atomic.Int64
			s.SetBusyHint(func() int { return int(inFlight.Load()) - 1 })
			b.SetParallelism(par)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					inFlight.Add(1)
					var id nostr.EventID
					binary.BigEndian.PutUint64(id[:], uint64(seq.Add(1)))
					if err := s.BeginRequest(ctx, id, c.ID, wallet.MethodGetBalance, time.Now()); err != nil {
						b.Error(err)
						return
					}
					if err := s.FinishRequestLater(ctx, id, wallet.OutcomeOK, 0, time.Millisecond, time.Now()); err != nil {
						b.Error(err)
						return
					}
					inFlight.Add(-1)
				}
			})
		})
	}
}

// BenchmarkLogRow is what one request-log row costs, in 2,000-row transactions on a log
// that already holds 50,000 rows of random event ids (as real ones are): in requests,
// whose unique event-id index takes a random page per row, and in read_requests, which
// has none (the read-only log; docs/store.md).
func BenchmarkLogRow(b *testing.B) {
	const batch, prefill = 2000, 50_000
	randomIDs := func(n int) []string {
		ids := make([]string, n)
		for i := range ids {
			var id nostr.EventID
			rand.Read(id[:])
			ids[i] = id.String()
		}
		return ids
	}
	for _, table := range []string{"requests", "read_requests"} {
		b.Run(table, func(b *testing.B) {
			ctx := context.Background()
			s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "nwc.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			for i := 0; i < prefill; i += batch {
				if err := s.InsertLogRowsForTest(ctx, table, randomIDs(batch), time.Now()); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for done := 0; done < b.N; done += batch {
				b.StopTimer()
				ids := randomIDs(min(batch, b.N-done))
				b.StartTimer()
				if err := s.InsertLogRowsForTest(ctx, table, ids, time.Now()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
