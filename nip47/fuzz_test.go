package nip47

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzParseConnectionURI(f *testing.F) {
	for _, s := range []string{
		"nostr+walletconnect://" + specPub + "?relay=wss%3A%2F%2Frelay.damus.io&secret=" + specSecret,
		"nostr+walletconnect:" + specPub + "?relay=wss://relay.getalby.com&relay=wss://relay2.getalby.com/&secret=" + specSecret + "&lud16=a@b.c",
		"nostrwalletconnect://" + specPub + "/?relay=ws://127.0.0.1:1/x&secret=" + specSecret + "#f",
		"nostr+walletconnect://" + specPub + "?relay=wss://[::1]:80&secret=" + specSecret + "&pubkey=x&lud16=%zz",
		"nostr+walletconnect://x?relay=&secret=",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseConnectionURI(s)
		if err != nil {
			return
		}
		if len(c.Relays) == 0 || c.Secret == nil {
			t.Fatalf("accepted without relay or secret: %s", c.Redacted())
		}
		if strings.Contains(c.Redacted(), c.Secret.Hex()) {
			t.Fatal("Redacted leaks the secret")
		}
		back, err := ParseConnectionURI(c.String())
		if err != nil {
			t.Fatalf("String() does not reparse: %v (%s)", err, c.Redacted())
		}
		if back.WalletPubKey != c.WalletPubKey || back.Secret.Hex() != c.Secret.Hex() ||
			!reflect.DeepEqual(back.Relays, c.Relays) || back.LUD16 != c.LUD16 {
			t.Fatalf("round trip changed %s into %s", c.Redacted(), back.Redacted())
		}
	})
}

func FuzzParseWalletAuthURI(f *testing.F) {
	for _, s := range []string{
		"nostr+walletauth://" + specPub + "?relay=wss://relay.damus.io",
		"nostr+walletauth+alby:" + specPub + "?relay=wss%3A%2F%2Frelay.getalby.com%2Fv1&name=My+App&icon=https%3A%2F%2Fx%2Fi.png" +
			"&return_to=app%3A%2F%2Fok&expires_at=1760000000&max_amount=1000&budget_renewal=monthly" +
			"&request_methods=pay_invoice%20get_balance+get_info&notification_types=payment_received" +
			"&isolated=true&metadata=%7B%22a%22%3A1%7D&state=x",
		"nostr+walletauth://" + specPub + "?relay=ws://h&relay=ws://h/&name=&max_amount=-1",
		"nostr+walletauth+://x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w, err := ParseWalletAuthURI(s)
		if err != nil {
			return
		}
		if len(w.Relays) == 0 || w.ExpiresAt < 0 || w.MaxAmount < 0 {
			t.Fatalf("accepted invalid values: %#v", w)
		}
		back, err := ParseWalletAuthURI(w.String())
		if err != nil {
			t.Fatalf("String() %q does not reparse: %v", w.String(), err)
		}
		if !reflect.DeepEqual(back, w) {
			t.Fatalf("round trip\n got %#v\nwant %#v", back, w)
		}
	})
}

func FuzzDecodeParams(f *testing.F) {
	seeds := map[Method]string{
		MethodPayInvoice:        `{"invoice":"lnbc1","amount":1,"metadata":{"comment":"x"}}`,
		MethodMultiPayInvoice:   `{"invoices":[{"id":"a","invoice":"lnbc1"}]}`,
		MethodPayKeysend:        `{"amount":1,"pubkey":"` + nodeID + `","tlv_records":[{"type":5482373484,"value":"00ff"}]}`,
		MethodMultiPayKeysend:   `{"keysends":[{"id":"k","amount":1,"pubkey":"` + nodeID + `"}]}`,
		MethodMakeInvoice:       `{"amount":1000,"description":"d","expiry":60}`,
		MethodLookupInvoice:     `{"payment_hash":"` + hashA + `"}`,
		MethodListTransactions:  `{"from":1,"until":2,"limit":3,"type":"incoming","unpaid":true}`,
		MethodGetBalance:        `{}`,
		MethodGetInfo:           `null`,
		MethodMakeHoldInvoice:   `{"amount":1,"payment_hash":"` + hashA + `","min_cltv_expiry_delta":144}`,
		MethodSettleHoldInvoice: `{"preimage":"` + hashA + `"}`,
		MethodCancelHoldInvoice: `{"payment_hash":"` + hashA + `"}`,
		MethodSignMessage:       `{"message":"m"}`,
		MethodGetBudget:         `{}`,
		MethodCreateConnection:  `{"pubkey":"` + specPub + `","request_methods":["get_info"],"budget_renewal":"daily"}`,
	}
	for i, m := range Methods {
		f.Add(byte(i), []byte(seeds[m]))
	}
	f.Fuzz(func(t *testing.T, which byte, raw []byte) {
		method := Methods[int(which)%len(Methods)]
		p, err := DecodeParams(method, raw)
		if err != nil {
			return
		}
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("marshal %T: %v", p, err)
		}
		// What was accepted stays acceptable, and re-encoding reaches a fixed point
		// (metadata aside: encoding/json may re-escape it past the size limit).
		p2, err := DecodeParams(method, b)
		if err != nil {
			t.Fatalf("re-decoding %s: %v", b, err)
		}
		if reflect.TypeOf(p2) != reflect.TypeOf(p) {
			t.Fatalf("type changed: %T -> %T", p, p2)
		}
	})
}

