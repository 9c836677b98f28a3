package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/nwc-go/nwc/internal/store/postgres"
	"github.com/nwc-go/nwc/internal/store/postgres/pgtest"
	"github.com/nwc-go/nwc/internal/store/storetest"
	"github.com/nwc-go/nwc/internal/wallet"
	"github.com/nwc-go/nwc/nostr"
)

var _ storetest.Store = (*postgres.Store)(nil)

func open(t *testing.T, url string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestConformance runs the store suite, each test in a fresh schema.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func(ctx context.Context) (storetest.Store, error) {
		url := pgtest.URL(t)
		// Runs last (before the schema is dropped): whatever the test did,
		// the running totals must agree with the rows.
		t.Cleanup(func() {
			s, err := postgres.Open(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.CheckTotals(context.Background()); err != nil {
				t.Error(err)
			}
		})
		return opener(url)
	})
}

// opener opens the database at url, as storetest wants it.
func opener(url string) func(ctx context.Context) (storetest.Store, error) {
	return func(ctx context.Context) (storetest.Store, error) {
		s, err := postgres.Open(ctx, url)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
}

// TestMigrateFromEveryVersion: a database left at any earlier schema version
// (0 = empty) is brought up to date on open, by several instances at once.
func TestMigrateFromEveryVersion(t *testing.T) {
	n := postgres.MigrationCountForTest()
	for from := 0; from <= n; from++ {
		t.Run(fmt.Sprintf("from%d", from), func(t *testing.T) {
			url := pgtest.URL(t)
			ctx := context.Background()
			if err := postgres.MigrateToForTest(ctx, url, from); err != nil {
				t.Fatal(err)
			}
			const instances = 4
			var (
				wg     sync.WaitGroup
				stores [instances]*postgres.Store
				errs   [instances]error
			)
			for i := range stores {
				wg.Go(func() { stores[i], errs[i] = postgres.Open(ctx, url) })
			}
			wg.Wait()
			for i, s := range stores {
				if errs[i] != nil {
					t.Fatalf("instance %d: %v", i, errs[i])
				}
				defer s.Close()
				v, err := s.SchemaVersionForTest(ctx)
				if err != nil || v != n {
					t.Fatalf("instance %d: schema version %d, %v; want %d", i, v, err, n)
				}
			}
			// The schema works: a connection and a payment round-trip.
			c := &wallet.Connection{Name: "a", ClientPubKey: storetest.Key("client", 1)}
			if err := stores[0].CreateConnection(ctx, c, func(i uint32) (nostr.PublicKey, error) { return storetest.Key("svc", uint64(i)), nil }); err != nil {
				t.Fatal(err)
			}
			if _, err := stores[1].ReservePayment(ctx, wallet.PaymentReservation{ConnectionID: c.ID, PaymentHash: storetest.Hash(1), Amount: 1000}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestSchemaTooNew(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	s := open(t, url)
	if err := s.BumpSchemaForTest(ctx, 1000); err != nil {
		t.Fatal(err)
	}
	if _, err := postgres.Open(ctx, url); !errors.Is(err, postgres.ErrSchemaTooNew) {
		t.Fatalf("Open of a newer schema: %v, want ErrSchemaTooNew", err)
	}
}

// TestBadURLHidesPassword: an unparsable URL is refused without echoing it.
func TestBadURLHidesPassword(t *testing.T) {
	for _, u := range []string{
		"postgres://nwc:s3cret-pw@127.0.0.1:notaport/db",
		"postgres://nwc:s3cret-pw@[::1/db",
		"postgres://nwc:s3cret-pw@127.0.0.1:5432/db?sslmode=bogus",
	} {
		_, err := postgres.Open(context.Background(), u)
		if err == nil {
			t.Fatalf("Open(%q) succeeded", u)
		}
		if strings.Contains(err.Error(), "s3cret-pw") {
			t.Fatalf("error reveals the password: %v", err)
		}
	}
}

func TestIsURL(t *testing.T) {
	for in, want := range map[string]bool{
		"postgres://u@h/db":   true,
		"postgresql://u@h/db": true,
		"/var/lib/nwc/nwc.db": false,
		"nwc.db":              false,
		"":                    false,
		"POSTGRES://u@h/db":   false,
	} {
		if got := postgres.IsURL(in); got != want {
			t.Errorf("IsURL(%q) = %v, want %v", in, got, want)
		}
	}
}

// TestSameHashAcrossConnections: connections on four instances race to pay
// one invoice; the unique index lets exactly one reservation through and the
// others are told it is in flight.
func TestSameHashAcrossConnections(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	const n = 16
	stores := make([]*postgres.Store, 4)
	for i := range stores {
		stores[i] = open(t, url)
	}
	conns := make([]*wallet.Connection, n)
	for i := range conns {
		conns[i] = &wallet.Connection{Name: "c", ClientPubKey: storetest.Key("client", uint64(i))}
		if err := stores[0].CreateConnection(ctx, conns[i], func(k uint32) (nostr.PublicKey, error) { return storetest.Key("svc", uint64(k)), nil }); err != nil {
			t.Fatal(err)
		}
	}
	hash := storetest.Hash(42)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = stores[i%len(stores)].ReservePayment(ctx, wallet.PaymentReservation{
				ConnectionID: conns[i].ID, PaymentHash: hash, Amount: 5000, FeeReserve: wallet.MinFeeReserve})
		})
	}
	close(start)
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, wallet.ErrPaymentPending):
		default:
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d reservations of one hash succeeded, want 1", ok)
	}
	if err := stores[1].CheckTotals(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentConnectionCreation: instances creating connections at once
// never take the same key index.
func TestConcurrentConnectionCreation(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	stores := []*postgres.Store{open(t, url), open(t, url), open(t, url)}
	const n = 30
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c := &wallet.Connection{Name: "c", ClientPubKey: storetest.Key("client", uint64(i))}
			errs[i] = stores[i%len(stores)].CreateConnection(ctx, c, func(k uint32) (nostr.PublicKey, error) { return storetest.Key("svc", uint64(k)), nil })
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
	}
	list, err := stores[0].ListConnections(ctx)
	if err != nil || len(list) != n {
		t.Fatalf("%d connections, %v; want %d", len(list), err, n)
	}
	for i, c := range list {
		if c.KeyIndex != uint32(i+1) {
			t.Fatalf("connection %d has key index %d, want %d (dense, unique)", c.ID, c.KeyIndex, i+1)
		}
	}
}

// TestContextCanceled: a canceled context fails calls cleanly and the store
// stays usable.
func TestContextCanceled(t *testing.T) {
	storetest.ContextCanceled(t, open(t, pgtest.URL(t)))
}

// TestCloseLeavesNoGoroutines: a used store leaves nothing running once closed.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	storetest.CloseLeavesNoGoroutines(t, opener(pgtest.URL(t)))
}

// TestRunningTotals drives random payments, invoices, settlements and
// failures through two instances, with time crossing daily/weekly windows,
// and checks after every step that the running totals equal the sums over
// the rows.
func TestRunningTotals(t *testing.T) {
	url := pgtest.URL(t)
	s0, s1 := open(t, url), open(t, url)
	storetest.RunningTotals(t, []storetest.Store{s0, s1}, 300, s0.CheckTotals)
}
