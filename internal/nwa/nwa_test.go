package nwa

import (
	"context"
	"crypto/rand"
	"errors"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nwc-go/nwc/internal/keyring"
	"github.com/nwc-go/nwc/internal/store/sqlite"
	"github.com/nwc-go/nwc/internal/wallet"
	"github.com/nwc-go/nwc/nip47"
	"github.com/nwc-go/nwc/nostr"
	"github.com/nwc-go/nwc/nostr/relaypool"
	"github.com/nwc-go/nwc/relay"
)

var testNow = time.Unix(1_760_000_000, 0)

const appKey = "b889ff5b1513b641e2a139f661a661364979c5beee91842f8f0ef42ab558e9d4"

func TestParse(t *testing.T) {
	base := "nostr+walletauth://" + appKey + "?relay=wss%3A%2F%2Frelay.example.com"
	cases := []struct {
		name    string
		uri     string
		wantErr string // substring of the error; "" = success
		check   func(t *testing.T, r *Request)
	}{
		{name: "minimal gets defaults", uri: base, check: func(t *testing.T, r *Request) {
			if r.Name != DefaultName || r.Budget.Enabled() || !r.ExpiresAt.IsZero() || r.Isolated || r.ReturnTo != "" {
				t.Errorf("defaults: %+v", r)
			}
			if slices.Contains(r.Methods, wallet.MethodPayInvoice) || !slices.Contains(r.Methods, wallet.MethodMakeInvoice) {
				t.Errorf("default methods %v: want read and receive, no pay", r.Methods)
			}
			if len(r.Notes) == 0 {
				t.Error("defaulted methods are not noted")
			}
		}},
		{name: "everything", uri: base + "&name=Damus&icon=https%3A%2F%2Fdamus.io%2Ficon.png&return_to=https%3A%2F%2Fdamus.io%2Fdone" +
			"&expires_at=1770000000&max_amount=50000000&budget_renewal=monthly&request_methods=pay_invoice%20get_balance" +
			"&notification_types=payment_received&isolated=true&metadata=%7B%22a%22%3A1%7D",
			check: func(t *testing.T, r *Request) {
				if r.Name != "Damus" || r.Icon != "https://damus.io/icon.png" || r.ReturnTo != "https://damus.io/done" {
					t.Errorf("name/icon/return_to: %+v", r)
				}
				if r.Budget != (wallet.Budget{Limit: 50_000_000, Renewal: wallet.RenewalMonthly}) {
					t.Errorf("budget %+v", r.Budget)
				}
				if !r.ExpiresAt.Equal(time.Unix(1_770_000_000, 0)) || !r.Isolated || string(r.Metadata) != `{"a":1}` {
					t.Errorf("expiry/isolation/metadata: %+v", r)
				}
				for _, m := range []string{"pay_invoice", "pay_keysend", "get_balance", "get_info"} {
					if !slices.Contains(r.Methods, m) {
						t.Errorf("methods %v lack %s", r.Methods, m)
					}
				}
				if slices.Contains(r.Methods, wallet.MethodMakeInvoice) {
					t.Errorf("methods %v: make_invoice was not asked for", r.Methods)
				}
				if !slices.Contains(r.Scopes, wallet.ScopeNotifications) || !slices.Equal(r.NotificationTypes, []string{"payment_received"}) {
					t.Errorf("notifications: %v %v", r.Scopes, r.NotificationTypes)
				}
				c := r.Connection(testNow)
				if c.ClientPubKey.String() != appKey || !c.WantsNotification("payment_received") || c.WantsNotification("payment_sent") {
					t.Errorf("connection %+v", c)
				}
			}},
		{name: "plus as space, targeted scheme", uri: strings.Replace(base, "walletauth", "walletauth+alby", 1) + "&request_methods=get_info+get_balance",
			check: func(t *testing.T, r *Request) {
				if !slices.Contains(r.Methods, "get_balance") || len(r.Notes) == 0 {
					t.Errorf("methods %v notes %v", r.Methods, r.Notes)
				}
			}},
		{name: "pay without budget is noted", uri: base + "&request_methods=pay_invoice", check: func(t *testing.T, r *Request) {
			if !slices.ContainsFunc(r.Notes, func(n string) bool { return strings.Contains(n, "No budget") }) {
				t.Errorf("notes %v", r.Notes)
			}
		}},
		{name: "custom-scheme return_to is not followed", uri: base + "&return_to=damus%3A%2F%2Fok&icon=javascript%3Aalert(1)",
			check: func(t *testing.T, r *Request) {
				if r.ReturnTo != "" || r.Icon != "" || len(r.Notes) < 2 {
					t.Errorf("return_to %q icon %q notes %v", r.ReturnTo, r.Icon, r.Notes)
				}
			}},
		{name: "control characters and long names", uri: base + "&name=" + url.QueryEscape("\x07Bad\nApp"+strings.Repeat("x", 200)),
			check: func(t *testing.T, r *Request) {
				if !strings.HasPrefix(r.Name, "BadApp") || len([]rune(r.Name)) != maxNameRunes {
					t.Errorf("name %q", r.Name)
				}
			}},
		{name: "empty", uri: "  ", wantErr: "empty"},
		{name: "wrong scheme", uri: "nostr+walletconnect://" + appKey + "?relay=wss://r.example&secret=" + appKey, wantErr: "scheme"},
		{name: "bad key", uri: "nostr+walletauth://abc?relay=wss://r.example", wantErr: "invalid"},
		{name: "no relay", uri: "nostr+walletauth://" + appKey + "?name=x", wantErr: "relay"},
		{name: "http relay", uri: "nostr+walletauth://" + appKey + "?relay=https://r.example", wantErr: "invalid"},
		{name: "unknown method", uri: base + "&request_methods=pay_invoice%20steal_funds", wantErr: `unknown method "steal_funds"`},
		{name: "create_connection", uri: base + "&request_methods=create_connection", wantErr: "create_connection"},
		{name: "unknown notification", uri: base + "&notification_types=gossip", wantErr: `unknown notification type "gossip"`},
		{name: "expired", uri: base + "&expires_at=1000", wantErr: "in the past"},
		{name: "bad renewal", uri: base + "&max_amount=1000&budget_renewal=hourly", wantErr: "budget_renewal"},
		{name: "bad amount", uri: base + "&max_amount=-5", wantErr: "max_amount"},
		{name: "bad isolated", uri: base + "&isolated=maybe", wantErr: "isolated"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := Parse(c.uri, testNow)
			if c.wantErr != "" {
				if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want ErrInvalid mentioning %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, r)
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add("nostr+walletauth://" + appKey + "?relay=wss://r.example&request_methods=pay_invoice&max_amount=1000&budget_renewal=daily")
	f.Add("nostr+walletauth+alby:" + appKey + "?relay=wss%3A%2F%2Fr&name=%00&return_to=http://x&notification_types=payment_sent")
	f.Add("nostr+walletauth://" + appKey + "?relay=ws://a&relay=ws://b&expires_at=99999999999&metadata=%7B%7D&isolated=1")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s, testNow)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if len(r.URI.Relays) == 0 || len(r.Methods) == 0 || r.Name == "" {
			t.Fatalf("accepted an unusable request: %+v", r)
		}
		if slices.Contains(r.Scopes, wallet.ScopeSuperuser) {
			t.Fatal("superuser granted")
		}
		if r.ReturnTo != "" && ReturnURL(r.ReturnTo, r.URI.Relays, r.URI.ClientPubKey, "") == "" {
			t.Fatalf("kept return_to %q that ReturnURL refuses", r.ReturnTo)
		}
	})
}

