package nip47

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/nwc-go/nwc/nostr"
)

const (
	specPub    = "b889ff5b1513b641e2a139f661a661364979c5beee91842f8f0ef42ab558e9d4"
	specSecret = "71a8c14c1407c113601079c4302dab36460f0ccd0ad506f1f2dc73b5100e4f3c"
	// From the BIP-340 test vectors: an x coordinate with no point on the curve.
	offCurve = "eefdea4cdb677750a420fee807eacf21eb9898ae79b9768766e4faa04a2d4a34"
)

func TestParseConnectionURI(t *testing.T) {
	sk, err := nostr.ParseSecretKey(specSecret)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := nostr.ParsePublicKey(specPub)
	if err != nil {
		t.Fatal(err)
	}
	npub := nostr.EncodeNpub(pub)
	nsec := nostr.EncodeNsec(sk)
	damus := []string{"wss://relay.damus.io"}
	tests := []struct {
		name   string
		in     string
		relays []string
		lud16  string
	}{
		{"spec example", "nostr+walletconnect://" + specPub + "?relay=wss%3A%2F%2Frelay.damus.io&secret=" + specSecret, damus, ""},
		{"without //", "nostr+walletconnect:" + specPub + "?relay=wss%3A%2F%2Frelay.damus.io&secret=" + specSecret, damus, ""},
		{"alby raw relays", "nostr+walletconnect://" + specPub + "?relay=wss://relay.getalby.com&relay=wss://relay2.getalby.com&secret=" + specSecret,
			[]string{"wss://relay.getalby.com", "wss://relay2.getalby.com"}, ""},
		{"encoded and raw mixed, trailing slash, duplicates", "nostr+walletconnect://" + specPub + "?relay=wss%3A%2F%2Frelay.damus.io%2F&relay=wss://relay.damus.io&relay=WSS://Relay.Damus.IO/&relay=ws://127.0.0.1:7777/nwc/&secret=" + specSecret,
			[]string{"wss://relay.damus.io", "ws://127.0.0.1:7777/nwc"}, ""},
		{"lud16", "nostr+walletconnect://" + specPub + "?relay=wss://relay.damus.io&secret=" + specSecret + "&lud16=alice%40getalby.com", damus, "alice@getalby.com"},
		{"raw lud16 with plus", "nostr+walletconnect://" + specPub + "?relay=wss://relay.damus.io&secret=" + specSecret + "&lud16=alice+tips@getalby.com", damus, "alice+tips@getalby.com"},
		{"unknown params ignored", "nostr+walletconnect://" + specPub + "?pubkey=abc&relay=wss://relay.damus.io&state=%zz&secret=" + specSecret + "&foo", damus, ""},
		{"legacy scheme", "nostrwalletconnect://" + specPub + "?relay=wss://relay.damus.io&secret=" + specSecret, damus, ""},
		{"scheme case and spaces", "  NOSTR+WalletConnect://" + specPub + "?relay=wss://relay.damus.io&secret=" + specSecret + "\n", damus, ""},
		{"slash after host, fragment", "nostr+walletconnect://" + specPub + "/?relay=wss://relay.damus.io&secret=" + specSecret + "#x", damus, ""},
		{"uppercase secret", "nostr+walletconnect://" + specPub + "?relay=wss://relay.damus.io&secret=" + strings.ToUpper(specSecret), damus, ""},
		{"npub and nsec", "nostr+walletconnect://" + npub + "?relay=wss://relay.damus.io&secret=" + nsec, damus, ""},
		{"first secret wins", "nostr+walletconnect://" + specPub + "?relay=wss://relay.damus.io&secret=" + specSecret + "&secret=zz", damus, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConnectionURI(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if c.WalletPubKey != pub || c.Secret.Hex() != specSecret || !reflect.DeepEqual(c.Relays, tt.relays) || c.LUD16 != tt.lud16 {
				t.Fatalf("got %s", c.Redacted())
			}
			s := c.String()
			back, err := ParseConnectionURI(s)
			if err != nil {
				t.Fatalf("reparse %q: %v", c.Redacted(), err)
			}
			if back.String() != s || back.WalletPubKey != c.WalletPubKey || !reflect.DeepEqual(back.Relays, c.Relays) || back.LUD16 != c.LUD16 {
				t.Errorf("round trip changed it: %s", back.Redacted())
			}
			if r := c.Redacted(); strings.Contains(r, specSecret) || !strings.Contains(r, "secret=REDACTED") {
				t.Errorf("Redacted = %q", r)
			}
		})
	}
}

