package postgres_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

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
			if err := s.CheckTotalsForTest(context.Background()); err != nil {
				t.Error(err)
			}
		})
		return func(ctx context.Context) (storetest.Store, error) {
			s, err := postgres.Open(ctx, url)
			if err != nil {
				return nil, err
			}
			return s, nil
		}
	})
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
			c := &wallet.Connection{Name: "a", ClientPubKey: testKey("client", 1)}
			if err := stores[0].CreateConnection(ctx, c, func(i uint32) (nostr.PublicKey, error) { return testKey("svc", uint64(i)), nil }); err != nil {
				t.Fatal(err)
			}
			if _, err := stores[1].ReservePayment(ctx, wallet.PaymentReservation{ConnectionID: c.ID, PaymentHash: testHash(1), Amount: 1000}); err != nil {
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
		conns[i] = &wallet.Connection{Name: "c", ClientPubKey: testKey("client", uint64(i))}
		if err := stores[0].CreateConnection(ctx, conns[i], func(k uint32) (nostr.PublicKey, error) { return testKey("svc", uint64(k)), nil }); err != nil {
			t.Fatal(err)
		}
	}
	hash := testHash(42)
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
	if err := stores[1].CheckTotalsForTest(ctx); err != nil {
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
			c := &wallet.Connection{Name: "c", ClientPubKey: testKey("client", uint64(i))}
			errs[i] = stores[i%len(stores)].CreateConnection(ctx, c, func(k uint32) (nostr.PublicKey, error) { return testKey("svc", uint64(k)), nil })
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
	s := open(t, pgtest.URL(t))
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

// TestCloseLeavesNoGoroutines: a used store leaves nothing running once closed.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	url := pgtest.URL(t)
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutSetting(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.ListTransactions(ctx, wallet.TxQuery{Unpaid: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// pgxpool's background goroutines end asynchronously after Close.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines before, %d after Close:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRunningTotals drives random payments, invoices, settlements and
// failures through two instances, with time crossing daily/weekly windows,
// and checks after every step that the running totals equal the sums over
// the rows.
func TestRunningTotals(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	stores := []*postgres.Store{open(t, url), open(t, url)}
	rng := rand.New(rand.NewPCG(7, 11))
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var conns []*wallet.Connection
	for i, b := range []wallet.Budget{
		{Limit: 50_000_000, Renewal: wallet.RenewalDaily},
		{Limit: 200_000_000, Renewal: wallet.RenewalWeekly},
		{},
	} {
		c := &wallet.Connection{Name: "c", ClientPubKey: testKey("tc", uint64(i)), Budget: b, Isolated: i != 1, CreatedAt: now}
		if err := stores[0].CreateConnection(ctx, c, func(i uint32) (nostr.PublicKey, error) { return testKey("ts", uint64(i)), nil }); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	var (
		pending, invoices []string
		n                 uint64
	)
	hash := func() string { n++; return testHash(n) }
	take := func(list *[]string) string {
		i := rng.IntN(len(*list))
		h := (*list)[i]
		*list = append((*list)[:i], (*list)[i+1:]...)
		return h
	}
	for step := range 300 {
		s := stores[step%2]
		now = now.Add(time.Duration(rng.IntN(3600)) * time.Second)
		c := conns[rng.IntN(len(conns))]
		switch op := rng.IntN(6); {
		case op <= 1:
			amt := wallet.MSat(rng.IntN(5_000_000))
			r := wallet.PaymentReservation{ConnectionID: c.ID, PaymentHash: hash(), Amount: amt, FeeReserve: wallet.FeeReserve(amt),
				Budget: c.Budget, WindowStart: c.Budget.WindowStart(now, time.UTC), Isolated: c.Isolated, CreatedAt: now}
			_, err := s.ReservePayment(ctx, r)
			switch {
			case err == nil:
				pending = append(pending, r.PaymentHash)
			case errors.Is(err, wallet.ErrQuotaExceeded), errors.Is(err, wallet.ErrInsufficientBalance):
			default:
				t.Fatalf("step %d: reserve: %v", step, err)
			}
		case op == 2 && len(pending) > 0:
			if _, err := s.SettlePayment(ctx, take(&pending), "p", wallet.MSat(rng.IntN(20_000)), now); err != nil {
				t.Fatalf("step %d: settle payment: %v", step, err)
			}
		case op == 3 && len(pending) > 0:
			if _, err := s.FailPayment(ctx, take(&pending), "x", now); err != nil {
				t.Fatalf("step %d: fail payment: %v", step, err)
			}
		case op == 4:
			inv := &wallet.Transaction{ConnectionID: c.ID, PaymentHash: hash(), Amount: wallet.MSat(rng.IntN(10_000_000)), CreatedAt: now}
			if err := s.InsertInvoice(ctx, inv); err != nil {
				t.Fatalf("step %d: invoice: %v", step, err)
			}
			invoices = append(invoices, inv.PaymentHash)
		case op == 5 && len(invoices) > 0:
			h := take(&invoices)
			if rng.IntN(4) == 0 {
				if _, err := s.MarkInvoiceCanceled(ctx, h, now); err != nil {
					t.Fatalf("step %d: cancel: %v", step, err)
				}
				break
			}
			if _, err := s.SettleInvoice(ctx, h, "p", 0, now); err != nil {
				t.Fatalf("step %d: settle invoice: %v", step, err)
			}
			if _, err := stores[(step+1)%2].SettleInvoice(ctx, h, "p", 1, now); !errors.Is(err, wallet.ErrAlreadySettled) {
				t.Fatalf("step %d: second settle on the other instance: %v", step, err)
			}
		}
		if err := s.CheckTotalsForTest(ctx); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
	}
}

func testKey(label string, n uint64) nostr.PublicKey {
	sum := sha256.Sum256(binary.BigEndian.AppendUint64([]byte(label), n))
	sk, err := nostr.SecretKeyFromBytes(sum[:])
	if err != nil {
		panic(err)
	}
	return sk.Public()
}

func testHash(n uint64) string {
	sum := sha256.Sum256(binary.BigEndian.AppendUint64([]byte("hash"), n))
	return hex.EncodeToString(sum[:])
}
