package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nwc-go/nwc/internal/keyring"
	"github.com/nwc-go/nwc/internal/lightning"
	"github.com/nwc-go/nwc/internal/lightning/sandbox"
	"github.com/nwc-go/nwc/internal/server"
	"github.com/nwc-go/nwc/internal/service"
	"github.com/nwc-go/nwc/internal/store"
	"github.com/nwc-go/nwc/internal/store/postgres/pgtest"
	"github.com/nwc-go/nwc/internal/wallet"
	"github.com/nwc-go/nwc/nip47"
	"github.com/nwc-go/nwc/nostr"
	"github.com/nwc-go/nwc/nostr/relaypool"
)

// sharedDB returns an opener of store instances on one fresh database: PostgreSQL when
// $NWC_TEST_POSTGRES is set, else one SQLite file (two stores on one file behave as two
// instances too: the file lock serialises them).
func sharedDB(t *testing.T) func() store.Store {
	dir, db := t.TempDir(), pgtestURL(t)
	return func() store.Store {
		t.Helper()
		st, err := server.OpenStore(context.Background(), dir, db)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
}

// pgtestURL is pgtest.URL without the skip: "" when no PostgreSQL is configured.
func pgtestURL(t *testing.T) string {
	if os.Getenv(pgtest.EnvVar) == "" {
		return ""
	}
	return pgtest.URL(t)
}

// instance is one in-process wallet service on the shared store and backend.
type instance struct {
	svc  *service.Service
	stop func()
}

func startInstance(t *testing.T, cfg service.Config, relays []string) *instance {
	t.Helper()
	pool := relaypool.New(relaypool.Options{MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	for _, u := range relays {
		if err := pool.AddRelay(u); err != nil {
			t.Fatal(err)
		}
	}
	cfg.Relays = service.PoolRelays{Pool: pool}
	if cfg.RatePerSecond == 0 {
		cfg.RatePerSecond = -1
	}
	svc, err := service.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); svc.Run(ctx) }()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done; pool.Close() }) }
	t.Cleanup(stop)
	// Run loads the connections after reconciling and subscribing to the backend.
	deadline := time.Now().Add(10 * time.Second)
	for len(svc.ServiceKeys()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("service never loaded its connections")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return &instance{svc: svc, stop: stop}
}

// notifications subscribes the app to its notifications of the given kinds (none: both).
func (a *rawApp) notifications(kinds ...int) *relaypool.Subscription {
	a.t.Helper()
	if len(kinds) == 0 {
		kinds = []int{nip47.KindNotification, nip47.KindNotificationNIP04}
	}
	sub, err := a.pool.Subscribe(context.Background(), []nostr.Filter{{
		Kinds: kinds, Authors: []string{a.uri.WalletPubKey.String()},
	}}, relaypool.WithBufferSize(10_000))
	if err != nil {
		a.t.Fatal(err)
	}
	a.t.Cleanup(sub.Close)
	return sub
}

type noteKey struct {
	kind int
	typ  string
	hash string
}

// countNotes reads notifications for d and counts them by kind, type and payment hash.
func (a *rawApp) countNotes(sub *relaypool.Subscription, d time.Duration, into map[noteKey]int) {
	a.t.Helper()
	timeout := time.After(d)
	for {
		select {
		case ev := <-sub.Events():
			n, _, err := a.cipher.OpenNotification(a.uri.Secret, ev)
			if err != nil {
				a.t.Fatalf("open notification: %v", err)
			}
			into[noteKey{ev.Kind, n.NotificationType, n.Notification.PaymentHash}]++
		case <-timeout:
			return
		}
	}
}