func TestConnectionURIString(t *testing.T) {
	c, err := ParseConnectionURI("nostr+walletconnect:" + specPub + "?relay=wss://relay.damus.io&relay=wss://nos.lol/&secret=" + specSecret + "&lud16=a%2Bb@x.com")
	if err != nil {
		t.Fatal(err)
	}
	want := "nostr+walletconnect://" + specPub + "?relay=wss%3A%2F%2Frelay.damus.io&relay=wss%3A%2F%2Fnos.lol&secret=" + specSecret + "&lud16=a%2Bb%40x.com"
	if got := c.String(); got != want {
		t.Errorf("String\n got %s\nwant %s", got, want)
	}
	// Neither slog nor fmt may print the secret.
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("connect", "uri", c)
	if strings.Contains(buf.String(), specSecret) || !strings.Contains(buf.String(), "REDACTED") {
		t.Errorf("slog output %q", buf.String())
	}
}

func TestParseConnectionURIInvalid(t *testing.T) {
	ok := func(host, query string) string { return "nostr+walletconnect://" + host + "?" + query }
	good := "relay=wss://relay.damus.io&secret=" + specSecret
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"no scheme", specPub + "?" + good},
		{"wrong scheme", "https://" + specPub + "?" + good},
		{"walletauth scheme", "nostr+walletauth://" + specPub + "?" + good},
		{"pubkey missing", ok("", good)},
		{"pubkey short", ok(specPub[:62], good)},
		{"pubkey uppercase", ok(strings.ToUpper(specPub), good)},
		{"pubkey not hex", ok("zz"+specPub[2:], good)},
		{"pubkey off curve", ok(offCurve, good)},
		{"host with port", ok(specPub+":443", good)},
		{"host with path", ok(specPub+"/x", good)},
		{"bad npub", ok("npub1qqqq", good)},
		{"no query", "nostr+walletconnect://" + specPub},
		{"relay missing", ok(specPub, "secret="+specSecret)},
		{"relay empty", ok(specPub, "relay=&secret="+specSecret)},
		{"relay http", ok(specPub, "relay=https://relay.damus.io&secret="+specSecret)},
		{"relay without host", ok(specPub, "relay=wss://&secret="+specSecret)},
		{"relay not a URL", ok(specPub, "relay=relay.damus.io&secret="+specSecret)},
		{"relay bad escape", ok(specPub, "relay=wss%3A%2F%2Frelay%zz&secret="+specSecret)},
		{"relay with userinfo", ok(specPub, "relay=wss://u:p@relay.damus.io&secret="+specSecret)},
		{"one bad relay", ok(specPub, "relay=wss://relay.damus.io&relay=http://x&secret="+specSecret)},
		{"secret missing", ok(specPub, "relay=wss://relay.damus.io")},
		{"secret empty", ok(specPub, "relay=wss://relay.damus.io&secret=")},
		{"secret short", ok(specPub, "relay=wss://relay.damus.io&secret="+specSecret[:63])},
		{"secret not hex", ok(specPub, "relay=wss://relay.damus.io&secret=xx"+specSecret[2:])},
		{"secret zero", ok(specPub, "relay=wss://relay.damus.io&secret="+strings.Repeat("0", 64))},
		{"secret above n", ok(specPub, "relay=wss://relay.damus.io&secret="+strings.Repeat("f", 64))},
		{"secret bad nsec", ok(specPub, "relay=wss://relay.damus.io&secret=nsec1qqqq")},
		{"secret bad escape", ok(specPub, "relay=wss://relay.damus.io&secret=%zz")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConnectionURI(tt.in)
			if !errors.Is(err, ErrInvalidURI) {
				t.Fatalf("err = %v, uri = %v", err, c)
			}
			if strings.Contains(err.Error(), specSecret[8:40]) {
				t.Errorf("error leaks the secret: %v", err)
			}
		})
	}
}

