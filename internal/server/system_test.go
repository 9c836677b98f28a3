package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nwc-go/nwc/internal/lightning"
	"github.com/nwc-go/nwc/internal/lightning/sandbox"
	"github.com/nwc-go/nwc/internal/server"
	"github.com/nwc-go/nwc/internal/service"
	"github.com/nwc-go/nwc/nip47"
	"github.com/nwc-go/nwc/nostr"
	"github.com/nwc-go/nwc/nostr/relaypool"
	"github.com/nwc-go/nwc/relay"
)

// startRelay runs an embedded relay on 127.0.0.1:port (0 = any) with its own data dir.
func startRelay(t *testing.T, addr, dir string) (url string, stop func()) {
	t.Helper()
	r, err := relay.New(relay.Config{DataDir: dir, EventsPerSecond: -1})
	if err != nil {
		t.Fatal(err)
	}
	url, stopHTTP, err := relay.ListenAndServe(context.Background(), addr, r)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() { once.Do(func() { stopHTTP(); r.Close() }) }
	t.Cleanup(stop)
	return url, stop
}

// rawApp plays the app with the bare protocol pieces, so a test can send the very same
// request event several times (an SDK would sign a new one per call).
type rawApp struct {
	t      *testing.T
	uri    *nip47.ConnectionURI
	pool   *relaypool.Pool
	cipher *nip47.Cipher
	resp   *relaypool.Subscription
}

func newRawApp(t *testing.T, uri string) *rawApp {
	t.Helper()
	u, err := nip47.ParseConnectionURI(uri)
	if err != nil {
		t.Fatal(err)
	}
	a := &rawApp{t: t, uri: u, cipher: nip47.NewCipher(10),
		pool: relaypool.New(relaypool.Options{MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})}
	for _, r := range u.Relays {
		if err := a.pool.AddRelay(r); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { a.pool.Close() })
	a.resp, err = a.pool.Subscribe(context.Background(), []nostr.Filter{{
		Kinds: []int{nip47.KindResponse}, Authors: []string{u.WalletPubKey.String()},
	}}, relaypool.WithBufferSize(10_000))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (a *rawApp) request(method nip47.Method, params any) *nostr.Event {
	a.t.Helper()
	req, err := nip47.NewRequest(method, params)
	if err != nil {
		a.t.Fatal(err)
	}
	ev, err := a.cipher.SealRequest(a.uri.Secret, a.uri.WalletPubKey, nip47.EncryptionNIP44, req, time.Now())
	if err != nil {
		a.t.Fatal(err)
	}
	return ev
}

func (a *rawApp) publish(ev *nostr.Event) {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := a.pool.Publish(ctx, ev)
	if err != nil {
		a.t.Fatalf("publish: %v", err)
	}
	res.Wait(ctx) // every relay has had its chance to take it
}

// collect gathers responses to the given request ids for d.
func (a *rawApp) collect(d time.Duration, ids ...nostr.EventID) map[nostr.EventID][]*nip47.Response {
	a.t.Helper()
	out, _ := a.gather(-1, d, ids...)
	return out
}

// gather reads responses to ids until n ids have an answer (n < 0: until d passes) and
// reports whether it stopped because d passed.
func (a *rawApp) gather(n int, d time.Duration, ids ...nostr.EventID) (map[nostr.EventID][]*nip47.Response, bool) {
	a.t.Helper()
	want := map[nostr.EventID]bool{}
	for _, id := range ids {
		want[id] = true
	}
	out := map[nostr.EventID][]*nip47.Response{}
	timeout := time.After(d)
	for n < 0 || len(out) < n {
		select {
		case ev := <-a.resp.Events():
			to, ok := nip47.ResponseTo(ev)
			if !ok || !want[to] {
				continue
			}
			resp, _, err := a.cipher.OpenResponse(a.uri.Secret, ev)
			if err != nil {
				a.t.Fatal(err)
			}
			out[to] = append(out[to], resp)
		case <-timeout:
			return out, true
		}
	}
	return out, false
}

// call sends a request and waits for its one answer.
func (a *rawApp) call(method nip47.Method, params, result any) *nip47.Error {
	a.t.Helper()
	ev := a.request(method, params)
	a.publish(ev)
	deadline := time.After(20 * time.Second)
	for {
		select {
		case x := <-a.resp.Events():
			if to, ok := nip47.ResponseTo(x); !ok || to != ev.ID {
				continue
			}
			resp, _, err := a.cipher.OpenResponse(a.uri.Secret, x)
			if err != nil {
				a.t.Fatal(err)
			}
			if resp.Error != nil {
				return resp.Error
			}
			if result != nil {
				if err := json.Unmarshal(resp.Result, result); err != nil {
					a.t.Fatal(err)
				}
			}
			return nil
		case <-deadline:
			a.t.Fatalf("%s: no answer", method)
		}
	}
}

func runServer(t *testing.T, ctx context.Context, o server.Options) (*server.Server, func()) {
	t.Helper()
	srv, err := server.Open(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); srv.Run(ctx) }()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done; srv.Close() }) }
	t.Cleanup(stop)
	return srv, stop
}

