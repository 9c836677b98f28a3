package sandbox

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nwc-go/nwc/internal/lightning"
	"github.com/nwc-go/nwc/internal/lightning/lightningtest"
)

// fakeClock is a manual clock shared by the sandboxes of a test.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func openTest(t *testing.T, cfg Config) *Sandbox {
	t.Helper()
	s, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// pair opens the sandbox under test and a second one ("the other node") on
// one Net with one clock.
func pair(t *testing.T) (*Sandbox, *Sandbox, *fakeClock) {
	t.Helper()
	clock := newFakeClock()
	net := NewNet()
	a := openTest(t, Config{Seed: []byte("alice"), InitialBalance: 1_000_000, Clock: clock.Now, Net: net})
	b := openTest(t, Config{Seed: []byte("bob"), InitialBalance: 1_000_000, Clock: clock.Now, Net: net})
	return a, b, clock
}

func TestConformance(t *testing.T) {
	lightningtest.Run(t, func(t *testing.T) lightningtest.Harness {
		a, b, clock := pair(t)
		return lightningtest.Harness{
			Backend: a,
			// The other node pays: it is on the same Net, so this is a real
			// transfer with its balance debited.
			PayFromOutside: func(ctx context.Context, invoice string) error {
				_, err := b.PayInvoice(ctx, lightning.PayParams{Invoice: invoice})
				return err
			},
			ExternalInvoice: func(ctx context.Context, amount int64, expiry time.Duration) (string, error) {
				inv, err := b.MakeInvoice(ctx, lightning.InvoiceParams{Amount: amount, Description: "external", Expiry: expiry})
				return inv.Bolt11, err
			},
			ExternalNode: b.PubKey(),
			Advance:      clock.Advance,
		}
	})
}

// The same suite with the faucet (PayFromOutside) as the outside payer and
// a file database.
func TestConformanceFaucetOnDisk(t *testing.T) {
	lightningtest.Run(t, func(t *testing.T) lightningtest.Harness {
		clock := newFakeClock()
		net := NewNet()
		dir := t.TempDir()
		a := openTest(t, Config{Path: dir + "/a.db", Seed: []byte("alice"), InitialBalance: 1_000_000, Clock: clock.Now, Net: net})
		b := openTest(t, Config{Path: dir + "/b.db", Seed: []byte("bob"), Clock: clock.Now, Net: net})
		return lightningtest.Harness{
			Backend:        a,
			PayFromOutside: a.PayFromOutside,
			ExternalInvoice: func(ctx context.Context, amount int64, expiry time.Duration) (string, error) {
				inv, err := b.MakeInvoice(ctx, lightning.InvoiceParams{Amount: amount, Expiry: expiry})
				return inv.Bolt11, err
			},
			ExternalNode: b.PubKey(),
			Advance:      clock.Advance,
		}
	})
}