func TestWalletAuthURI(t *testing.T) {
	full := &WalletAuthURI{
		WalletName:        "alby",
		ClientPubKey:      mustPub(t, specPub),
		Relays:            []string{"wss://relay.getalby.com/v1", "wss://nos.lol"},
		Name:              "My App & Co",
		Icon:              "https://example.com/icon.png?size=64",
		ReturnTo:          "myapp://done?x=1",
		ExpiresAt:         1760000000,
		MaxAmount:         100000000,
		BudgetRenewal:     BudgetRenewalMonthly,
		RequestMethods:    []Method{MethodPayInvoice, MethodGetBalance, MethodMakeInvoice},
		NotificationTypes: []string{NotificationPaymentReceived, NotificationPaymentSent},
		Isolated:          true,
		Metadata:          json.RawMessage(`{"app":"x","n":1}`),
	}
	s := full.String()
	if !strings.HasPrefix(s, "nostr+walletauth+alby://"+specPub+"?relay=") ||
		!strings.Contains(s, "request_methods=pay_invoice%20get_balance%20make_invoice") ||
		!strings.Contains(s, "name=My%20App%20%26%20Co") || strings.Contains(s[strings.IndexByte(s, '?'):], "+") {
		t.Errorf("String = %s", s)
	}
	back, err := ParseWalletAuthURI(s)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, full) {
		t.Errorf("round trip\n got %#v\nwant %#v", back, full)
	}

	minimal := &WalletAuthURI{ClientPubKey: mustPub(t, specPub), Relays: []string{"wss://relay.damus.io"}}
	if got, want := minimal.String(), "nostr+walletauth://"+specPub+"?relay=wss%3A%2F%2Frelay.damus.io"; got != want {
		t.Errorf("minimal String = %s", got)
	}

	tests := []struct {
		name string
		in   string
		want *WalletAuthURI
	}{
		{"minimal", "nostr+walletauth://" + specPub + "?relay=wss://relay.damus.io/", minimal},
		{"without //", "nostr+walletauth:" + specPub + "?relay=wss%3A%2F%2Frelay.damus.io", minimal},
		{"empty values and unknown params ignored", "nostr+walletauth://" + specPub + "?relay=wss://relay.damus.io&name=&max_amount=&state=xyz&secret=1", minimal},
		{"lists with + and commas", "nostr+walletauth://" + specPub + "?relay=wss://relay.damus.io&request_methods=pay_invoice+get_info,get_balance&notification_types=payment_received%20payment_sent&name=A+B",
			&WalletAuthURI{ClientPubKey: mustPub(t, specPub), Relays: []string{"wss://relay.damus.io"}, Name: "A B",
				RequestMethods:    []Method{MethodPayInvoice, MethodGetInfo, MethodGetBalance},
				NotificationTypes: []string{NotificationPaymentReceived, NotificationPaymentSent}}},
		{"first value counts, isolated=1, renewal case", "nostr+walletauth+Zeus://" + specPub + "?relay=wss://relay.damus.io&name=one&name=two&isolated=1&budget_renewal=Weekly",
			&WalletAuthURI{WalletName: "zeus", ClientPubKey: mustPub(t, specPub), Relays: []string{"wss://relay.damus.io"}, Name: "one",
				Isolated: true, BudgetRenewal: BudgetRenewalWeekly}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseWalletAuthURI(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v", got)
			}
		})
	}
}

func TestParseWalletAuthURIInvalid(t *testing.T) {
	base := "nostr+walletauth://" + specPub + "?relay=wss://relay.damus.io"
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"walletconnect scheme", "nostr+walletconnect://" + specPub + "?relay=wss://relay.damus.io"},
		{"empty wallet name", "nostr+walletauth+://" + specPub + "?relay=wss://relay.damus.io"},
		{"bad wallet name", "nostr+walletauth+a_b://" + specPub + "?relay=wss://relay.damus.io"},
		{"bad pubkey", "nostr+walletauth://" + offCurve + "?relay=wss://relay.damus.io"},
		{"no relay", "nostr+walletauth://" + specPub + "?name=x"},
		{"bad relay", "nostr+walletauth://" + specPub + "?relay=http://x"},
		{"expires_at not a number", base + "&expires_at=tomorrow"},
		{"expires_at negative", base + "&expires_at=-1"},
		{"max_amount not integer", base + "&max_amount=1.5"},
		{"budget_renewal unknown", base + "&budget_renewal=hourly"},
		{"isolated not bool", base + "&isolated=maybe"},
		{"metadata not JSON", base + "&metadata=%7Bx"},
		{"metadata not object", base + "&metadata=%5B%5D"},
		{"bad escape", base + "&name=%zz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if w, err := ParseWalletAuthURI(tt.in); !errors.Is(err, ErrInvalidURI) {
				t.Fatalf("err = %v, uri = %#v", err, w)
			}
		})
	}
}

func TestNormalizeRelayURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"wss://relay.damus.io", "wss://relay.damus.io"},
		{"wss://relay.damus.io/", "wss://relay.damus.io"},
		{"WSS://Relay.Damus.IO//", "wss://relay.damus.io"},
		{"ws://127.0.0.1:4869/path/", "ws://127.0.0.1:4869/path"},
		{"wss://relay.example.com/?token=Ab#frag", "wss://relay.example.com?token=Ab"},
		{"wss://[::1]:80", "wss://[::1]:80"},
	}
	for _, tt := range tests {
		got, err := NormalizeRelayURL(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("NormalizeRelayURL(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "relay.damus.io", "https://x", "wss://", "wss://x:port", "wss:opaque", "wss://a b"} {
		if got, err := NormalizeRelayURL(bad); !errors.Is(err, ErrInvalidURI) {
			t.Errorf("NormalizeRelayURL(%q) = %q, %v", bad, got, err)
		}
	}
}

func mustPub(t testing.TB, s string) nostr.PublicKey {
	t.Helper()
	pk, err := nostr.ParsePublicKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return pk
}
