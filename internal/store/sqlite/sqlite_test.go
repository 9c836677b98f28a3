package sqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/nwc-go/nwc/internal/store/sqlite"
	"github.com/nwc-go/nwc/internal/store/storetest"
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
			if err := s.CheckTotals(context.Background()); err != nil {
				t.Error(err)
			}
		})
		return opener(path)
	})
}

// opener opens the database at path, as storetest wants it.
func opener(path string) func(ctx context.Context) (storetest.Store, error) {
	return func(ctx context.Context) (storetest.Store, error) {
		s, err := sqlite.Open(ctx, path)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
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
	storetest.CloseLeavesNoGoroutines(t, opener(filepath.Join(t.TempDir(), "nwc.db")))
}

// TestContextCanceled: a canceled context fails calls cleanly and the
// store stays usable.
func TestContextCanceled(t *testing.T) {
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "nwc.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.ContextCanceled(t, s)
}

// TestRunningTotals drives random payments, invoices, settlements and
// failures through the store, with time crossing daily/weekly windows, and
// checks after every step that the O(1) running totals equal the sums over
// the rows (their definition).
func TestRunningTotals(t *testing.T) {
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "nwc.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.RunningTotals(t, []storetest.Store{s}, 600, s.CheckTotals)
}
