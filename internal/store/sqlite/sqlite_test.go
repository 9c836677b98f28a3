package sqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/nwc-go/nwc/internal/store/sqlite"
	"github.com/nwc-go/nwc/internal/store/storetest"
	"github.com/nwc-go/nwc/internal/wallet"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func(ctx context.Context) (storetest.Store, error) {
		path := filepath.Join(t.TempDir(), "nwc.db")
		// Runs last: whatever the test did, the running totals must agree
		// with the rows.
		t.Cleanup(func() {
			s, err := sqlite.Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.CheckTotalsForTest(context.Background()); err != nil {
				t.Error(err)
			}
		})
		return func(ctx context.Context) (storetest.Store, error) {
			s, err := sqlite.Open(ctx, path)
			if err != nil {
				return nil, err
			}
			return s, nil
		}
	})
}

func TestOpenRejectsBadPaths(t *testing.T) {
	for _, p := range []string{"", ":memory:", filepath.Join(t.TempDir(), "a?mode=ro")} {
		if s, err := sqlite.Open(context.Background(), p); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", p)
		}
	}
}

var _ storetest.Store = (*sqlite.Store)(nil)

func TestSchemaTooNew(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "dir", "nwc.db") // directories are created
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.BumpSchemaForTest(ctx, 1000); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = sqlite.Open(ctx, path)
	if !errors.Is(err, sqlite.ErrSchemaTooNew) {
		t.Fatalf("Open of a newer schema: %v, want ErrSchemaTooNew", err)
	}
}

// TestCloseLeavesNoGoroutines: a store that was used (with a cancellable
// context, which the driver watches) leaves nothing running once closed.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "nwc.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutSetting(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetSetting(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.ListTransactions(ctx, wallet.TxQuery{Unpaid: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Goroutines end asynchronously after Close; give them a moment.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines before, %d after Close:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestContextCanceled: a canceled context fails calls cleanly and the
// store stays usable.
func TestContextCanceled(t *testing.T) {
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "nwc.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.PutSetting(ctx, "k", "v"); err == nil {
		t.Fatal("PutSetting with a canceled context succeeded")
	}
	if _, err := s.ReservePayment(ctx, wallet.PaymentReservation{PaymentHash: "aa", Amount: 1}); err == nil {
		t.Fatal("ReservePayment with a canceled context succeeded")
	}
	if err := s.PutSetting(context.Background(), "k", "v"); err != nil {
		t.Fatalf("store unusable after a canceled call: %v", err)
	}
	if v, err := s.GetSetting(context.Background(), "k"); err != nil || v != "v" {
		t.Fatalf("GetSetting = %q, %v", v, err)
	}
}
