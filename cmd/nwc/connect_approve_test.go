package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nwc-go/nwc/client"
	"github.com/nwc-go/nwc/internal/admin"
	"github.com/nwc-go/nwc/internal/lightning"
	"github.com/nwc-go/nwc/internal/lightning/sandbox"
	"github.com/nwc-go/nwc/internal/server"
	"github.com/nwc-go/nwc/internal/server/servertest"
	"github.com/nwc-go/nwc/nip47"
	"github.com/nwc-go/nwc/nostr"
	"github.com/nwc-go/nwc/nostr/relaypool"
	"github.com/nwc-go/nwc/relay"
)

// appRelay is a relay of the app's choosing, not one the wallet service uses.
func appRelay(t *testing.T) string {
	t.Helper()
	r, err := relay.New(relay.Config{EventsPerSecond: -1})
	if err != nil {
		t.Fatal(err)
	}
	url, stop, err := relay.ListenAndServe(context.Background(), "127.0.0.1:0", r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(); r.Close() })
	return url
}

// nwaApp plays an app that connects with Nostr Wallet Auth: its own key, a walletauth URI,
// and a subscription waiting for the info event that names it.
type nwaApp struct {
	t      *testing.T
	secret *nostr.SecretKey
	relay  string
	pool   *relaypool.Pool
	info   *relaypool.Subscription
}

