package lnd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/nwc-go/nwc/internal/lightning"
)

func TestNumbersAndBytes(t *testing.T) {
	var v struct {
		A i64 `json:"a"`
		B u64 `json:"b"`
		C b64 `json:"c"`
		D b64 `json:"d"`
		E i64 `json:"e"`
	}
	in := `{"a":"-42","b":"18446744073709551615","c":"AQID","d":"-_8","e":7}`
	if err := json.Unmarshal([]byte(in), &v); err != nil {
		t.Fatal(err)
	}
	if v.A != -42 || v.B != 18446744073709551615 || !bytes.Equal(v.C, []byte{1, 2, 3}) || !bytes.Equal(v.D, []byte{0xfb, 0xff}) || v.E != 7 {
		t.Errorf("decoded %+v", v)
	}
	for _, bad := range []string{`{"a":"x"}`, `{"b":"-1"}`, `{"c":"***"}`, `{"c":5}`} {
		if err := json.Unmarshal([]byte(bad), &v); err == nil {
			t.Errorf("%s decoded without error", bad)
		}
	}
	out, err := json.Marshal(sendPaymentRequest{Dest: []byte{0xff}, AmtMsat: 5, FeeLimitMsat: 0})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"dest":"/w==","amt_msat":"5","fee_limit_msat":"0","timeout_seconds":0,"no_inflight_updates":false}`; string(out) != want {
		t.Errorf("encoded %s, want %s", out, want)
	}
}

func TestNetworkName(t *testing.T) {
	tests := []struct {
		network string
		testnet bool
		want    string
	}{
		{"mainnet", false, lightning.Mainnet},
		{"bitcoin", false, lightning.Mainnet},
		{"testnet", false, lightning.Testnet},
		{"testnet4", false, lightning.Testnet},
		{"signet", false, lightning.Signet},
		{"regtest", false, lightning.Regtest},
		{"simnet", false, lightning.Regtest},
		{"", true, lightning.Testnet},
		{"", false, lightning.Mainnet},
	}
	for _, tt := range tests {
		r := &getInfoResponse{Testnet: tt.testnet}
		if tt.network != "" {
			r.Chains = append(r.Chains, struct {
				Chain   string `json:"chain"`
				Network string `json:"network"`
			}{"bitcoin", tt.network})
		}
		if got := networkName(r); got != tt.want {
			t.Errorf("network %q testnet %v: %s, want %s", tt.network, tt.testnet, got, tt.want)
		}
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		status int
		body   string
		want   error
	}{
		{404, `{"code":5,"message":"unable to locate invoice","details":[]}`, lightning.ErrNotFound},
		{500, `{"code":2,"message":"there are no existing invoices"}`, lightning.ErrNotFound},
		{404, `{"error":{"code":5,"message":"payment isn't initiated"}}`, lightning.ErrNotFound},
		{503, `{"code":14,"message":"connection refused"}`, lightning.ErrUnavailable},
		{500, `{"code":2,"message":"the RPC server is in the process of starting up, but not yet ready to accept calls"}`, lightning.ErrUnavailable},
		{500, `{"code":2,"message":"wallet locked, unlock it to enable full RPC access"}`, lightning.ErrUnavailable},
		{502, `<html>bad gateway</html>`, nil},
		{400, `{"code":3,"message":"invalid hash"}`, lightning.ErrInvalidParams},
		{501, `{"code":12,"message":"unknown service"}`, lightning.ErrNotSupported},
	}
	for _, tt := range tests {
		err := classify(decodeStatus(tt.status, []byte(tt.body)))
		var re *rpcError
		if !errors.As(err, &re) {
			t.Errorf("%s: %v does not carry the rpc error", tt.body, err)
		}
		if tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.body, err, tt.want)
		}
		if tt.want == nil && (errors.Is(err, lightning.ErrNotFound) || errors.Is(err, lightning.ErrUnavailable)) {
			t.Errorf("%s: %v classified", tt.body, err)
		}
	}
	if !routeMissing(decodeStatus(404, []byte(`{"code":5,"message":"Not Found"}`))) {
		t.Error("gateway 404 not recognised as a missing route")
	}
}

func TestInvoiceFromRPC(t *testing.T) {
	b := &Backend{createdHold: map[string]bool{}}
	now := time.Unix(1_700_000_000, 0)
	hash := bytes.Repeat([]byte{0xab}, 32)
	pre := bytes.Repeat([]byte{0x01}, 32)
	tests := []struct {
		name  string
		in    rpcInvoice
		check func(t *testing.T, inv lightning.Invoice)
	}{
		{"open regular invoice hides its preimage", rpcInvoice{RHash: hash, RPreimage: pre, State: "OPEN", ValueMsat: 5000, CreationDate: i64(now.Unix()), Expiry: 600, PaymentRequest: "lnbcrt1"},
			func(t *testing.T, inv lightning.Invoice) {
				if inv.State != lightning.InvoiceOpen || inv.Preimage != "" || inv.IsHold || inv.Amount != 5000 || !inv.ExpiresAt.Equal(now.Add(10*time.Minute)) {
					t.Errorf("%+v", inv)
				}
			}},
		{"open past expiry is expired", rpcInvoice{RHash: hash, RPreimage: pre, State: "OPEN", CreationDate: i64(now.Unix() - 7200), Expiry: 3600},
			func(t *testing.T, inv lightning.Invoice) {
				if inv.State != lightning.InvoiceExpired {
					t.Errorf("state %s", inv.State)
				}
			}},
		{"canceled unpaid past expiry is expired", rpcInvoice{RHash: hash, RPreimage: pre, State: "CANCELED", CreationDate: i64(now.Unix() - 7200), Expiry: 3600},
			func(t *testing.T, inv lightning.Invoice) {
				if inv.State != lightning.InvoiceExpired {
					t.Errorf("state %s", inv.State)
				}
			}},
		{"canceled hold with htlcs stays canceled", rpcInvoice{RHash: hash, State: "CANCELED", CreationDate: i64(now.Unix() - 7200), Expiry: 3600, AmtPaidMsat: 9, HTLCs: []invoiceHTLC{{State: "CANCELED"}}},
			func(t *testing.T, inv lightning.Invoice) {
				if inv.State != lightning.InvoiceCanceled || inv.AmountReceived != 0 {
					t.Errorf("%+v", inv)
				}
			}},
		{"accepted hold", rpcInvoice{RHash: hash, State: "ACCEPTED", AmtPaidMsat: 15000, HTLCs: []invoiceHTLC{{State: "ACCEPTED", ExpiryHeight: 800}, {State: "ACCEPTED", ExpiryHeight: 760}}},
			func(t *testing.T, inv lightning.Invoice) {
				if inv.State != lightning.InvoiceAccepted || !inv.IsHold || inv.SettleDeadline != 760-HoldExpiryDelta || inv.AmountReceived != 15000 || inv.Preimage != "" {
					t.Errorf("%+v", inv)
				}
			}},
		{"settled keysend with records", rpcInvoice{RHash: hash, RPreimage: pre, State: "SETTLED", IsKeysend: true, AmtPaidMsat: 3000, SettleDate: i64(now.Unix()),
			DescriptionHash: hash, HTLCs: []invoiceHTLC{{State: "SETTLED", CustomRecords: map[string]b64{"5482373484": pre, "7629169": []byte("hi"), "65536": {1}, "34349334": {2}, "x": {3}}}}},
			func(t *testing.T, inv lightning.Invoice) {
				if inv.State != lightning.InvoiceSettled || inv.Preimage != "0101010101010101010101010101010101010101010101010101010101010101" || !inv.IsKeysend || !inv.SettledAt.Equal(now) {
					t.Errorf("%+v", inv)
				}
				if len(inv.TLVs) != 3 || inv.TLVs[0].Type != 65536 || inv.TLVs[1].Type != 7629169 || inv.TLVs[2].Type != 34349334 || string(inv.TLVs[1].Value) != "hi" {
					t.Errorf("TLVs %+v", inv.TLVs)
				}
				if inv.DescriptionHash != "abababababababababababababababababababababababababababababababab" {
					t.Errorf("description hash %q", inv.DescriptionHash)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.check(t, b.invoiceFromRPC(&tt.in, now)) })
	}
}

func TestPaymentFromRPC(t *testing.T) {
	b := &Backend{}
	dest := "02" + string(bytes.Repeat([]byte("ab"), 32))
	ks := rpcPayment{PaymentHash: "AB", PaymentPreimage: "CD", Status: "SUCCEEDED", ValueMsat: 5000, FeeMsat: 12, CreationTimeNs: 1e18,
		HTLCs: []htlcAttempt{
			{Status: "FAILED", ResolveTimeNs: 1e18 + 5, Route: &struct {
				Hops []hop `json:"hops"`
			}{Hops: []hop{{PubKey: "03ff"}}}},
			{Status: "SUCCEEDED", ResolveTimeNs: 1e18 + 9, Route: &struct {
				Hops []hop `json:"hops"`
			}{Hops: []hop{{PubKey: "03aa"}, {PubKey: dest, CustomRecords: map[string]b64{"5482373484": {1}, "696969": {7}}}}}},
		}}
	p := b.paymentFromRPC(&ks)
	if p.State != lightning.PaymentSucceeded || p.PaymentHash != "ab" || p.Preimage != "cd" || p.FeePaid != 12 || p.Amount != 5000 ||
		!p.IsKeysend || p.Destination != dest || len(p.TLVs) != 1 || p.TLVs[0].Type != 696969 || !p.ResolvedAt.Equal(time.Unix(0, 1e18+9)) {
		t.Errorf("keysend payment %+v", p)
	}
	failed := rpcPayment{PaymentHash: "ab", Status: "FAILED", FailureReason: "FAILURE_REASON_NO_ROUTE", PaymentPreimage: "0000", FeeMsat: 3}
	if p := b.paymentFromRPC(&failed); p.State != lightning.PaymentFailed || p.FailureReason != "no_route" || p.Preimage != "" || p.FeePaid != 0 {
		t.Errorf("failed payment %+v", p)
	}
	for _, st := range []string{"IN_FLIGHT", "INITIATED", "UNKNOWN"} {
		if p := b.paymentFromRPC(&rpcPayment{Status: st}); p.State != lightning.PaymentPending || !p.ResolvedAt.IsZero() {
			t.Errorf("%s: %+v", st, p)
		}
	}
}

// FuzzStream feeds arbitrary bytes to the stream decoder and the mappings: no input
// may panic, and every message either decodes or errors.
func FuzzStream(f *testing.F) {
	f.Add([]byte(`{"result":{"r_hash":"q6s=","state":"SETTLED","settle_index":"3","htlcs":[{"state":"SETTLED","custom_records":{"696969":"AQ=="}}]}}` + "\n"))
	f.Add([]byte(`{"result":{"payment_hash":"ab","status":"SUCCEEDED","htlcs":[{"status":"SUCCEEDED","route":{"hops":[{"pub_key":"02","custom_records":{"5482373484":"AQ=="}}]}}]}}`))
	f.Add([]byte(`{"error":{"code":5,"message":"payment isn't initiated"}}`))
	f.Add([]byte(`{"result":{}}{"result":{"amt_paid_msat":"-1","expiry":"99999999999999"}}`))
	f.Add([]byte(`{"result":null}`))
	f.Add([]byte(`[1,2`))
	b := &Backend{createdHold: map[string]bool{}}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := &stream{resp: &http.Response{StatusCode: 200}, dec: json.NewDecoder(bytes.NewReader(data))}
		ctx := context.Background()
		for i := 0; i < 4; i++ {
			var raw json.RawMessage
			if err := s.next(ctx, &raw); err != nil {
				return
			}
			var inv rpcInvoice
			if json.Unmarshal(raw, &inv) == nil {
				b.invoiceFromRPC(&inv, time.Now())
				isHoldCandidate(&inv)
			}
			var p rpcPayment
			if json.Unmarshal(raw, &p) == nil {
				b.paymentFromRPC(&p)
			}
		}
	})
}

// FuzzDecodeStatus: any error body maps to an error without panicking.
func FuzzDecodeStatus(f *testing.F) {
	f.Add(404, []byte(`{"code":5,"message":"Not Found"}`))
	f.Add(500, []byte(`{"error":{"code":2,"message":"invoice still open"}}`))
	f.Add(503, []byte(``))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		e := decodeStatus(status, body)
		if e == nil || classify(e) == nil {
			t.Fatal("nil error")
		}
		_ = routeMissing(e)
	})
}

// TestSendError: what SendPaymentV2's errors mean for the payment. Once the request went
// out and the caller gave up, anything LND answers (its "context canceled" for our own
// cancellation, seen in CI) leaves the payment pending, not failed.
func TestSendError(t *testing.T) {
	live := context.Background()
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	canceled := &rpcError{HTTPStatus: 408, Code: 1, Message: "context canceled"}
	for _, tc := range []struct {
		name string
		ctx  context.Context
		err  error
		sent bool
		want error
	}{
		{"already paid", live, &rpcError{HTTPStatus: 500, Code: 2, Message: "invoice is already paid"}, true, lightning.ErrAlreadyPaid},
		{"in transition", live, &rpcError{HTTPStatus: 500, Code: 2, Message: "payment is in transition"}, true, lightning.ErrPaymentInFlight},
		{"refused before starting", live, &rpcError{HTTPStatus: 500, Code: 2, Message: "self-payments not allowed"}, true, lightning.ErrPaymentFailed},
		{"connection lost after sending", live, lightning.ErrUnavailable, true, lightning.ErrPaymentPending},
		{"never sent", live, lightning.ErrUnavailable, false, lightning.ErrUnavailable},
		{"caller gave up, LND says canceled", gone, canceled, true, lightning.ErrPaymentPending},
		{"caller gave up, LND refused", gone, &rpcError{HTTPStatus: 500, Code: 2, Message: "invoice expired"}, true, lightning.ErrPaymentPending},
	} {
		if got := sendError(tc.ctx, tc.err, tc.sent); !errors.Is(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
