package nip47

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nwc-go/nwc/nostr"
)

var (
	testNow     = time.Unix(1700000000, 0)
	bothSchemes = []Encryption{EncryptionNIP44, EncryptionNIP04}
)

type keys struct {
	client, wallet, other *nostr.SecretKey
}

func newKeys() keys {
	return keys{nostr.GenerateSecretKey(), nostr.GenerateSecretKey(), nostr.GenerateSecretKey()}
}

func payRequest(t testing.TB) *Request {
	t.Helper()
	req, err := NewRequest(MethodPayInvoice, PayInvoiceParams{Invoice: invoice, Amount: 21000})
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// relayTrip sends ev through its JSON form, as a relay would deliver it.
func relayTrip(t *testing.T, ev *nostr.Event) *nostr.Event {
	t.Helper()
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var out nostr.Event
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

func TestSealOpenRequest(t *testing.T) {
	k := newKeys()
	for _, c := range []*Cipher{NewCipher(8), nil} {
		for _, scheme := range bothSchemes {
			t.Run(string(scheme), func(t *testing.T) {
				req := payRequest(t)
				exp := testNow.Add(time.Minute)
				ev, err := c.SealRequest(k.client, k.wallet.Public(), scheme, req, testNow, ExpirationTag(exp))
				if err != nil {
					t.Fatal(err)
				}
				if ev.Kind != KindRequest || ev.CreatedAt != testNow.Unix() || ev.PubKey != k.client.Public() {
					t.Errorf("event header %d %d %s", ev.Kind, ev.CreatedAt, ev.PubKey)
				}
				wantTags := nostr.Tags{{"p", k.wallet.Public().String()}, {"encryption", string(scheme)}, {"expiration", "1700000060"}}
				if !reflect.DeepEqual(ev.Tags, wantTags) {
					t.Errorf("tags %q", ev.Tags)
				}
				if strings.Contains(ev.Content, "pay_invoice") {
					t.Error("content is not encrypted")
				}
				if got := RequestEncryption(ev); got != scheme {
					t.Errorf("RequestEncryption = %s", got)
				}
				if got, ok := Expiration(ev); !ok || !got.Equal(exp) {
					t.Errorf("Expiration = %v %v", got, ok)
				}
				if got, ok := Recipient(ev); !ok || got != k.wallet.Public() {
					t.Errorf("Recipient = %v %v", got, ok)
				}
				got, gotScheme, err := c.OpenRequest(k.wallet, relayTrip(t, ev))
				if err != nil {
					t.Fatal(err)
				}
				if gotScheme != scheme || got.Method != req.Method || string(got.Params) != string(req.Params) {
					t.Errorf("opened %s %q %s", gotScheme, got.Method, got.Params)
				}
				p, err := DecodeParams(got.Method, got.Params)
				if err != nil || p.(*PayInvoiceParams).Amount != 21000 {
					t.Errorf("params %#v %v", p, err)
				}
			})
		}
	}
}

func TestSealLegacyRequest(t *testing.T) {
	k := newKeys()
	c := NewCipher(8)
	ev, err := c.SealLegacyRequest(k.client, k.wallet.Public(), &Request{Method: MethodGetBalance}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Tags) != 1 || ev.Tags[0][0] != "p" || !strings.Contains(ev.Content, "?iv=") {
		t.Errorf("legacy event %q %q", ev.Tags, ev.Content)
	}
	req, scheme, err := c.OpenRequest(k.wallet, ev)
	if err != nil || scheme != EncryptionNIP04 || req.Method != MethodGetBalance || string(req.Params) != "{}" {
		t.Errorf("open = %+v %s %v", req, scheme, err)
	}
}

func TestOpenRequestRejects(t *testing.T) {
	k := newKeys()
	c := NewCipher(8)
	sealed := func(t *testing.T, scheme Encryption) *nostr.Event {
		ev, err := c.SealRequest(k.client, k.wallet.Public(), scheme, payRequest(t), testNow)
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	// resign replaces fields and signs again with sk, producing a valid event.
	resign := func(t *testing.T, ev *nostr.Event, sk *nostr.SecretKey, edit func(*nostr.Event)) *nostr.Event {
		cp := *ev
		cp.Tags = append(nostr.Tags(nil), ev.Tags...)
		edit(&cp)
		if err := cp.Sign(sk); err != nil {
			t.Fatal(err)
		}
		return &cp
	}
	for _, scheme := range bothSchemes {
		tests := []struct {
			name       string
			ev         func(t *testing.T) *nostr.Event
			opener     *nostr.SecretKey
			want       error
			wantScheme Encryption
		}{
			{"content tampered", func(t *testing.T) *nostr.Event {
				ev := sealed(t, scheme)
				b := []byte(ev.Content)
				b[10] ^= 1 // any change breaks the id
				ev.Content = string(b)
				return ev
			}, k.wallet, nostr.ErrInvalidID, ""},
			{"tag tampered", func(t *testing.T) *nostr.Event {
				ev := sealed(t, scheme)
				ev.Tags = append(ev.Tags, nostr.Tag{"expiration", "1"})
				return ev
			}, k.wallet, nostr.ErrInvalidID, ""},
			{"signature tampered", func(t *testing.T) *nostr.Event {
				ev := sealed(t, scheme)
				ev.Sig[10] ^= 1
				return ev
			}, k.wallet, nostr.ErrInvalidSignature, ""},
			{"author swapped", func(t *testing.T) *nostr.Event {
				ev := sealed(t, scheme)
				ev.PubKey = k.other.Public()
				return ev
			}, k.wallet, nostr.ErrInvalidID, ""},
			{"wrong kind", func(t *testing.T) *nostr.Event {
				return resign(t, sealed(t, scheme), k.client, func(e *nostr.Event) { e.Kind = KindResponse })
			}, k.wallet, ErrUnexpectedKind, ""},
			{"addressed to another key", func(t *testing.T) *nostr.Event { return sealed(t, scheme) }, k.other, ErrWrongRecipient, ""},
			{"wrong key without p tag", func(t *testing.T) *nostr.Event {
				return resign(t, sealed(t, scheme), k.client, func(e *nostr.Event) { e.Tags = e.Tags[1:] })
			}, k.other, ErrDecrypt, scheme},
			{"ciphertext re-signed by the attacker", func(t *testing.T) *nostr.Event {
				ev := sealed(t, scheme)
				return resign(t, ev, k.other, func(e *nostr.Event) {})
			}, k.wallet, ErrDecrypt, scheme},
			{"garbage content", func(t *testing.T) *nostr.Event {
				return resign(t, sealed(t, scheme), k.client, func(e *nostr.Event) { e.Content = "hello" })
			}, k.wallet, ErrDecrypt, scheme},
			{"unsupported encryption", func(t *testing.T) *nostr.Event {
				return resign(t, sealed(t, scheme), k.client, func(e *nostr.Event) { e.Tags[1] = nostr.Tag{"encryption", "nip99"} })
			}, k.wallet, ErrUnsupportedEncryption, "nip99"},
			{"several schemes in a request tag", func(t *testing.T) *nostr.Event {
				return resign(t, sealed(t, scheme), k.client, func(e *nostr.Event) { e.Tags[1] = nostr.Tag{"encryption", "nip44_v2 nip04"} })
			}, k.wallet, ErrUnsupportedEncryption, "nip44_v2 nip04"},
			{"tag names the other scheme", func(t *testing.T) *nostr.Event {
				other := EncryptionNIP04
				if scheme == EncryptionNIP04 {
					other = EncryptionNIP44
				}
				return resign(t, sealed(t, scheme), k.client, func(e *nostr.Event) { e.Tags[1] = nostr.Tag{"encryption", string(other)} })
			}, k.wallet, ErrDecrypt, ""},
			{"decrypts to non-JSON", func(t *testing.T) *nostr.Event {
				ev, err := c.seal(k.client, k.wallet.Public(), scheme, KindRequest, []byte("not json"), testNow,
					nostr.Tags{{"p", k.wallet.Public().String()}, {"encryption", string(scheme)}})
				if err != nil {
					t.Fatal(err)
				}
				return ev
			}, k.wallet, ErrInvalidRequest, scheme},
			{"JSON without method", func(t *testing.T) *nostr.Event {
				ev, err := c.seal(k.client, k.wallet.Public(), scheme, KindRequest, []byte(`{"params":{}}`), testNow,
					nostr.Tags{{"p", k.wallet.Public().String()}, {"encryption", string(scheme)}})
				if err != nil {
					t.Fatal(err)
				}
				return ev
			}, k.wallet, ErrInvalidRequest, scheme},
		}
		for _, tt := range tests {
			t.Run(string(scheme)+"/"+tt.name, func(t *testing.T) {
				req, gotScheme, err := c.OpenRequest(tt.opener, tt.ev(t))
				// NIP-04 has no MAC: with a wrong key the padding still looks valid about one
				// time in 256, and the garbage then fails as JSON instead.
				nip04Garbage := scheme == EncryptionNIP04 && tt.want == ErrDecrypt && errors.Is(err, ErrInvalidRequest)
				if !errors.Is(err, tt.want) && !nip04Garbage {
					t.Fatalf("err = %v, want %v (req %+v)", err, tt.want, req)
				}
				if req != nil {
					t.Errorf("returned a request with an error")
				}
				if tt.wantScheme != "" && gotScheme != tt.wantScheme {
					t.Errorf("scheme = %q, want %q", gotScheme, tt.wantScheme)
				}
			})
		}
	}
}

func TestSealRequestErrors(t *testing.T) {
	k := newKeys()
	c := NewCipher(8)
	if _, err := c.SealRequest(k.client, k.wallet.Public(), "nip99", payRequest(t), testNow); !errors.Is(err, ErrUnsupportedEncryption) {
		t.Errorf("unknown scheme: %v", err)
	}
	bad := &Request{Method: MethodPayInvoice, Params: json.RawMessage(`{"invoice":`)}
	if _, err := c.SealRequest(k.client, k.wallet.Public(), EncryptionNIP44, bad, testNow); err == nil {
		t.Error("sealed invalid params")
	}
	if _, err := c.SealResponse(k.wallet, k.client.Public(), nostr.EventID{}, EncryptionNIP44, &Response{Result: json.RawMessage(`x`)}, testNow); err == nil {
		t.Error("sealed an invalid result")
	}
	if _, err := c.SealNotification(k.wallet, k.client.Public(), "nip99", &Notification{NotificationType: NotificationPaymentSent}, testNow); !errors.Is(err, ErrUnsupportedEncryption) {
		t.Errorf("notification with unknown scheme: %v", err)
	}
}

func TestSealOpenResponse(t *testing.T) {
	k := newKeys()
	c := NewCipher(8)
	var reqID nostr.EventID
	reqID[0], reqID[31] = 0xab, 0xcd
	ok, err := NewResult(MethodPayInvoice, PayInvoiceResult{Preimage: hashA, FeesPaid: 3})
	if err != nil {
		t.Fatal(err)
	}
	failed := NewErrorResponse(MethodPayInvoice, CodeInsufficientBalance, "not enough funds")
	for _, scheme := range bothSchemes {
		for _, resp := range []*Response{ok, failed} {
			t.Run(string(scheme), func(t *testing.T) {
				ev, err := c.SealResponse(k.wallet, k.client.Public(), reqID, scheme, resp, testNow, DTag("a1"))
				if err != nil {
					t.Fatal(err)
				}
				wantTags := nostr.Tags{{"p", k.client.Public().String()}, {"e", reqID.String()}, {"d", "a1"}}
				if ev.Kind != KindResponse || !reflect.DeepEqual(ev.Tags, wantTags) {
					t.Errorf("kind %d tags %q", ev.Kind, ev.Tags)
				}
				if id, ok := ResponseTo(ev); !ok || id != reqID {
					t.Errorf("ResponseTo = %v %v", id, ok)
				}
				if d, ok := ItemID(ev); !ok || d != "a1" {
					t.Errorf("ItemID = %q %v", d, ok)
				}
				got, gotScheme, err := c.OpenResponse(k.client, relayTrip(t, ev))
				if err != nil {
					t.Fatal(err)
				}
				if gotScheme != scheme || got.ResultType != resp.ResultType || !reflect.DeepEqual(got.Error, resp.Error) || string(got.Result) != string(resp.Result) {
					t.Errorf("opened %s %+v", gotScheme, got)
				}
				if _, _, err := c.OpenResponse(k.other, ev); !errors.Is(err, ErrWrongRecipient) {
					t.Errorf("other key: %v", err)
				}
				ev.Content = ev.Content[:len(ev.Content)-4] + "AAA="
				if _, _, err := c.OpenResponse(k.client, ev); !errors.Is(err, nostr.ErrInvalidID) {
					t.Errorf("tampered: %v", err)
				}
			})
		}
	}
	t.Run("js-sdk response without p tag", func(t *testing.T) {
		pt := ok.AppendJSON(nil)
		ev, err := c.seal(k.wallet, k.client.Public(), EncryptionNIP44, KindResponse, pt, testNow, nostr.Tags{{"e", reqID.String()}})
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := c.OpenResponse(k.client, ev)
		if err != nil || got.Error != nil || got.ResultType != MethodPayInvoice {
			t.Errorf("open = %+v %v", got, err)
		}
		if _, ok := ItemID(ev); ok {
			t.Error("ItemID found a d tag")
		}
	})
	t.Run("alby answers a NIP-04 request in NIP-44", func(t *testing.T) {
		early := NewErrorResponse("", CodeUnsupportedEncryption, "invalid encryption: nip99")
		ev, err := c.SealResponse(k.wallet, k.client.Public(), reqID, EncryptionNIP44, early, testNow)
		if err != nil {
			t.Fatal(err)
		}
		got, scheme, err := c.OpenResponse(k.client, ev)
		if err != nil || scheme != EncryptionNIP44 || !errors.Is(got.Err(), ErrUnsupportedEncryption) || got.ResultType != "" {
			t.Errorf("open = %+v %s %v", got, scheme, err)
		}
	})
	t.Run("undecodable JSON", func(t *testing.T) {
		ev, err := c.seal(k.wallet, k.client.Public(), EncryptionNIP04, KindResponse, []byte(`{"error":"x"}`), testNow, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, scheme, err := c.OpenResponse(k.client, ev); !errors.Is(err, ErrInvalidResponse) || scheme != EncryptionNIP04 {
			t.Errorf("err = %v, scheme %s", err, scheme)
		}
	})
	t.Run("request kind", func(t *testing.T) {
		ev, err := c.SealRequest(k.client, k.wallet.Public(), EncryptionNIP44, payRequest(t), testNow)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.OpenResponse(k.wallet, ev); !errors.Is(err, ErrUnexpectedKind) {
			t.Errorf("err = %v", err)
		}
	})
}

func TestSealOpenNotification(t *testing.T) {
	k := newKeys()
	c := NewCipher(8)
	n := &Notification{NotificationType: NotificationPaymentReceived, Notification: sampleTx}
	for _, scheme := range bothSchemes {
		t.Run(string(scheme), func(t *testing.T) {
			ev, err := c.SealNotification(k.wallet, k.client.Public(), scheme, n, testNow)
			if err != nil {
				t.Fatal(err)
			}
			wantKind := KindNotification
			if scheme == EncryptionNIP04 {
				wantKind = KindNotificationNIP04
			}
			if ev.Kind != wantKind || !reflect.DeepEqual(ev.Tags, nostr.Tags{{"p", k.client.Public().String()}}) {
				t.Errorf("kind %d tags %q", ev.Kind, ev.Tags)
			}
			got, gotScheme, err := c.OpenNotification(k.client, relayTrip(t, ev))
			if err != nil {
				t.Fatal(err)
			}
			if gotScheme != scheme || !reflect.DeepEqual(got, n) {
				t.Errorf("opened %s %#v", gotScheme, got)
			}
			if _, _, err := c.OpenNotification(k.other, ev); !errors.Is(err, ErrWrongRecipient) {
				t.Errorf("other key: %v", err)
			}
			ev.Kind = KindResponse
			if _, _, err := c.OpenNotification(k.client, ev); !errors.Is(err, ErrUnexpectedKind) {
				t.Errorf("wrong kind: %v", err)
			}
		})
	}
	ev, err := c.seal(k.wallet, k.client.Public(), EncryptionNIP44, KindNotification, []byte(`{"notification":{}}`), testNow, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.OpenNotification(k.client, ev); !errors.Is(err, ErrInvalidNotification) {
		t.Errorf("notification without type: %v", err)
	}
}

func TestInfoEvent(t *testing.T) {
	k := newKeys()
	client := k.client.Public()
	ev, err := InfoEvent(k.wallet, []Method{MethodPayInvoice, MethodGetBalance},
		[]string{NotificationPaymentReceived, NotificationPaymentSent}, bothSchemes, &client, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Kind != KindInfo || ev.Content != "pay_invoice get_balance notifications" {
		t.Errorf("kind %d content %q", ev.Kind, ev.Content)
	}
	wantTags := nostr.Tags{{"encryption", "nip44_v2 nip04"}, {"notifications", "payment_received payment_sent"}, {"p", client.String()}}
	if !reflect.DeepEqual(ev.Tags, wantTags) {
		t.Errorf("tags %q", ev.Tags)
	}
	info, err := ParseInfo(relayTrip(t, ev))
	if err != nil {
		t.Fatal(err)
	}
	want := &Info{WalletPubKey: k.wallet.Public(), CreatedAt: testNow.Unix(), Methods: []Method{MethodPayInvoice, MethodGetBalance},
		Notifications: true, NotificationTypes: []string{NotificationPaymentReceived, NotificationPaymentSent},
		Encryptions: bothSchemes, ClientPubKey: &client}
	if !reflect.DeepEqual(info, want) {
		t.Errorf("info %#v", info)
	}
	if !info.Supports(MethodGetBalance) || info.Supports(MethodMakeInvoice) {
		t.Error("Supports")
	}
	if got, err := ChooseEncryption(info); err != nil || got != EncryptionNIP44 {
		t.Errorf("ChooseEncryption = %s %v", got, err)
	}

	minimal, err := InfoEvent(k.wallet, []Method{MethodGetInfo}, nil, nil, nil, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if minimal.Content != "get_info" || len(minimal.Tags) != 0 || minimal.Tags == nil {
		t.Errorf("minimal %q %#v", minimal.Content, minimal.Tags)
	}
	if _, err := InfoEvent(k.wallet, []Method{"a b"}, nil, nil, nil, testNow); err == nil {
		t.Error("accepted a method with a space")
	}
}

func TestParseInfoTolerant(t *testing.T) {
	k := newKeys()
	sign := func(content string, tags nostr.Tags) *nostr.Event {
		ev := &nostr.Event{CreatedAt: 1, Kind: KindInfo, Tags: tags, Content: content}
		if err := ev.Sign(k.wallet); err != nil {
			t.Fatal(err)
		}
		return ev
	}
	tests := []struct {
		name     string
		ev       *nostr.Event
		methods  []Method
		notif    bool
		encs     []Encryption
		choose   Encryption
		chooseOK bool
		relay    string
	}{
		{"old alby commas, no encryption tag, v tag", sign("pay_invoice,get_balance,notifications", nostr.Tags{{"v", "0.0 1.0"}}),
			[]Method{MethodPayInvoice, MethodGetBalance}, true, []Encryption{EncryptionNIP04}, EncryptionNIP04, true, ""},
		{"js-sdk order", sign("get_info", nostr.Tags{{"encryption", "nip04 nip44_v2"}}),
			[]Method{MethodGetInfo}, false, []Encryption{EncryptionNIP04, EncryptionNIP44}, EncryptionNIP44, true, ""},
		{"nip44 only, unknown capability", sign("get_info future_method", nostr.Tags{{"encryption", "nip44_v2"}}),
			[]Method{MethodGetInfo, "future_method"}, false, []Encryption{EncryptionNIP44}, EncryptionNIP44, true, ""},
		{"no common scheme", sign("get_info", nostr.Tags{{"encryption", "nip99"}}),
			[]Method{MethodGetInfo}, false, []Encryption{"nip99"}, "", false, ""},
		{"empty encryption tag means nip04", sign("", nostr.Tags{{"encryption", ""}}),
			nil, false, []Encryption{EncryptionNIP04}, EncryptionNIP04, true, ""},
		{"NWA p tag with relay", sign("get_info", nostr.Tags{{"p", k.client.Public().String(), "wss://relay.example/"}}),
			[]Method{MethodGetInfo}, false, []Encryption{EncryptionNIP04}, EncryptionNIP04, true, "wss://relay.example"},
		{"malformed p tag ignored", sign("get_info", nostr.Tags{{"p", "xyz"}}),
			[]Method{MethodGetInfo}, false, []Encryption{EncryptionNIP04}, EncryptionNIP04, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := ParseInfo(tt.ev)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(info.Methods, tt.methods) || info.Notifications != tt.notif || !reflect.DeepEqual(info.Encryptions, tt.encs) || info.ClientRelay != tt.relay {
				t.Errorf("info %#v", info)
			}
			got, err := ChooseEncryption(info)
			if got != tt.choose || (err == nil) != tt.chooseOK || err != nil && !errors.Is(err, ErrUnsupportedEncryption) {
				t.Errorf("ChooseEncryption = %q %v", got, err)
			}
		})
	}
	ev := sign("get_info", nostr.Tags{})
	ev.Content = "pay_invoice"
	if _, err := ParseInfo(ev); !errors.Is(err, nostr.ErrInvalidID) {
		t.Errorf("tampered: %v", err)
	}
	ev = sign("get_info", nostr.Tags{})
	ev.Kind = KindRequest
	if _, err := ParseInfo(ev); !errors.Is(err, ErrUnexpectedKind) {
		t.Errorf("wrong kind: %v", err)
	}
}

func TestTagHelpers(t *testing.T) {
	ev := &nostr.Event{Tags: nostr.Tags{{"d"}, {"expiration", "soon"}, {"e", "nothex"}}}
	if d, ok := ItemID(ev); !ok || d != "" {
		t.Errorf("ItemID = %q %v", d, ok)
	}
	if _, ok := Expiration(ev); ok {
		t.Error("Expiration accepted garbage")
	}
	if _, ok := ResponseTo(ev); ok {
		t.Error("ResponseTo accepted garbage")
	}
	if _, ok := Recipient(ev); ok {
		t.Error("Recipient without p tag")
	}
	for _, tc := range []struct {
		p  string
		ok bool
	}{
		{strings.Repeat("ab", 32), true},  // well-formed, whether or not on the curve
		{strings.Repeat("AB", 32), false}, // upper case
		{strings.Repeat("ab", 31), false}, // short
		{strings.Repeat("zz", 32), false},
	} {
		pk, ok := Recipient(&nostr.Event{Tags: nostr.Tags{{"p", tc.p}}})
		if ok != tc.ok || ok && pk.String() != tc.p {
			t.Errorf("Recipient(p=%s) = %s, %v; want ok %v", tc.p, pk, ok, tc.ok)
		}
	}
	if RequestEncryption(ev) != EncryptionNIP04 {
		t.Error("default scheme")
	}
}