func strangerInvoice(t *testing.T, amount int64) lightning.Invoice {
	t.Helper()
	sb, err := sandbox.Open(context.Background(), sandbox.Config{Alias: "stranger"})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	inv, err := sb.MakeInvoice(context.Background(), lightning.InvoiceParams{Amount: amount, Description: "stranger"})
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

// TestSameRequestThroughThreeRelaysAndAfterRestart: one request event delivered by three
// relays at once and again after a restart of the service is paid once and answered once.
func TestSameRequestThroughThreeRelaysAndAfterRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var urls []string
	for i := 0; i < 3; i++ {
		u, _ := startRelay(t, "127.0.0.1:0", "")
		urls = append(urls, u)
	}
	opts := server.Options{DataDir: dir, RelayListen: "off", Relays: urls}
	srv, stop := runServer(t, ctx, opts)
	_, uri, err := server.NewConnection(ctx, srv.Store, srv.Keys, server.ConnectionOptions{Name: "app", Relays: urls})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Service.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	app := newRawApp(t, uri.String())
	waitSubscribed(t, app)
	before, _ := srv.Sandbox.Balance(ctx)

	inv := strangerInvoice(t, 25_000)
	ev := app.request(nip47.MethodPayInvoice, nip47.PayInvoiceParams{Invoice: inv.Bolt11})
	app.publish(ev) // the pool sends it to all three relays
	got := app.collect(3*time.Second, ev.ID)
	if n := len(got[ev.ID]); n != 1 || got[ev.ID][0].Error != nil {
		t.Fatalf("first delivery: %d answers (first error %+v), want one success", n, got[ev.ID][0].Error)
	}
	stop()

	srv2, _ := runServer(t, ctx, opts)
	waitSubscribed(t, app)
	app.publish(ev) // replayed after the restart
	got = app.collect(3*time.Second, ev.ID)
	if n := len(got[ev.ID]); n != 0 {
		t.Fatalf("replay after restart answered %d times, want 0", n)
	}
	after, _ := srv2.Sandbox.Balance(ctx)
	if spent := before - after; spent < 25_000 || spent > 25_000+10_000 {
		t.Fatalf("balance moved by %d msat, want one payment of 25000 plus fee", spent)
	}
}

// waitSubscribed waits until the service answers get_info, i.e. it has subscribed.
func waitSubscribed(t *testing.T, app *rawApp) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		ev := app.request(nip47.MethodGetInfo, nil)
		app.publish(ev)
		if got := app.collect(500*time.Millisecond, ev.ID); len(got[ev.ID]) > 0 {
			return
		}
	}
	t.Fatal("service never answered get_info")
}