func newNWAApp(t *testing.T, relayURL string) *nwaApp {
	t.Helper()
	a := &nwaApp{t: t, secret: nostr.GenerateSecretKey(), relay: relayURL, pool: relaypool.New(relaypool.Options{})}
	t.Cleanup(func() { a.pool.Close() })
	if err := a.pool.AddRelay(relayURL); err != nil {
		t.Fatal(err)
	}
	var err error
	a.info, err = a.pool.Subscribe(context.Background(), []nostr.Filter{{
		Kinds: []int{nip47.KindInfo}, Tags: map[string][]string{"p": {a.secret.Public().String()}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (a *nwaApp) uri() string {
	return (&nip47.WalletAuthURI{
		ClientPubKey: a.secret.Public(), Relays: []string{a.relay}, Name: "Test app",
		RequestMethods: []nip47.Method{nip47.MethodPayInvoice, nip47.MethodGetBalance},
		MaxAmount:      50_000_000, BudgetRenewal: nip47.BudgetRenewalMonthly, ReturnTo: "https://app.example/connected?s=1",
	}).String()
}

// walletKey waits for the info event with the app's key in its p tag: its author is the
// wallet service key of the new connection.
func (a *nwaApp) walletKey() nostr.PublicKey {
	a.t.Helper()
	select {
	case ev := <-a.info.Events():
		if p, ok := nip47.Recipient(ev); !ok || p != a.secret.Public() {
			a.t.Fatalf("info event p tag %v", ev.Tags)
		}
		return ev.PubKey
	case <-time.After(15 * time.Second):
		a.t.Fatal("no info event for the app's key")
	}
	return nostr.PublicKey{}
}

// dial connects the app as any NWC client would, with the discovered wallet key, its own
// secret and its relay.
func (a *nwaApp) dial(ctx context.Context, wallet nostr.PublicKey, opts ...client.Option) *client.Client {
	a.t.Helper()
	uri := &nip47.ConnectionURI{WalletPubKey: wallet, Relays: []string{a.relay}, Secret: a.secret}
	c, err := client.Dial(ctx, uri.String(), opts...)
	if err != nil {
		a.t.Fatal(err)
	}
	a.t.Cleanup(func() { c.Close() })
	return c
}

func strangerInvoice(t *testing.T, amount int64) string {
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
	return inv.Bolt11
}

func startServer(t *testing.T, dir string) *server.Server {
	t.Helper()
	return servertest.Start(t, server.Options{DataDir: dir, AdminListen: "127.0.0.1:0"})
}

// TestConnectApproveWithRunningService plays the app of an NWA flow against a running
// service whose relays differ from the app's: the app shows its URI, the user approves it
// with `nwc connect approve`, the app learns the wallet key from the info event on its own
// relay and pays through the new connection at once, within the budget it asked for.
func TestConnectApproveWithRunningService(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	srv := startServer(t, dir)
	app := newNWAApp(t, appRelay(t))

	var out, errOut bytes.Buffer
	if code := run(ctx, []string{"connect", "approve", "--data-dir", dir, "--yes", "--json", app.uri()}, &out, &errOut); code != 0 {
		t.Fatalf("approve: exit %d: %s", code, errOut.String())
	}
	var res admin.ApprovalView
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("approve output %q: %v", out.String(), err)
	}
	if res.Offline || !res.Published || res.Connection.Name != "Test app" || res.Connection.BudgetMSat != 50_000_000 {
		t.Fatalf("approval %+v", res)
	}
	wallet := app.walletKey()
	if wallet.String() != res.WalletPubKey {
		t.Fatalf("info event by %s, approval says %s", wallet, res.WalletPubKey)
	}
	back, err := url.Parse(res.ReturnURL)
	if err != nil || back.Host != "app.example" || back.Query().Get("pubkey") != wallet.String() ||
		back.Query().Get("relay") != app.relay || back.Query().Get("s") != "1" {
		t.Fatalf("return URL %q", res.ReturnURL)
	}

	// No waiting and no retry: the service listened on the app's relay before the app
	// heard of the connection.
	c := app.dial(ctx, wallet, client.WithTimeout(20*time.Second))
	if _, err := c.PayInvoice(ctx, strangerInvoice(t, 30_000)); err != nil {
		t.Fatalf("pay through the NWA connection: %v", err)
	}
	budget, err := c.GetBudget(ctx)
	if err != nil || budget.TotalBudget != 50_000_000 || budget.UsedBudget < 30_000 || budget.RenewalPeriod != "monthly" {
		t.Fatalf("budget %+v (%v)", budget, err)
	}
	if _, err := c.MakeInvoice(ctx, nip47.MakeInvoiceParams{Amount: 1000}); !errors.Is(err, nip47.ErrRestricted) {
		t.Fatalf("make_invoice, not asked for: %v, want RESTRICTED", err)
	}
	if _, err := c.PayInvoice(ctx, strangerInvoice(t, 60_000_000)); !errors.Is(err, nip47.ErrQuotaExceeded) {
		t.Fatalf("payment over the budget: %v, want QUOTA_EXCEEDED", err)
	}
	found := false
	for _, r := range srv.Pool.Relays() {
		found = found || r.URL == app.relay
	}
	if !found {
		t.Fatalf("the service's pool %v lacks the app's relay", srv.Pool.Relays())
	}

	// The same app cannot be approved twice while its connection lives.
	out.Reset()
	errOut.Reset()
	if code := run(ctx, []string{"connect", "approve", "--data-dir", dir, "--yes", app.uri()}, &out, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), "already has a connection") {
		t.Fatalf("second approval: exit %d, stderr %q", code, errOut.String())
	}
}

// TestConnectApproveOffline: approved while no service runs, the connection is announced on
// the app's relay at once and served by the next `nwc serve`, which listens there too.
func TestConnectApproveOffline(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	app := newNWAApp(t, appRelay(t))
	var out, errOut bytes.Buffer
	if code := run(ctx, []string{"connect", "approve", app.uri(), "--data-dir", dir, "--yes"}, &out, &errOut); code != 0 {
		t.Fatalf("approve: exit %d: %s", code, errOut.String())
	}
	for _, want := range []string{"Test app", "pay_invoice", "50000sat/monthly", "accepted", "not running", "Back to the app: https://app.example/connected?"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	wallet := app.walletKey()
	srv := startServer(t, dir)
	c := app.dial(ctx, wallet, client.WithTimeout(time.Second))
	// The service is starting: ask until it answers.
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := c.GetBalance(ctx)
		if err == nil {
			break
		}
		if !errors.Is(err, client.ErrTimeout) || time.Now().After(deadline) {
			t.Fatalf("get_balance through the offline-approved connection: %v", err)
		}
	}
	if _, err := c.PayInvoice(ctx, strangerInvoice(t, 10_000), client.WithAmount(10_000)); err != nil {
		t.Fatalf("pay: %v", err)
	}
	if conns, _ := srv.Store.ListConnections(ctx); len(conns) != 1 || conns[0].ClientPubKey != app.secret.Public() {
		t.Fatalf("connections %+v", conns)
	}
}

// TestConnectApproveRefusals: unusable URIs are explained, and nothing is created unless
// the user says yes.
func TestConnectApproveRefusals(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	key := nostr.GenerateSecretKey().Public().String()
	cases := []struct {
		name, uri, stdin string
		wantCode         int
		wantErr          string
	}{
		{"not a URI", "hello", "", 1, "no scheme"},
		{"no relay", "nostr+walletauth://" + key, "", 1, "relay missing"},
		{"unknown method", "nostr+walletauth://" + key + "?relay=ws://127.0.0.1:1&request_methods=teleport", "", 1, `unknown method "teleport"`},
		{"declined", "nostr+walletauth://" + key + "?relay=ws://127.0.0.1:1", "n\n", 1, "not approved"},
		{"no answer", "nostr+walletauth://" + key + "?relay=ws://127.0.0.1:1", "", 1, "not approved"},
	}
	for _, c := range cases {
		var out, errOut bytes.Buffer
		code := connectApprove(ctx, []string{"--data-dir", dir, c.uri}, strings.NewReader(c.stdin), &out, &errOut)
		if code != c.wantCode || !strings.Contains(errOut.String(), c.wantErr) {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q", c.name, code, errOut.String(), c.wantCode, c.wantErr)
		}
	}
	st, _, _, err := openWallet(ctx, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if conns, _ := st.ListConnections(ctx); len(conns) != 0 {
		t.Fatalf("%d connections created without approval", len(conns))
	}
	// "y" approves; a relay that cannot be reached is reported, and the exit code says so.
	var out, errOut bytes.Buffer
	code := connectApprove(ctx, []string{"--data-dir", dir, "--offline", "--timeout", "3s", cases[3].uri}, strings.NewReader("y\n"), &out, &errOut)
	if code != 1 || !strings.Contains(out.String(), "Approve this connection? [y/N]") || !strings.Contains(out.String(), "No relay of the app took the info event") {
		t.Fatalf("approve with an unreachable relay: exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	if conns, _ := st.ListConnections(ctx); len(conns) != 1 {
		t.Fatalf("%d connections after approval", len(conns))
	}
}

func TestConfirm(t *testing.T) {
	for in, want := range map[string]bool{"y\n": true, "YES\n": true, " yes ": true, "n\n": false, "": false, "sure\n": false} {
		if got := confirm(strings.NewReader(in), &bytes.Buffer{}, "? "); got != want {
			t.Errorf("confirm(%q) = %v, want %v", in, got, want)
		}
	}
}
