package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nwc-go/nwc/client"
	"github.com/nwc-go/nwc/internal/server"
	"github.com/nwc-go/nwc/internal/server/servertest"
	"github.com/nwc-go/nwc/internal/service"
	"github.com/nwc-go/nwc/nip47"
	"github.com/nwc-go/nwc/nostr"
	"github.com/nwc-go/nwc/relay"
)

// appWallet is the real wallet service (sandbox, embedded relay on 127.0.0.1:0) the
// client verbs talk to in these tests.
type appWallet struct {
	t   *testing.T
	srv *server.Server
}

func startAppWallet(t *testing.T) *appWallet {
	t.Helper()
	srv := servertest.Start(t, server.Options{SandboxBalance: 1_000_000_000,
		Service: service.Config{RefreshInterval: 20 * time.Millisecond}})
	return &appWallet{t: t, srv: srv}
}

// connect creates a connection and waits until the service announced it (its info event).
func (w *appWallet) connect(o server.ConnectionOptions) (string, nostr.PublicKey, nostr.PublicKey) {
	w.t.Helper()
	o.Name = "app"
	conn, uri := servertest.Connect(w.t, w.srv, o)
	return uri, conn.ServicePubKey, conn.ClientPubKey
}

const appAllMethods = "pay_invoice,make_invoice,lookup_invoice,list_transactions,get_balance,get_info"

// runApp runs one verb with --uri and a generous --timeout (the machine may be loaded).
func runApp(t *testing.T, uri string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	full := append([]string{args[0], "--timeout", "30s"}, args[1:]...)
	if uri != "" {
		full = append(full, "--uri", uri)
	}
	code = run(context.Background(), full, &out, &errb)
	return code, out.String(), errb.String()
}

// normaliser replaces what changes between runs (keys, invoices, hashes, times, ports)
// with placeholders, so human output can be compared with golden files.
type normaliser struct{ fixed map[string]string }

var (
	reShortInvoice = regexp.MustCompile(`lnbcrt[0-9a-z]+…[0-9a-z]+`)
	reInvoice      = regexp.MustCompile(`lnbcrt[0-9a-z]{20,}`)
	reNodeKey      = regexp.MustCompile(`\b0[23][0-9a-f]{64}\b`)
	reHex64        = regexp.MustCompile(`\b[0-9a-f]{64}\b`)
	reTime         = regexp.MustCompile(`\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}`)
)

func (n normaliser) apply(s string) string {
	for from, to := range n.fixed {
		s = strings.ReplaceAll(s, from, to)
	}
	s = reShortInvoice.ReplaceAllString(s, "<invoice>")
	s = reInvoice.ReplaceAllString(s, "<invoice>")
	s = reNodeKey.ReplaceAllString(s, "<node>")
	// Fixed-width values get placeholders of the same width, so tables stay aligned.
	s = reHex64.ReplaceAllStringFunc(s, func(m string) string { return "<hex" + strings.Repeat(".", len(m)-5) + ">" })
	return reTime.ReplaceAllStringFunc(s, func(m string) string { return "<time" + strings.Repeat(".", len(m)-6) + ">" })
}

// TestAppVerbsGolden runs each verb against the sandbox wallet and compares its human
// output with testdata/*.golden.
func TestAppVerbsGolden(t *testing.T) {
	w := startAppWallet(t)
	uri, walletPK, clientPK := w.connect(server.ConnectionOptions{Methods: appAllMethods, Budget: "100000sat/monthly", Notifications: true})
	norm := normaliser{fixed: map[string]string{
		walletPK.String(): "<wallet>", clientPK.String(): "<app>", w.srv.RelayURLs[0]: "<relay>",
	}}
	shopURI, _, _ := w.connect(server.ConnectionOptions{Methods: appAllMethods})
	ctx := context.Background()
	shop, err := client.Dial(ctx, shopURI)
	if err != nil {
		t.Fatal(err)
	}
	defer shop.Close()
	toPay, err := shop.MakeInvoice(ctx, nip47.MakeInvoiceParams{Amount: 21_000, Description: "coffee"})
	if err != nil {
		t.Fatal(err)
	}

	// In order: each step sees the effects of the previous ones.
	steps := []struct {
		name string
		args []string
	}{
		{"balance", []string{"balance"}},
		{"budget", []string{"budget"}},
		{"info", []string{"info"}},
		{"invoice", []string{"invoice", "--amount", "1000sat", "--description", "tea", "--expiry", "10m"}},
		{"pay", []string{"pay", toPay.Invoice}},
		{"lookup", []string{"lookup", "--hash", toPay.PaymentHash}},
		{"transactions", []string{"transactions", "--type", "outgoing"}},
		{"budget_after_pay", []string{"budget"}},
		{"keysend", []string{"keysend", "--amount", "5sat", "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			code, out, errOut := runApp(t, uri, st.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			checkGolden(t, "client_"+st.name, norm.apply(out))
		})
	}
}