func TestReturnURL(t *testing.T) {
	pk, _ := nostr.ParsePublicKey(appKey)
	cases := []struct {
		returnTo, lud16, want string
	}{
		{"https://app.example/cb?state=1", "", "https://app.example/cb?pubkey=" + appKey + "&relay=wss%3A%2F%2Fa&relay=wss%3A%2F%2Fb&state=1"},
		{"http://127.0.0.1:3000/x", "me@example.com", "http://127.0.0.1:3000/x?lud16=me%40example.com&pubkey=" + appKey + "&relay=wss%3A%2F%2Fa&relay=wss%3A%2F%2Fb"},
		{"damus://ok", "", ""},
		{"javascript:alert(1)", "", ""},
		{"https:///nohost", "", ""},
	}
	for _, c := range cases {
		if got := ReturnURL(c.returnTo, []string{"wss://a", "wss://b"}, pk, c.lud16); got != c.want {
			t.Errorf("ReturnURL(%q) = %q, want %q", c.returnTo, got, c.want)
		}
	}
}

type fakePool struct {
	mu   sync.Mutex
	urls []string
}

func (p *fakePool) AddRelay(u string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.urls = append(p.urls, u)
	return nil
}

func (p *fakePool) Relays() []relaypool.RelayStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []relaypool.RelayStatus
	for _, u := range p.urls {
		out = append(out, relaypool.RelayStatus{URL: u})
	}
	return out
}

