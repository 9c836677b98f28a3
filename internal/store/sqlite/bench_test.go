package sqlite_test

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/nwc-go/nwc/internal/store/sqlite"
	"github.com/nwc-go/nwc/internal/store/storetest"
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
