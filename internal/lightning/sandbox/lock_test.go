package sandbox

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/nwc-go/nwc/internal/lightning"
)

// A ledger file belongs to one Sandbox unless Shared; the lock ends with Close.
func TestLedgerLock(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sb.db")
	a, err := Open(ctx, Config{Path: path, InitialBalance: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, Config{Path: path}); !errors.Is(err, ErrLedgerInUse) {
		t.Fatalf("second Open: %v, want ErrLedgerInUse", err)
	}
	if _, err := Open(ctx, Config{Path: path, Shared: true}); !errors.Is(err, ErrLedgerInUse) {
		t.Fatalf("shared Open beside an owner (whose cache would go stale): %v, want ErrLedgerInUse", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	s1, err := Open(ctx, Config{Path: path, Shared: true})
	if err != nil {
		t.Fatalf("shared Open after the owner closed: %v", err)
	}
	s2, err := Open(ctx, Config{Path: path, Shared: true})
	if err != nil {
		t.Fatalf("second shared Open: %v", err)
	}
	if _, err := Open(ctx, Config{Path: path}); !errors.Is(err, ErrLedgerInUse) {
		t.Fatalf("owning Open beside sharers: %v, want ErrLedgerInUse", err)
	}
	s1.Close()
	s2.Close()
	b, err := Open(ctx, Config{Path: path})
	if err != nil {
		t.Fatalf("Open after the sharers closed: %v", err)
	}
	b.Close()
}

// Shared ledgers read the balance from the file: a change by another Sandbox on the same
// file shows at once. An owned ledger caches it, and its own changes show at once too.
func TestBalanceAcrossChanges(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	for _, shared := range []bool{false, true} {
		path := filepath.Join(t.TempDir(), "sb.db")
		a, err := Open(ctx, Config{Path: path, InitialBalance: 1_000_000, Shared: shared})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		if got := mustBalance(t, a); got != 1_000_000 {
			t.Fatalf("shared=%v: balance %d, want 1000000", shared, got)
		}
		inv, _ := foreignInvoice(t, now, 10_000, 1)
		if _, err := a.PayInvoice(ctx, lightning.PayParams{Invoice: inv}); err != nil {
			t.Fatal(err)
		}
		after := mustBalance(t, a)
		if after >= 1_000_000-10_000 {
			t.Fatalf("shared=%v: balance %d after paying 10000, want less than 990000", shared, after)
		}
		if !shared {
			continue
		}
		b, err := Open(ctx, Config{Path: path, Shared: true})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		inv2, _ := foreignInvoice(t, now, 20_000, 2)
		if _, err := b.PayInvoice(ctx, lightning.PayParams{Invoice: inv2}); err != nil {
			t.Fatal(err)
		}
		if got := mustBalance(t, a); got >= after-20_000 {
			t.Fatalf("balance %d after another process paid 20000 from %d: stale", got, after)
		}
	}
}