// TestTwoInstancesNotifyOnce: two service instances share a store and ONE backend whose
// events both receive (as two instances on one LND node do). Every payment received, hold
// invoice accepted and payment sent is notified once per notification kind, not once per
// instance: only the instance whose store update made the transition notifies.
func TestTwoInstancesNotifyOnce(t *testing.T) {
	ctx := context.Background()
	openStore := sharedDB(t)
	relayURL, _ := startRelay(t, "127.0.0.1:0", "")
	keys, _, err := keyring.LoadOrCreate(filepath.Join(t.TempDir(), server.MasterKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	sb, err := sandbox.Open(ctx, sandbox.Config{InitialBalance: 1_000_000_000})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	st := openStore()
	_, uri, err := server.NewConnection(ctx, st, keys, server.ConnectionOptions{Name: "app",
		Methods: server.DefaultMethods + ",make_invoice", Notifications: true, Relays: []string{relayURL}})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		// Without PostgreSQL both share one SQLite file, which takes recording every
		// request first (one process alone may serve a SQLite database otherwise).
		startInstance(t, service.Config{Keys: keys, Store: openStore(), Backend: sb, SharedRequestLog: true}, []string{relayURL})
	}
	app := newRawApp(t, uri.String())
	notes := app.notifications()
	waitSubscribed(t, app)

	// payment_received: an invoice made through one instance, paid from outside; both
	// instances get the backend's InvoiceSettled event.
	var inv nip47.Transaction
	if e := app.call(nip47.MethodMakeInvoice, nip47.MakeInvoiceParams{Amount: 21_000, Description: "tip"}, &inv); e != nil {
		t.Fatal(e)
	}
	if err := sb.PayFromOutside(ctx, inv.Invoice); err != nil {
		t.Fatal(err)
	}
	// payment_sent: one pay request, executed by exactly one instance.
	out := strangerInvoice(t, 5_000)
	if e := app.call(nip47.MethodPayInvoice, nip47.PayInvoiceParams{Invoice: out.Bolt11}, nil); e != nil {
		t.Fatal(e)
	}
	// hold_invoice_accepted, then payment_received when the app settles it: the accepted
	// event reaches both instances, the settlement both the request path and the events.
	preimage := [32]byte{7}
	hash := sha256Hex(preimage[:])
	var hold nip47.Transaction
	if e := app.call(nip47.MethodMakeHoldInvoice, nip47.MakeHoldInvoiceParams{Amount: 9_000, PaymentHash: hash}, &hold); e != nil {
		t.Fatal(e)
	}
	payerDone := make(chan error, 1)
	go func() { payerDone <- sb.PayFromOutside(ctx, hold.Invoice) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var tx nip47.Transaction
		if e := app.call(nip47.MethodLookupInvoice, nip47.LookupInvoiceParams{PaymentHash: hash}, &tx); e == nil && tx.State == nip47.StateAccepted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("hold invoice never accepted")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if e := app.call(nip47.MethodSettleHoldInvoice, nip47.SettleHoldInvoiceParams{Preimage: hex.EncodeToString(preimage[:])}, nil); e != nil {
		t.Fatal(e)
	}
	if err := <-payerDone; err != nil {
		t.Fatal(err)
	}

	got := map[noteKey]int{}
	app.countNotes(notes, 1500*time.Millisecond, got) // any duplicate has had time to arrive
	for _, kind := range []int{nip47.KindNotification, nip47.KindNotificationNIP04} {
		for _, want := range []noteKey{
			{kind, wallet.NotificationPaymentReceived, inv.PaymentHash},
			{kind, wallet.NotificationPaymentSent, out.PaymentHash},
			{kind, wallet.NotificationHoldInvoiceAccepted, hash},
			{kind, wallet.NotificationPaymentReceived, hash},
		} {
			if got[want] != 1 {
				t.Errorf("%+v notified %d times, want once", want, got[want])
			}
		}
	}
	if len(got) != 8 {
		t.Errorf("notifications: %v, want exactly the 8 above", got)
	}
}

// TestReconcileSparesFreshReservations: an instance starting up (Reconcile) while another
// instance has just reserved a payment and is about to send it must not fail that
// reservation because the backend has not heard of it yet — that would release the budget
// of a payment that is then made. It waits until the reservation is orphaned (older than
// PaymentTimeout): a payment that then shows up at the backend is settled, one that never
// does is failed.
func TestReconcileSparesFreshReservations(t *testing.T) {
	ctx := context.Background()
	openStore := sharedDB(t)
	relayURL, _ := startRelay(t, "127.0.0.1:0", "")
	keys, _, err := keyring.LoadOrCreate(filepath.Join(t.TempDir(), server.MasterKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	sb, err := sandbox.Open(ctx, sandbox.Config{InitialBalance: 1_000_000_000})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	st := openStore()
	conn, uri, err := server.NewConnection(ctx, st, keys, server.ConnectionOptions{Name: "app", Budget: "100000sat/never",
		Notifications: true, Relays: []string{relayURL}})
	if err != nil {
		t.Fatal(err)
	}
	app := newRawApp(t, uri.String())
	notes := app.notifications()
	const timeout = 2 * time.Second
	now := time.Now()
	reserve := func(at time.Time) lightning.Invoice {
		inv := strangerInvoice(t, 10_000)
		if _, err := st.ReservePayment(ctx, wallet.PaymentReservation{ConnectionID: conn.ID, PaymentHash: inv.PaymentHash,
			Invoice: inv.Bolt11, Amount: 10_000, FeeReserve: wallet.FeeReserve(10_000), Budget: conn.Budget, CreatedAt: at}); err != nil {
			t.Fatal(err)
		}
		return inv
	}
	cases := []struct {
		name    string
		inv     lightning.Invoice
		sendNow bool // the backend made it before the instance started
		send    bool // the other instance sends it after the instance started
		want    wallet.TxState
	}{
		{name: "old, never sent", inv: reserve(now.Add(-time.Minute)), want: wallet.StateFailed},
		{name: "old, paid before the crash", inv: reserve(now.Add(-time.Minute)), sendNow: true, want: wallet.StateSettled},
		{name: "fresh, sent moments later", inv: reserve(now), send: true, want: wallet.StateSettled},
		{name: "fresh, never sent", inv: reserve(now), want: wallet.StateFailed},
	}
	for _, c := range cases {
		if c.sendNow {
			if _, err := sb.PayInvoice(ctx, lightning.PayParams{Invoice: c.inv.Bolt11}); err != nil {
				t.Fatal(err)
			}
		}
	}
	startInstance(t, service.Config{Keys: keys, Store: openStore(), Backend: sb, PaymentTimeout: timeout}, []string{relayURL})
	waitSubscribed(t, app) // it subscribes once Reconcile is done
	// Reconcile has run: old rows are resolved, fresh ones are left to their owner.
	for _, c := range cases {
		tx, err := st.Transaction(ctx, 0, wallet.TxOutgoing, c.inv.PaymentHash)
		if err != nil {
			t.Fatal(err)
		}
		want := c.want
		if c.send || c.name == "fresh, never sent" {
			want = wallet.StatePending
		}
		if tx.State != want {
			t.Fatalf("%s: right after start the row is %s, want %s", c.name, tx.State, want)
		}
	}
	for _, c := range cases {
		if c.send { // the owner sends it now (its settle would race the reconciler; both are safe)
			if _, err := sb.PayInvoice(ctx, lightning.PayParams{Invoice: c.inv.Bolt11}); err != nil {
				t.Fatal(err)
			}
		}
	}
	deadline := time.Now().Add(timeout + 8*time.Second)
	for _, c := range cases {
		for {
			tx, err := st.Transaction(ctx, 0, wallet.TxOutgoing, c.inv.PaymentHash)
			if err != nil {
				t.Fatal(err)
			}
			if tx.State == c.want {
				break
			}
			if tx.State != wallet.StatePending || time.Now().After(deadline) {
				t.Fatalf("%s: row is %s, want %s", c.name, tx.State, c.want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// The budget counts exactly the two payments that were made.
	used, err := st.BudgetUsed(ctx, conn.ID, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var paid wallet.MSat
	for _, c := range cases {
		if c.want == wallet.StateSettled {
			p, err := sb.LookupPayment(ctx, c.inv.PaymentHash)
			if err != nil {
				t.Fatal(err)
			}
			paid += wallet.MSat(p.Amount + p.FeePaid)
		}
	}
	if used != paid {
		t.Fatalf("budget used %d msat, the backend paid %d", used, paid)
	}
	// Each payment the reconciler settled is notified, once per kind.
	got := map[noteKey]int{}
	app.countNotes(notes, time.Second, got)
	for _, c := range cases {
		for _, kind := range []int{nip47.KindNotification, nip47.KindNotificationNIP04} {
			want := 0
			if c.want == wallet.StateSettled {
				want = 1
			}
			if n := got[noteKey{kind, wallet.NotificationPaymentSent, c.inv.PaymentHash}]; n != want {
				t.Errorf("%s: %d payment_sent notifications of kind %d, want %d", c.name, n, kind, want)
			}
		}
	}
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