// TestAppVerbsJSON checks --json output decodes into the protocol's types.
func TestAppVerbsJSON(t *testing.T) {
	w := startAppWallet(t)
	uri, _, _ := w.connect(server.ConnectionOptions{Methods: appAllMethods})

	code, out, errOut := runApp(t, uri, "balance", "--json")
	var bal nip47.GetBalanceResult
	if code != 0 || json.Unmarshal([]byte(out), &bal) != nil || bal.Balance != 1_000_000_000 {
		t.Fatalf("balance: exit %d, %q %s", code, out, errOut)
	}

	code, out, errOut = runApp(t, uri, "invoice", "--json", "--amount", "2100", "--description", "x")
	var inv nip47.Transaction
	if code != 0 || json.Unmarshal([]byte(out), &inv) != nil || inv.Amount != 2100 || inv.Invoice == "" {
		t.Fatalf("invoice: exit %d, %q %s", code, out, errOut)
	}

	code, out, errOut = runApp(t, uri, "pay", inv.Invoice, "--json")
	var paid struct{ Payments []payment }
	if code != 0 || json.Unmarshal([]byte(out), &paid) != nil || len(paid.Payments) != 1 || paid.Payments[0].Preimage == "" {
		t.Fatalf("pay: exit %d, %q %s", code, out, errOut)
	}

	code, out, _ = runApp(t, uri, "transactions", "--json", "--limit", "5")
	var list nip47.ListTransactionsResult
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list.Transactions) == 0 {
		t.Fatalf("transactions: exit %d, %q", code, out)
	}

	code, out, _ = runApp(t, uri, "info", "--json")
	var info struct {
		WalletPubkey string              `json:"wallet_pubkey"`
		Encryption   string              `json:"encryption"`
		GetInfo      nip47.GetInfoResult `json:"get_info"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &info) != nil || info.Encryption != "nip44_v2" || len(info.GetInfo.Methods) == 0 {
		t.Fatalf("info: exit %d, %q", code, out)
	}

	// A wallet error is one JSON document with the wallet's code.
	code, out, _ = runApp(t, uri, "lookup", "--json", "--hash", strings.Repeat("00", 32))
	var failed struct {
		Error struct{ Code, Message string }
	}
	if code != appExitWallet || json.Unmarshal([]byte(out), &failed) != nil || failed.Error.Code != "NOT_FOUND" || failed.Error.Message == "" {
		t.Fatalf("lookup of nothing: exit %d, %q", code, out)
	}
}

// TestAppExitCodes: 0 ok, 1 wallet error, 2 usage, 3 transport.
func TestAppExitCodes(t *testing.T) {
	w := startAppWallet(t)
	uri, _, _ := w.connect(server.ConnectionOptions{Methods: appAllMethods})
	restricted, _, _ := w.connect(server.ConnectionOptions{Methods: "get_balance"})
	unserved := unservedWalletURI(t)
	c, err := client.Dial(context.Background(), uri)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	inv, err := c.MakeInvoice(context.Background(), nip47.MakeInvoiceParams{Amount: 1_000})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		uri      string
		args     []string
		want     int
		wantText string // in stderr
	}{
		{"ok", uri, []string{"balance"}, appExitOK, ""},
		{"help", uri, []string{"pay", "-h"}, appExitOK, "Exit codes"},
		{"restricted", restricted, []string{"pay", inv.Invoice}, appExitWallet, "RESTRICTED"},
		{"bad invoice", uri, []string{"pay", "lnbcrt1nonsense"}, appExitWallet, "BAD_REQUEST"},
		{"not found", uri, []string{"lookup", "--hash", strings.Repeat("00", 32)}, appExitWallet, "NOT_FOUND"},
		{"nobody answers", unserved, []string{"balance", "--timeout", "200ms"}, appExitTransport, "no response"},
		{"no info event", "nostr+walletconnect://" + nostr.GenerateSecretKey().Public().String() + "?relay=" + w.srv.RelayURLs[0] + "&secret=" + nostr.GenerateSecretKey().Hex(), []string{"balance", "--timeout", "2s"}, appExitTransport, "no info event"},
		{"no uri", "", []string{"balance"}, appExitUsage, "NWC_URI"},
		{"bad uri", "nostr+walletconnect://nope", []string{"balance"}, appExitUsage, "invalid connection URI"},
		{"unknown flag", uri, []string{"balance", "--frobnicate"}, appExitUsage, "frobnicate"},
		{"extra argument", uri, []string{"balance", "extra"}, appExitUsage, "arguments"},
		{"same invoice twice", uri, []string{"pay", inv.Invoice, "lightning:" + strings.ToUpper(inv.Invoice)}, appExitUsage, "refusing to pay it twice"},
		{"amount with two invoices", uri, []string{"pay", "--amount", "1sat", "a", "b"}, appExitUsage, "single invoice"},
		{"bad amount", uri, []string{"invoice", "--amount", "lots"}, appExitUsage, "1000sat"},
		{"no amount", uri, []string{"invoice"}, appExitUsage, "--amount"},
		{"lookup needs one key", uri, []string{"lookup", "--hash", "a", "--invoice", "b"}, appExitUsage, "exactly one"},
		{"bad type", uri, []string{"transactions", "--type", "sideways"}, appExitUsage, "incoming or outgoing"},
		{"bad tlv", uri, []string{"keysend", "--amount", "1sat", "--tlv", "x=zz", "02ab"}, appExitUsage, "u64"},
		{"bad metadata", uri, []string{"pay", "--metadata", "{", "x"}, appExitUsage, "JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := runApp(t, tt.uri, tt.args...)
			if code != tt.want || !strings.Contains(errOut, tt.wantText) {
				t.Errorf("exit %d (want %d), stderr %q (want %q in it)", code, tt.want, errOut, tt.wantText)
			}
		})
	}

	t.Run("uri from env", func(t *testing.T) {
		t.Setenv(appEnvURI, uri)
		if code, out, errOut := runApp(t, "", "balance"); code != 0 || !strings.Contains(out, "Balance") {
			t.Errorf("exit %d: %s %s", code, out, errOut)
		}
	})
	t.Run("paid once, then refused", func(t *testing.T) {
		if code, _, errOut := runApp(t, uri, "pay", inv.Invoice); code != 0 {
			t.Fatalf("first payment: exit %d %s", code, errOut)
		}
		if code, _, errOut := runApp(t, uri, "pay", inv.Invoice); code != appExitWallet {
			t.Errorf("second payment of the same invoice: exit %d %s", code, errOut)
		}
	})
}

// unservedWalletURI is a wallet with an info event on a relay but no service behind it.
func unservedWalletURI(t *testing.T) string {
	t.Helper()
	r, err := relay.New(relay.Config{})
	if err != nil {
		t.Fatal(err)
	}
	url, stop, err := relay.ListenAndServe(context.Background(), "127.0.0.1:0", r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(); r.Close() })
	wallet := nostr.GenerateSecretKey()
	servertest.PublishInfo(t, url, wallet, []nip47.Method{nip47.MethodGetBalance}, nip47.EncryptionNIP44)
	u := nip47.ConnectionURI{WalletPubKey: wallet.Public(), Relays: []string{url}, Secret: nostr.GenerateSecretKey()}
	return u.String()
}

// TestAppListen: `nwc listen --json` prints a notification per line until ctx ends.
func TestAppListen(t *testing.T) {
	w := startAppWallet(t)
	uri, _, _ := w.connect(server.ConnectionOptions{Methods: appAllMethods, Notifications: true})
	payerURI, _, _ := w.connect(server.ConnectionOptions{Methods: appAllMethods})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	outR, outW := io.Pipe()
	errR, errW := io.Pipe()
	exit := make(chan int, 1)
	go func() {
		code := run(ctx, []string{"listen", "--json", "--uri", uri}, outW, errW)
		outW.Close()
		errW.Close()
		exit <- code
	}()
	errLines := bufio.NewScanner(errR)
	for errLines.Scan() && !strings.HasPrefix(errLines.Text(), "Listening") {
	}
	go io.Copy(io.Discard, errR)

	listener, err := client.Dial(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close()
	inv, err := listener.MakeInvoice(ctx, nip47.MakeInvoiceParams{Amount: 3_000, Description: "ping"})
	if err != nil {
		t.Fatal(err)
	}
	payer, err := client.Dial(ctx, payerURI)
	if err != nil {
		t.Fatal(err)
	}
	defer payer.Close()
	if _, err := payer.PayInvoice(ctx, inv.Invoice); err != nil {
		t.Fatal(err)
	}

	// A connection that is not isolated hears about every payment of the wallet (the
	// payer's payment_sent too): read until the payment_received.
	lines := bufio.NewScanner(outR)
	for {
		if !lines.Scan() {
			t.Fatalf("no payment_received printed (exit %d)", <-exit)
		}
		var n nip47.Notification
		if err := json.Unmarshal(lines.Bytes(), &n); err != nil {
			t.Fatalf("%v: %s", err, lines.Text())
		}
		if n.Notification.PaymentHash != inv.PaymentHash {
			t.Fatalf("notification for another payment: %s", lines.Text())
		}
		if n.NotificationType == nip47.NotificationPaymentReceived {
			break
		}
	}
	cancel() // what Ctrl-C does
	go io.Copy(io.Discard, outR)
	if code := <-exit; code != appExitOK {
		t.Errorf("exit %d after Ctrl-C", code)
	}
}

func TestNotificationText(t *testing.T) {
	settled := time.Date(2026, 1, 2, 3, 4, 5, 0, time.Local).Unix()
	tests := []struct {
		n    nip47.Notification
		want string
	}{
		{nip47.Notification{NotificationType: "payment_received", Notification: nip47.Transaction{
			Type: "incoming", Amount: 21_500, PaymentHash: "ab", SettledAt: &settled, Description: "coffee"}},
			"2026-01-02 03:04:05  payment_received       +21.5 sat  ab  coffee"},
		{nip47.Notification{NotificationType: "payment_sent", Notification: nip47.Transaction{
			Type: "outgoing", Amount: 1_000, FeesPaid: 10, PaymentHash: "cd", CreatedAt: settled}},
			"2026-01-02 03:04:05  payment_sent           -1 sat  cd  fee 0.01 sat"},
	}
	for _, tt := range tests {
		if got := notificationText(&tt.n); got != tt.want {
			t.Errorf("got  %q\nwant %q", got, tt.want)
		}
	}
}

func TestSatText(t *testing.T) {
	tests := map[int64]string{0: "0 sat", 1: "0.001 sat", 1_000: "1 sat", 1_500: "1.5 sat", 21_010: "21.01 sat", -2_000: "-2 sat"}
	for msat, want := range tests {
		if got := satText(msat); got != want {
			t.Errorf("satText(%d) = %q, want %q", msat, got, want)
		}
	}
}

func TestParseInterleaved(t *testing.T) {
	tests := []struct {
		args    []string
		wantPos []string
		wantAmt int64
	}{
		{[]string{"A", "--amount", "5sat"}, []string{"A"}, 5_000},
		{[]string{"--amount", "5", "A", "B"}, []string{"A", "B"}, 5},
		{[]string{"A", "--amount=7sat", "B"}, []string{"A", "B"}, 7_000},
		{[]string{"--", "-A"}, []string{"-A"}, 0},
		{[]string{"A", "--", "--amount"}, []string{"A", "--amount"}, 0},
	}
	for _, tt := range tests {
		a := newAppCmd("nwc test", "nwc test", io.Discard, io.Discard)
		var amount amountFlag
		a.fs.Var(&amount, "amount", "")
		pos, code, ok := a.parse(tt.args, 0, -1)
		if !ok || strings.Join(pos, " ") != strings.Join(tt.wantPos, " ") || amount.msat != tt.wantAmt {
			t.Errorf("parse(%q) = %q, amount %d, code %d", tt.args, pos, amount.msat, code)
		}
	}
}

func FuzzParseTLV(f *testing.F) {
	for _, s := range []string{"7629169=0102ff", "5482373484=", "1=AB", "x=00", "18446744073709551615=00", "=", "1=abc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseTLV(s)
		if err != nil {
			return
		}
		if len(r.Value)%2 != 0 || strings.ToLower(r.Value) != r.Value {
			t.Fatalf("parseTLV(%q) = %+v", s, r)
		}
		back, err := parseTLV((&tlvFlag{r}).String())
		if err != nil || back != r {
			t.Fatalf("round trip of %+v: %+v, %v", r, back, err)
		}
	})
}