// FuzzDecodeResponse drives the envelope scanner through both envelopes and checks it
// against encoding/json.
func FuzzDecodeResponse(f *testing.F) {
	for _, s := range []string{
		`{"result_type":"pay_invoice","error":null,"result":{"preimage":"ab","fees_paid":3000}}`,
		`{"result_type":"pay_invoice","error":{"code":"INSUFFICIENT_BALANCE","message":"x"},"result":null}`,
		`{"result_type":"","error":{"code":"UNSUPPORTED_ENCRYPTION"}}`,
		`{"result_type":"get_balance","result":{"balance":5}}`,
		`{"method":"pay_invoice","params":{"invoice":"lnbc1","metadata":{"a":["}",{"b":"\\""}]}}}`,
		`{"meth\u006fd":"get_info","params":null, "result_type" : "x\n"}`,
		` { } `,
		`[1]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var generic map[string]json.RawMessage
		genericErr := json.Unmarshal(data, &generic)
		exact := utf8.Valid(data) // encoding/json rewrites invalid UTF-8; we keep it

		var resp Response
		if err := resp.decode(bytes.Clone(data)); err == nil {
			if genericErr != nil {
				t.Fatalf("accepted what encoding/json rejects: %v", genericErr)
			}
			if exact && string(resp.ResultType) != stringField(t, generic["result_type"]) {
				t.Fatalf("result_type %q, encoding/json says %s", resp.ResultType, generic["result_type"])
			}
			if resp.Error == nil && !bytes.Equal(resp.Result, nullToNil(generic["result"])) {
				t.Fatalf("result %s, encoding/json says %s", resp.Result, generic["result"])
			}
			var back Response
			if err := back.decode(resp.AppendJSON(nil)); err != nil {
				t.Fatalf("re-decoding own output: %v", err)
			}
			if resp.Error == nil && resp.Result == nil {
				resp.Result = json.RawMessage("{}")
			}
			if !reflect.DeepEqual(back, resp) {
				t.Fatalf("round trip\n got %#v\nwant %#v", back, resp)
			}
		} else if genericErr == nil && generic != nil {
			// encoding/json accepts an object: only a wrongly typed member may fail.
			_, e1 := decodeString(generic["result_type"])
			if ev := generic["error"]; e1 == nil && (isNull(ev) || ev[0] == '{' && json.Unmarshal(ev, new(Error)) == nil) {
				t.Fatalf("rejected a valid response: %v", err)
			}
		}

		var req Request
		if err := req.decode(bytes.Clone(data)); err == nil {
			if exact && string(req.Method) != stringField(t, generic["method"]) {
				t.Fatalf("method %q, encoding/json says %s", req.Method, generic["method"])
			}
			var back Request
			if err := back.decode(req.AppendJSON(nil)); err != nil || !reflect.DeepEqual(back, req) {
				t.Fatalf("round trip %#v -> %#v, %v", req, back, err)
			}
		}
	})
}

func stringField(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var s *string
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatalf("encoding/json cannot read %s: %v", raw, err)
		}
	}
	if s == nil {
		return ""
	}
	return *s
}