// TestKill9WhilePaymentInFlight: the process is killed with SIGKILL while a payment hangs;
// after a restart the payment is reconciled, never paid twice, and lookup_invoice tells
// its state.
func TestKill9WhilePaymentInFlight(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the nwc binary")
	}
	bin := filepath.Join(t.TempDir(), "nwc")
	build := exec.Command("go", "build", "-o", bin, "../../cmd/nwc")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	dir := t.TempDir()
	relayURL, _ := startRelay(t, "127.0.0.1:0", "")
	out, err := exec.Command(bin, "connect", "new", "--data-dir", dir, "--name", "app", "--relay", relayURL, "--json").Output()
	if err != nil {
		t.Fatalf("connect new: %v", err)
	}
	var created struct{ URI string }
	if err := json.Unmarshal(out, &created); err != nil || created.URI == "" {
		t.Fatalf("connect new output %q: %v", out, err)
	}
	serve := func(extra ...string) *exec.Cmd {
		args := append([]string{"serve", "--data-dir", dir, "--relay-listen", "off", "--relay", relayURL, "--log-level", "debug"}, extra...)
		cmd := exec.Command(bin, args...)
		logf, err := os.Create(filepath.Join(t.TempDir(), "serve.log"))
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); logf.Close() })
		return cmd
	}
	proc := serve("--sandbox-external", "hang")
	app := newRawApp(t, created.URI)
	waitSubscribed(t, app)
	var startBal nip47.GetBalanceResult
	if e := app.call(nip47.MethodGetBalance, nil, &startBal); e != nil {
		t.Fatal(e)
	}

	inv := strangerInvoice(t, 70_000)
	payEv := app.request(nip47.MethodPayInvoice, nip47.PayInvoiceParams{Invoice: inv.Bolt11})
	app.publish(payEv)
	// Wait until the payment is recorded as in flight, then kill the process mid-payment.
	var tx nip47.Transaction
	deadline := time.Now().Add(15 * time.Second)
	for {
		if e := app.call(nip47.MethodLookupInvoice, nip47.LookupInvoiceParams{PaymentHash: inv.PaymentHash}, &tx); e == nil && tx.State == nip47.StatePending {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("payment never showed as pending: %+v", tx)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := proc.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	proc.Wait()

	// Restart; the stuck HTLC resolves as succeeded while the service was down.
	serve("--sandbox-resolve-pending", "succeed")
	waitSubscribed(t, app)
	app.publish(payEv) // the app retries the very same request: it must not pay again
	if e := app.call(nip47.MethodLookupInvoice, nip47.LookupInvoiceParams{PaymentHash: inv.PaymentHash}, &tx); e != nil {
		t.Fatal(e)
	}
	if tx.Type != nip47.TransactionOutgoing || tx.State != nip47.StateSettled || tx.Preimage == "" {
		t.Fatalf("after restart lookup_invoice says %+v, want a settled outgoing payment with preimage", tx)
	}
	// A new request for the same invoice is refused: it is already paid.
	if e := app.call(nip47.MethodPayInvoice, nip47.PayInvoiceParams{Invoice: inv.Bolt11}, nil); e == nil || e.Code != nip47.CodeOther ||
		!strings.Contains(e.Message, "already been paid") {
		t.Fatalf("second pay_invoice: %+v, want OTHER already paid", e)
	}
	var endBal nip47.GetBalanceResult
	if e := app.call(nip47.MethodGetBalance, nil, &endBal); e != nil {
		t.Fatal(e)
	}
	if spent := startBal.Balance - endBal.Balance; spent < 70_000 || spent > 70_000+10_000 {
		t.Fatalf("balance moved by %d msat, want exactly one payment of 70000 plus fee", spent)
	}
}

// TestConcurrentPaymentsOverRelay: 100 pay requests published at once through the embedded
// relay against a budget that allows 37 of them: exactly 37 succeed.
func TestConcurrentPaymentsOverRelay(t *testing.T) {
	ctx := context.Background()
	srv, _ := runServer(t, ctx, server.Options{DataDir: t.TempDir(), RelayListen: "127.0.0.1:0",
		Service: service.Config{RatePerSecond: -1}})
	// 1000 sat each plus the 10 sat reserve: the budget fits 37 and a bit.
	const n, allowed = 100, 37
	_, uri, err := server.NewConnection(ctx, srv.Store, srv.Keys, server.ConnectionOptions{
		Name: "shop", Budget: fmt.Sprintf("%dmsat/never", allowed*1_010_000+5_000), Relays: srv.RelayURLs})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Service.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	app := newRawApp(t, uri.String())
	waitSubscribed(t, app)
	evs := make([]*nostr.Event, n)
	ids := make([]nostr.EventID, n)
	for i := range evs {
		evs[i] = app.request(nip47.MethodPayInvoice, nip47.PayInvoiceParams{Invoice: strangerInvoice(t, 1_000_000).Bolt11})
		ids[i] = evs[i].ID
	}
	app.publishAll(evs)
	ok, quota := payOutcomes(t, app.collectN(n, 30*time.Second, ids...), ids)
	if ok != allowed || quota != n-allowed {
		t.Fatalf("%d succeeded and %d were refused, want %d and %d", ok, quota, allowed, n-allowed)
	}
}

// collectN is collect that returns as soon as every id has an answer, plus a moment for
// duplicate answers to show up.
func (a *rawApp) collectN(n int, d time.Duration, ids ...nostr.EventID) map[nostr.EventID][]*nip47.Response {
	a.t.Helper()
	out, timedOut := a.gather(n, d, ids...)
	if timedOut {
		a.t.Fatalf("only %d of %d requests answered", len(out), n)
	}
	for id, rs := range a.collect(300*time.Millisecond, ids...) {
		out[id] = append(out[id], rs...)
	}
	return out
}

// publishAll publishes evs at once, from one goroutine each.
func (a *rawApp) publishAll(evs []*nostr.Event) {
	var wg sync.WaitGroup
	for _, ev := range evs {
		wg.Go(func() { a.publish(ev) })
	}
	wg.Wait()
}

// payOutcomes counts the successes and QUOTA_EXCEEDED answers of pay requests; a request
// answered other than exactly once, or with another error, fails the test.
func payOutcomes(t *testing.T, got map[nostr.EventID][]*nip47.Response, ids []nostr.EventID) (ok, quota int) {
	t.Helper()
	for _, id := range ids {
		rs := got[id]
		if len(rs) != 1 {
			t.Fatalf("request answered %d times", len(rs))
		}
		switch {
		case rs[0].Error == nil:
			ok++
		case rs[0].Error.Code == nip47.CodeQuotaExceeded:
			quota++
		default:
			t.Fatalf("unexpected error %+v", rs[0].Error)
		}
	}
	return ok, quota
}
