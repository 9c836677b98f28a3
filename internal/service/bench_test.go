package service_test

import (
	"testing"
	"time"

	"github.com/nwc-go/nwc/internal/wallet"
	"github.com/nwc-go/nwc/nip47"
	"github.com/nwc-go/nwc/nostr"
)

// BenchmarkHandleRequest measures the pipeline for one get_balance request without the
// network and without signature verification (the relay pool verifies before the service
// sees an event): decrypt, the store's request log, the sandbox, encrypt and sign the
// answer. "crypto" is the decrypt + encrypt + sign part alone, in the same run, so the two
// give the pipeline's overhead over its crypto (figure 2 of docs/benchmarks.md without the
// WebSocket and JSON framing).
//
//	go test -run '^$' -bench BenchmarkHandleRequest -benchmem ./internal/service/
func BenchmarkHandleRequest(b *testing.B) {
	e := newEnv(b, nil)
	a := e.connect(wallet.Connection{})
	build := func(n int) []*nostr.Event {
		evs := make([]*nostr.Event, n)
		for i := range evs {
			evs[i] = e.request(a, nip47.EncryptionNIP44, nip47.MethodGetBalance, nil)
		}
		return evs
	}
	b.Run("get_balance", func(b *testing.B) {
		evs := build(b.N)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			e.svc.HandleRequest(e.ctx, evs[i])
		}
		b.StopTimer()
		if got := e.responses(a, evs[b.N-1].ID); len(got) != 1 || got[0].Error != nil {
			b.Fatalf("last request: %d responses %+v", len(got), got)
		}
	})
	b.Run("crypto", func(b *testing.B) {
		evs := build(b.N)
		key := e.keys.Derive(a.conn.KeyIndex)
		resp, err := nip47.NewResult(nip47.MethodGetBalance, nip47.GetBalanceResult{Balance: 1000})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, _, err := e.cipher.DecryptRequest(key, evs[i]); err != nil {
				b.Fatal(err)
			}
			if _, err := e.cipher.SealResponse(key, evs[i].PubKey, evs[i].ID, nip47.EncryptionNIP44, resp, time.Now()); err != nil {
				b.Fatal(err)
			}
		}
	})
}
