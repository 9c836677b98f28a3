package check

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nwc-go/nwc/internal/server"
	"github.com/nwc-go/nwc/internal/server/servertest"
	"github.com/nwc-go/nwc/internal/service"
	"github.com/nwc-go/nwc/nip47"
	"github.com/nwc-go/nwc/nostr"
	"github.com/nwc-go/nwc/nostr/relaypool"
)

var testPool = relaypool.Options{MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}

// serveWallet runs the whole wallet service in-process (sandbox backend, embedded relay
// on a free port) with one connection allowed every method but create_connection, plus
// notifications, and returns its URI once the info event is on the relay.
func serveWallet(t *testing.T) *nip47.ConnectionURI {
	t.Helper()
	ctx := context.Background()
	srv := servertest.Start(t, server.Options{Service: service.Config{RatePerSecond: -1}})

	c, uri, err := server.NewConnection(ctx, srv.Store, srv.Keys, server.ConnectionOptions{
		Name: "nwc check", Notifications: true,
		Methods: "pay_invoice,make_invoice,lookup_invoice,list_transactions,get_balance,get_info,sign_message",
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Service.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	// The service announces in the background; publish the info event now so the check
	// finds it at once.
	ev, err := srv.Service.InfoEvent(c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Pool.Publish(ctx, ev); err != nil {
		t.Fatal(err)
	}
	return uri
}

func run(t *testing.T, uri *nip47.ConnectionURI, o Options) *Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	o.Pool = testPool
	rep, err := Run(ctx, uri, o)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	var table bytes.Buffer
	rep.WriteTable(&table)
	t.Logf("report:\n%s", table.String())
	return rep
}

// TestAgainstServe: our own wallet service passes every check, spending included.
func TestAgainstServe(t *testing.T) {
	uri := serveWallet(t)
	rep := run(t, uri, Options{SpendMax: 10_000, Timeout: 10 * time.Second})
	for _, r := range rep.Results {
		if r.Status == Fail || r.Status == Warn {
			t.Errorf("%s (%s): %s: %s", r.ID, r.Title, r.Status, r.Reason)
		}
	}
	// What must have run (not skipped) against a wallet that has it all.
	for _, id := range []string{
		"info.event", "info.capabilities", "info.encryption", "info.notifications",
		"encryption.nip44", "encryption.nip04", "encryption.nip04_untagged", "encryption.unsupported",
		"get_info", "get_balance", "get_budget", "make_invoice", "make_invoice.amount_zero", "make_invoice.no_amount",
		"lookup_invoice.payment_hash", "lookup_invoice.invoice", "lookup_invoice.unknown_hash",
		"list_transactions", "list_transactions.limit", "list_transactions.unpaid",
		"pay_invoice.garbage", "pay_invoice.no_invoice", "pay_keysend.bad_pubkey",
		"multi_pay_invoice.invalid", "multi_pay_keysend.invalid",
		"make_hold_invoice", "make_hold_invoice.no_hash", "cancel_hold_invoice", "cancel_hold_invoice.unknown",
		"settle_hold_invoice.unknown", "sign_message", "unknown_method",
		"pay_invoice.self", "lookup_invoice.paid", "notification.payment_received", "notification.payment_sent",
		"responses.e_tag", "responses.p_tag", "responses.result_type", "responses.encryption", "responses.error", "responses.once",
	} {
		if r, ok := rep.Result(id); !ok || r.Status != Pass {
			t.Errorf("%s: %+v, want pass", id, r)
		}
	}
	// Our embedded relay drops expired events itself (NIP-40).
	if r, _ := rep.Result("expiration"); r.Status != Skip || !strings.Contains(r.Reason, "expired") {
		t.Errorf("expiration: %+v, want a skip naming the relay's refusal", r)
	}
	if rep.SpentMSat != 1000 || !rep.OK() {
		t.Errorf("spent %d msat, ok %v", rep.SpentMSat, rep.OK())
	}
	b, err := json.Marshal(rep)
	if err != nil || !bytes.Contains(b, []byte(`"status":"pass"`)) {
		t.Errorf("JSON: %v %s", err, b)
	}
}

// TestNothingSpentByDefault: without SpendMax the payment checks are skipped and the
// wallet's balance is untouched.
func TestNothingSpentByDefault(t *testing.T) {
	uri := serveWallet(t)
	rep := run(t, uri, Options{Timeout: 10 * time.Second})
	for _, id := range []string{"pay_invoice.self", "lookup_invoice.paid", "notification.payment_received", "notification.payment_sent"} {
		if r, _ := rep.Result(id); r.Status != Skip || !strings.Contains(r.Reason, "--spend-max") {
			t.Errorf("%s: %+v, want skipped for --spend-max", id, r)
		}
	}
	if rep.SpentMSat != 0 || !rep.OK() {
		t.Errorf("spent %d, ok %v", rep.SpentMSat, rep.OK())
	}
}

// TestBrokenWallets: each fault of the fake wallet fails (or warns) exactly the checks
// that look at it; everything else still passes.
func TestBrokenWallets(t *testing.T) {
	tests := []struct {
		name string
		f    faults
		want map[string]Status // checks that must not pass
	}{
		{"conforming", faults{}, nil},
		{"wrong codes", faults{wrongCodes: true}, map[string]Status{"lookup_invoice.unknown_hash": Fail, "unknown_method": Fail}},
		{"wrong result_type", faults{wrongResultType: true}, map[string]Status{"responses.result_type": Fail}},
		{"no e tag", faults{noETag: true}, map[string]Status{"responses.e_tag": Fail}},
		{"no p tag", faults{noPTag: true}, map[string]Status{"responses.p_tag": Warn}},
		{"any scheme read as NIP-44", faults{acceptAnyScheme: true}, map[string]Status{"encryption.unsupported": Fail}},
		{"NIP-04 answered in NIP-44", faults{nip04AsNIP44: true}, map[string]Status{
			"encryption.nip04": Fail, "encryption.nip04_untagged": Fail, "responses.encryption": Fail}},
		{"answers expired requests", faults{answerExpired: true}, map[string]Status{"expiration": Fail}},
		{"unknown hash found", faults{notFoundAsSuccess: true}, map[string]Status{"lookup_invoice.unknown_hash": Fail}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			relay := startLaxRelay(t)
			uri := startFakeWallet(t, relay.URL, tt.f)
			rep := run(t, uri, Options{Timeout: 5 * time.Second, Silence: time.Second})
			for _, r := range rep.Results {
				want, special := tt.want[r.ID]
				switch {
				case special && r.Status != want:
					t.Errorf("%s: %s (%s), want %s", r.ID, r.Status, r.Reason, want)
				case !special && (r.Status == Fail || r.Status == Warn):
					t.Errorf("%s: %s (%s), want it unaffected", r.ID, r.Status, r.Reason)
				}
			}
			for id := range tt.want {
				if _, ok := rep.Result(id); !ok {
					t.Errorf("%s missing from the report", id)
				}
			}
			if rep.OK() != (len(tt.want) == 0 || tt.f == faults{noPTag: true}) {
				t.Errorf("OK() = %v", rep.OK())
			}
			// The lax relay forwards expired requests: a conforming wallet is seen ignoring them.
			if len(tt.want) == 0 {
				if r, _ := rep.Result("expiration"); r.Status != Pass {
					t.Errorf("expiration: %+v, want pass", r)
				}
			}
		})
	}
}

// TestSilentWallet: a wallet that never answers is failed quickly, not after one timeout
// per check, and the run still ends normally.
func TestSilentWallet(t *testing.T) {
	relay := startLaxRelay(t)
	sk, client := nostr.GenerateSecretKey(), nostr.GenerateSecretKey()
	pool := relaypool.New(testPool)
	defer pool.Close()
	pool.AddRelay(relay.URL)
	info, err := nip47.InfoEvent(sk, fakeMethods, nil, []nip47.Encryption{nip47.EncryptionNIP44}, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := pool.Publish(ctx, info); err != nil {
		t.Fatal(err)
	}
	uri := &nip47.ConnectionURI{WalletPubKey: sk.Public(), Relays: []string{relay.URL}, Secret: client}
	start := time.Now()
	rep := run(t, uri, Options{Timeout: 300 * time.Millisecond, Silence: 100 * time.Millisecond})
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("took %s", took)
	}
	if r, _ := rep.Result("encryption.nip44"); r.Status != Fail || !strings.Contains(r.Reason, "no answer") {
		t.Errorf("encryption.nip44: %+v", r)
	}
	if r, _ := rep.Result("get_balance"); r.Status != Skip || !strings.Contains(r.Reason, "not answered any") {
		t.Errorf("get_balance: %+v, want skipped (silent wallet)", r)
	}
	if rep.OK() || rep.Requests > silentAfter+1 {
		t.Errorf("ok %v after %d requests", rep.OK(), rep.Requests)
	}
}

// TestNoInfoEventAndNoRelay: a missing info event is a failure of the
// wallet; relays that cannot be reached are a transport error.
func TestNoInfoEventAndNoRelay(t *testing.T) {
	relay := startLaxRelay(t)
	uri := &nip47.ConnectionURI{WalletPubKey: nostr.GenerateSecretKey().Public(), Relays: []string{relay.URL}, Secret: nostr.GenerateSecretKey()}
	rep := run(t, uri, Options{Timeout: 2 * time.Second})
	if r, _ := rep.Result("info.event"); r.Status != Fail || rep.OK() {
		t.Errorf("info.event: %+v", r)
	}

	// Nobody listens on port 1: no relay answers the info query.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	t.Run("unreachable", func(t *testing.T) {
		uri := *uri
		uri.Relays = []string{"ws://127.0.0.1:1"}
		rep, err := Run(ctx, &uri, Options{Timeout: 500 * time.Millisecond, Pool: testPool})
		if !errors.Is(err, ErrTransport) {
			t.Fatalf("err = %v, want ErrTransport", err)
		}
		if rep == nil || len(rep.Results) == 0 || rep.Results[0].Status != Skip {
			t.Fatalf("report %+v", rep)
		}
	})
}

// FuzzInfoJudgement feeds arbitrary info events (content and tags come from the wallet,
// untrusted) to the info checks: they must never panic and always give a status.
func FuzzInfoJudgement(f *testing.F) {
	f.Add("pay_invoice get_info notifications", "nip44_v2 nip04", "payment_received", true)
	f.Add("pay_invoice,get_info", "", "", false)
	f.Add("", "nip99", "made_up payment_sent", true)
	sk := nostr.GenerateSecretKey()
	f.Fuzz(func(t *testing.T, content, enc, notes string, tags bool) {
		ev := &nostr.Event{Kind: nip47.KindInfo, CreatedAt: 1700000000, Content: content}
		if tags {
			ev.Tags = nostr.Tags{{"encryption", enc}, {"notifications", notes}, {"encryption"}, {}}
		}
		if err := ev.Sign(sk); err != nil {
			return
		}
		info, err := nip47.ParseInfo(ev)
		if err != nil {
			return
		}
		for _, o := range []outcome{capabilities(ev.Content), encryptionTag(ev), notificationsTag(ev, info)} {
			switch o.st {
			case Pass, Fail, Warn, Skip:
			default:
				t.Fatalf("status %q", o.st)
			}
		}
	})
}