func openStore(t *testing.T) (*sqlite.Store, *keyring.Keyring) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "nwc.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var master [32]byte
	rand.Read(master[:])
	return st, keyring.New(master)
}

// TestCreateAndRelaySync: an approved request becomes a connection for the app's key whose
// relays the service's pool picks up once; a second approval for the same key is refused.
func TestCreateAndRelaySync(t *testing.T) {
	ctx := context.Background()
	st, keys := openStore(t)
	pool := &fakePool{urls: []string{"ws://127.0.0.1:7447"}}
	counted := &countingStore{Store: st}
	sync := NewRelaySync(counted, pool)
	app := nostr.GenerateSecretKey()
	r, err := Parse("nostr+walletauth://"+app.Public().String()+"?relay=wss://app.example/&relay=ws://127.0.0.1:7447&request_methods=get_balance", testNow)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Create(ctx, st, keys, r, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if c.ClientPubKey != app.Public() || c.ServicePubKey != keys.Derive(c.KeyIndex).Public() || !c.HasScope(wallet.ScopeGetBalance) {
		t.Fatalf("connection %+v", c)
	}
	// Another connection, not from NWA, has no relays of its own.
	other := wallet.Connection{Name: "cli", ClientPubKey: nostr.GenerateSecretKey().Public()}
	if err := st.CreateConnection(ctx, &other, func(i uint32) (nostr.PublicKey, error) { return keys.Derive(i).Public(), nil }); err != nil {
		t.Fatal(err)
	}
	added, err := sync.Sync(ctx)
	if err != nil || !slices.Equal(added, []string{"wss://app.example"}) {
		t.Fatalf("first sync added %v (%v), want only the app's relay we lacked", added, err)
	}
	lists := counted.lists
	if added, err := sync.Sync(ctx); err != nil || len(added) != 0 {
		t.Fatalf("second sync added %v (%v)", added, err)
	}
	if counted.lists != lists {
		t.Fatal("a sync with no new connection listed every connection again")
	}
	if _, err := Create(ctx, st, keys, r, testNow); !errors.Is(err, ErrAlreadyConnected) {
		t.Fatalf("second approval: %v, want ErrAlreadyConnected", err)
	}

	ev, err := InfoEvent(keys, c, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Verify() != nil || ev.PubKey != c.ServicePubKey || ev.Kind != nip47.KindInfo {
		t.Fatalf("info event %+v", ev)
	}
	if p, ok := nip47.Recipient(ev); !ok || p != app.Public() {
		t.Fatalf("info event p tag %v %v, want the app key", p, ok)
	}
	if !strings.Contains(ev.Content, "get_balance") || strings.Contains(ev.Content, "pay_invoice") {
		t.Fatalf("info event content %q", ev.Content)
	}
}

// TestPublish: the info event reaches a real relay and an unreachable relay is reported.
func TestPublish(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rl, err := relay.New(relay.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer rl.Close()
	url, stop, err := relay.ListenAndServe(ctx, "127.0.0.1:0", rl)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	st, keys := openStore(t)
	app := nostr.GenerateSecretKey()
	r, err := Parse("nostr+walletauth://"+app.Public().String()+"?relay="+url, testNow)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Create(ctx, st, keys, r, testNow)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := InfoEvent(keys, c, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	results, err := Publish(ctx, []string{url}, ev, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := &Approval{Connection: c, Results: OnRelays(results, r.URI.Relays)}
	if !a.Published() {
		t.Fatalf("results %+v", results)
	}
	// The app finds it by its own key.
	q := relaypool.New(relaypool.Options{})
	defer q.Close()
	q.AddRelay(url)
	got, err := q.QuerySync(ctx, []nostr.Filter{{Kinds: []int{nip47.KindInfo}, Tags: map[string][]string{"p": {app.Public().String()}}}})
	if err != nil || len(got) != 1 || got[0].PubKey != c.ServicePubKey {
		t.Fatalf("query: %v %v", got, err)
	}

	// A relay nobody listens on: no acceptance, and a clear error.
	dead := "ws://127.0.0.1:1"
	short, cancelShort := context.WithTimeout(ctx, 2*time.Second)
	defer cancelShort()
	if _, err := Publish(short, []string{dead}, ev, nil); !errors.Is(err, ErrNotPublished) {
		t.Fatalf("publish to a dead relay: %v, want ErrNotPublished", err)
	}
}

// countingStore counts full connection listings.
type countingStore struct {
	Store
	lists int
}

func (c *countingStore) ListConnections(ctx context.Context) ([]wallet.Connection, error) {
	c.lists++
	return c.Store.ListConnections(ctx)
}
