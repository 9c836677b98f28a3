package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/nwc-go/nwc/internal/store/postgres"
	"github.com/nwc-go/nwc/internal/store/postgres/pgtest"
	"github.com/nwc-go/nwc/internal/store/storetest"
)

// BenchmarkPayPath measures the store work of one pay_invoice request as the service
// does it: reserve with the request recorded in the same transaction (budget + isolated
// balance checks, connection row locked), settle, finish, touch — four write
// transactions. history rows of earlier payments lie in the budget window; that many
// Store values share the database (the goroutines alternate between them), as instances do.
func BenchmarkPayPath(b *testing.B) {
	for _, bc := range []struct{ history, instances int }{{0, 1}, {0, 2}, {10_000, 2}} {
		b.Run(fmt.Sprintf("history=%d/instances=%d", bc.history, bc.instances), func(b *testing.B) {
			url := pgtest.URL(b)
			stores := make([]storetest.Store, bc.instances)
			for i := range stores {
				s, err := postgres.Open(context.Background(), url)
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				stores[i] = s
			}
			storetest.PayPath(b, stores, bc.history, false)
		})
	}
}
