package lnd_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	btcecdsa "github.com/btcsuite/btcd/btcec/v2/ecdsa"
	"github.com/nwc-go/nwc/internal/lightning"
	"github.com/nwc-go/nwc/internal/lightning/bolt11"
	"github.com/nwc-go/nwc/internal/lightning/lnd"
)

// Unit tests against a fake of LND's REST gateway (JSON mapping, streaming, errors).
// The acceptance tests against real LND are in regtest_test.go.

const macaroonHex = "0201036c6e64"

// fake is an httptest TLS server answering like LND's REST gateway.
type fake struct {
	srv *httptest.Server
	mux *http.ServeMux

	mu       sync.Mutex
	requests []recorded
}

type recorded struct {
	method, path string
	body         map[string]any
}

func newFake(t *testing.T, routes map[string]http.HandlerFunc) *fake {
	t.Helper()
	f := &fake{mux: http.NewServeMux()}
	defaults := map[string]http.HandlerFunc{
		"GET /v1/getinfo": func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, map[string]any{
				"identity_pubkey": "02" + strings.Repeat("11", 32), "alias": "fake", "color": "#3399FF",
				"block_height": 612, "block_hash": strings.Repeat("0f", 32),
				"chains": []map[string]string{{"chain": "bitcoin", "network": "regtest"}},
			})
		},
		"GET /v2/router/track/{hash}": func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 404, map[string]any{"code": 5, "message": "payment isn't initiated"})
		},
		"GET /v2/invoices/lookup": func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 404, map[string]any{"code": 5, "message": "unable to locate invoice"})
		},
		"GET /v1/invoices":           func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]any{"invoices": []any{}}) },
		"GET /v1/invoices/subscribe": block,
		"GET /v2/router/payments":    block,
	}
	for k, h := range routes {
		defaults[k] = h
	}
	for pattern, h := range defaults {
		f.mux.HandleFunc(pattern, h)
	}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Grpc-Metadata-macaroon") != macaroonHex {
			writeJSON(w, 500, map[string]any{"code": 2, "message": "verification failed: signature mismatch"})
			return
		}
		rec := recorded{method: r.Method, path: r.URL.Path}
		if r.Body != nil {
			raw, _ := io.ReadAll(r.Body)
			json.Unmarshal(raw, &rec.body)
			r.Body = io.NopCloser(strings.NewReader(string(raw)))
		}
		f.mu.Lock()
		f.requests = append(f.requests, rec)
		f.mu.Unlock()
		f.mux.ServeHTTP(w, r)
	}))
	f.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes cut short by the tests
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	return f
}

// certPEM is the fake's certificate, as LND's tls.cert would be.
func (f *fake) certPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw})
}

func (f *fake) open(t *testing.T) *lnd.Backend {
	t.Helper()
	mac, _ := hex.DecodeString(macaroonHex)
	b, err := lnd.Open(context.Background(), lnd.Config{Host: f.srv.Listener.Addr().String(), TLSCert: f.certPEM(), Macaroon: mac, DialTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() }) // runs before the server's Close: streams end first
	return b
}

// last returns the last request to path ("METHOD /path").
func (f *fake) last(route string) (recorded, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.requests) - 1; i >= 0; i-- {
		if f.requests[i].method+" "+f.requests[i].path == route {
			return f.requests[i], true
		}
	}
	return recorded{}, false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// streamResults writes stream messages as the gateway does, one JSON object a line.
func streamResults(w http.ResponseWriter, results ...any) {
	w.Header().Set("Content-Type", "application/json")
	for _, r := range results {
		json.NewEncoder(w).Encode(map[string]any{"result": r})
		w.(http.Flusher).Flush()
	}
}

func block(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// regtestInvoice makes a signed regtest invoice of amount msat.
func regtestInvoice(t *testing.T, amount int64, expiry time.Duration) (string, string) {
	t.Helper()
	key, err := btcec.NewPrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	var hash, secret [32]byte
	rand.Read(hash[:])
	rand.Read(secret[:])
	s, err := bolt11.Encode(&bolt11.Invoice{Network: bolt11.Regtest, Amount: amount, Timestamp: time.Now(), PaymentHash: hash,
		PaymentSecret: &secret, Description: "fake", Expiry: expiry, MinFinalCLTVExpiry: 40, Features: []int{9, 14}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return s, hex.EncodeToString(hash[:])
}

func TestOpenConfig(t *testing.T) {
	f := newFake(t, nil)
	tests := []struct {
		name string
		cfg  lnd.Config
	}{
		{"no host", lnd.Config{Macaroon: []byte{1}}},
		{"no macaroon", lnd.Config{Host: "127.0.0.1:1"}},
		{"certificate not PEM", lnd.Config{Host: "127.0.0.1:1", Macaroon: []byte{1}, TLSCert: []byte("nope")}},
		{"http scheme", lnd.Config{Host: "http://127.0.0.1:1", Macaroon: []byte{1}}},
	}
	for _, tt := range tests {
		if _, err := lnd.Open(context.Background(), tt.cfg); !errors.Is(err, lnd.ErrConfig) {
			t.Errorf("%s: err = %v, want ErrConfig", tt.name, err)
		}
	}
	// A certificate that is not the node's: TLS fails, which is "unavailable".
	mac, _ := hex.DecodeString(macaroonHex)
	b, err := lnd.Open(context.Background(), lnd.Config{Host: f.srv.Listener.Addr().String(), Macaroon: mac, TLSCert: otherCert(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.Info(context.Background()); !errors.Is(err, lightning.ErrUnavailable) {
		t.Errorf("wrong certificate: err = %v, want ErrUnavailable", err)
	}
}

// otherCert is a self-signed certificate that did not sign the fake's.
func otherCert(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "other"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestLoadCredentials(t *testing.T) {
	f := newFake(t, nil)
	dir := t.TempDir()
	certFile, macFile := filepath.Join(dir, "tls.cert"), filepath.Join(dir, "admin.macaroon")
	os.WriteFile(certFile, f.certPEM(), 0o600)
	os.WriteFile(macFile, []byte{2, 1, 3}, 0o600)
	certs := []struct{ name, in string }{
		{"file", certFile},
		{"PEM text", string(f.certPEM())},
		{"hex of PEM", hex.EncodeToString(f.certPEM())},
		{"hex of DER", hex.EncodeToString(f.srv.Certificate().Raw)},
	}
	for _, c := range certs {
		got, err := lnd.LoadTLSCert(c.in)
		if err != nil || string(got) != string(f.certPEM()) {
			t.Errorf("LoadTLSCert(%s) = %.30q, %v", c.name, got, err)
		}
	}
	if _, err := lnd.LoadTLSCert("abcd"); !errors.Is(err, lnd.ErrConfig) {
		t.Errorf("hex that is no certificate: %v", err)
	}
	if _, err := lnd.LoadTLSCert(filepath.Join(dir, "missing")); !errors.Is(err, lnd.ErrConfig) {
		t.Errorf("missing file: %v", err)
	}
	for _, in := range []string{macFile, "020103"} {
		if got, err := lnd.LoadMacaroon(in); err != nil || hex.EncodeToString(got) != "020103" {
			t.Errorf("LoadMacaroon(%s) = %x, %v", in, got, err)
		}
	}
	if _, err := lnd.LoadMacaroon(""); !errors.Is(err, lnd.ErrConfig) {
		t.Errorf("empty macaroon: %v", err)
	}
}

func TestInfoBalanceCapabilities(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		"GET /v1/balance/channels": func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, map[string]any{"local_balance": map[string]string{"sat": "500", "msat": "500123"}})
		},
		// A node built without invoicesrpc: the gateway has no route.
		"GET /v2/invoices/lookup": func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 404, map[string]any{"code": 5, "message": "Not Found"})
		},
	})
	b := f.open(t)
	ctx := context.Background()
	info, err := b.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := lightning.NodeInfo{Alias: "fake", Color: "#3399ff", PubKey: "02" + strings.Repeat("11", 32), Network: lightning.Regtest,
		BlockHeight: 612, BlockHash: strings.Repeat("0f", 32)}
	if info != want {
		t.Errorf("Info = %+v, want %+v", info, want)
	}
	if bal, err := b.Balance(ctx); err != nil || bal != 500123 {
		t.Errorf("Balance = %d, %v", bal, err)
	}
	caps := b.Capabilities()
	if caps.Has("make_hold_invoice") || !caps.Has("pay_invoice") || !caps.Has("sign_message") {
		t.Errorf("methods %v", caps.Methods)
	}
	for _, n := range caps.Notifications {
		if n == "hold_invoice_accepted" {
			t.Errorf("notifications %v", caps.Notifications)
		}
	}
}

func TestInvoices(t *testing.T) {
	var hold, regular string
	f := newFake(t, map[string]http.HandlerFunc{
		"POST /v1/invoices": func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, map[string]any{"payment_request": regular, "r_hash": b64(make([]byte, 32))})
		},
		"POST /v2/invoices/hodl": func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, map[string]any{"payment_request": hold})
		},
		"GET /v2/invoices/subscribe/{hash}": block,
		"POST /v2/invoices/settle": func(w http.ResponseWriter, r *http.Request) {
			var req struct{ Preimage string }
			json.NewDecoder(r.Body).Decode(&req)
			pre, _ := base64.StdEncoding.DecodeString(req.Preimage)
			switch pre[0] {
			case 1:
				writeJSON(w, 200, map[string]any{})
			case 2:
				writeJSON(w, 500, map[string]any{"code": 2, "message": "invoice already settled"})
			case 3:
				writeJSON(w, 500, map[string]any{"code": 2, "message": "unable to settle: invoice still open"})
			default:
				writeJSON(w, 404, map[string]any{"code": 5, "message": "unable to locate invoice"})
			}
		},
		"POST /v2/invoices/cancel": func(w http.ResponseWriter, r *http.Request) {
			var req struct {
				Hash string `json:"payment_hash"`
			}
			json.NewDecoder(r.Body).Decode(&req)
			h, _ := base64.StdEncoding.DecodeString(req.Hash)
			switch h[0] {
			case 1:
				writeJSON(w, 500, map[string]any{"code": 2, "message": "invoice already canceled"})
			case 2:
				writeJSON(w, 500, map[string]any{"code": 2, "message": "invoice already settled"})
			default:
				writeJSON(w, 200, map[string]any{})
			}
		},
	})
	regular, _ = regtestInvoice(t, 21_000, 10*time.Minute)
	hold, holdHash := regtestInvoice(t, 15_000, time.Hour)
	b := f.open(t)
	ctx := context.Background()

	dh := sha256.Sum256([]byte("long"))
	inv, err := b.MakeInvoice(ctx, lightning.InvoiceParams{Amount: 21_000, Description: "coffee", DescriptionHash: hex.EncodeToString(dh[:]), Expiry: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := f.last("POST /v1/invoices")
	if req.body["value_msat"] != "21000" || req.body["memo"] != "coffee" || req.body["expiry"] != "600" || req.body["description_hash"] != b64(dh[:]) {
		t.Errorf("add invoice request %v", req.body)
	}
	if inv.Bolt11 != regular || inv.Amount != 21_000 || inv.State != lightning.InvoiceOpen || inv.IsHold || inv.ExpiresAt.Sub(inv.CreatedAt) != 10*time.Minute {
		t.Errorf("invoice %+v", inv)
	}
	// Default expiry is the interface's hour, not LND's day.
	if _, err := b.MakeInvoice(ctx, lightning.InvoiceParams{Amount: 1}); err != nil {
		t.Fatal(err)
	}
	if req, _ := f.last("POST /v1/invoices"); req.body["expiry"] != "3600" {
		t.Errorf("default expiry sent as %v", req.body["expiry"])
	}

	inv, err = b.MakeInvoice(ctx, lightning.InvoiceParams{Amount: 15_000, PaymentHash: holdHash})
	if err != nil {
		t.Fatal(err)
	}
	req, _ = f.last("POST /v2/invoices/hodl")
	raw, _ := hex.DecodeString(holdHash)
	if req.body["hash"] != b64(raw) || req.body["cltv_expiry"] != "144" || req.body["value_msat"] != "15000" {
		t.Errorf("hodl request %v", req.body)
	}
	if !inv.IsHold || inv.PaymentHash != holdHash {
		t.Errorf("hold invoice %+v", inv)
	}

	for _, bad := range []lightning.InvoiceParams{{Amount: -1}, {Amount: 1, DescriptionHash: "ab"}, {Amount: 1, PaymentHash: "zz"}, {Amount: 1, Expiry: time.Millisecond}} {
		if _, err := b.MakeInvoice(ctx, bad); !errors.Is(err, lightning.ErrInvalidParams) {
			t.Errorf("MakeInvoice(%+v): %v", bad, err)
		}
	}

	pre := func(first byte) string { return fmt.Sprintf("%02x", first) + strings.Repeat("00", 31) }
	settle := []struct {
		pre  string
		want error
	}{
		{pre(1), nil}, {pre(2), nil}, {pre(3), lightning.ErrInvoiceState}, {pre(4), lightning.ErrNotFound}, {"xx", lightning.ErrInvalidParams},
	}
	for _, s := range settle {
		if err := b.SettleHoldInvoice(ctx, s.pre); !errors.Is(err, s.want) || (s.want == nil && err != nil) {
			t.Errorf("settle %s: %v, want %v", s.pre, err, s.want)
		}
	}
	cancel := []struct {
		hash string
		want error
	}{{pre(1), nil}, {pre(2), lightning.ErrInvoiceState}, {pre(3), nil}}
	for _, c := range cancel {
		if err := b.CancelHoldInvoice(ctx, c.hash); !errors.Is(err, c.want) || (c.want == nil && err != nil) {
			t.Errorf("cancel %s: %v, want %v", c.hash, err, c.want)
		}
	}
	if _, err := b.LookupInvoice(ctx, pre(9)); !errors.Is(err, lightning.ErrNotFound) {
		t.Errorf("lookup unknown: %v", err)
	}
}

func TestPayments(t *testing.T) {
	var mode sync.Map // payment hash -> behaviour
	f := newFake(t, map[string]http.HandlerFunc{
		"POST /v2/router/send": func(w http.ResponseWriter, r *http.Request) {
			var req struct {
				PaymentRequest string `json:"payment_request"`
				PaymentHash    string `json:"payment_hash"`
			}
			json.NewDecoder(r.Body).Decode(&req)
			hash := ""
			if req.PaymentRequest != "" {
				dec, _ := bolt11.Decode(req.PaymentRequest)
				hash = hex.EncodeToString(dec.PaymentHash[:])
			} else {
				h, _ := base64.StdEncoding.DecodeString(req.PaymentHash)
				hash = hex.EncodeToString(h)
			}
			m, _ := mode.Load(hash)
			switch m {
			case "succeed":
				streamResults(w, map[string]any{"payment_hash": hash, "status": "SUCCEEDED", "payment_preimage": strings.Repeat("cd", 32),
					"value_msat": "10000", "fee_msat": "7", "payment_request": req.PaymentRequest})
			case "no route":
				streamResults(w, map[string]any{"payment_hash": hash, "status": "FAILED", "failure_reason": "FAILURE_REASON_NO_ROUTE"})
			case "balance":
				streamResults(w, map[string]any{"payment_hash": hash, "status": "FAILED", "failure_reason": "FAILURE_REASON_INSUFFICIENT_BALANCE"})
			case "paid":
				writeJSON(w, 409, map[string]any{"error": map[string]any{"code": 6, "message": "invoice is already paid"}})
			case "in flight":
				writeJSON(w, 409, map[string]any{"code": 6, "message": "payment is in transition"})
			case "refused":
				writeJSON(w, 500, map[string]any{"code": 2, "message": "self-payments not allowed"})
			case "hang":
				<-r.Context().Done()
			case "drop":
				// The connection breaks after LND took the payment.
				hj, _ := w.(http.Hijacker)
				conn, _, _ := hj.Hijack()
				conn.Close()
			}
		},
	})
	b := f.open(t)
	ctx := context.Background()
	tests := []struct {
		mode string
		want []error
		not  error
	}{
		{"succeed", nil, nil},
		{"no route", []error{lightning.ErrPaymentFailed}, lightning.ErrInsufficientBalance},
		{"balance", []error{lightning.ErrPaymentFailed, lightning.ErrInsufficientBalance}, nil},
		{"paid", []error{lightning.ErrAlreadyPaid}, lightning.ErrPaymentFailed},
		{"in flight", []error{lightning.ErrPaymentInFlight}, nil},
		{"refused", []error{lightning.ErrPaymentFailed}, lightning.ErrPaymentPending},
		{"drop", []error{lightning.ErrPaymentPending, lightning.ErrUnavailable}, lightning.ErrPaymentFailed},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			inv, hash := regtestInvoice(t, 10_000, time.Hour)
			mode.Store(hash, tt.mode)
			res, err := b.PayInvoice(ctx, lightning.PayParams{Invoice: inv, MaxFee: 50})
			for _, w := range tt.want {
				if !errors.Is(err, w) {
					t.Errorf("err = %v, want %v", err, w)
				}
			}
			if tt.not != nil && errors.Is(err, tt.not) {
				t.Errorf("err = %v, must not be %v", err, tt.not)
			}
			if tt.want == nil {
				if err != nil || res.Preimage != strings.Repeat("cd", 32) || res.FeePaid != 7 || res.Amount != 10_000 || res.PaymentHash != hash {
					t.Errorf("PayInvoice = %+v, %v", res, err)
				}
				req, _ := f.last("POST /v2/router/send")
				if req.body["payment_request"] != inv || req.body["fee_limit_msat"] != "50" || req.body["no_inflight_updates"] != true ||
					req.body["timeout_seconds"] != float64(60) || req.body["amt_msat"] != nil {
					t.Errorf("send request %v", req.body)
				}
			}
		})
	}

	t.Run("context ends while in flight", func(t *testing.T) {
		inv, hash := regtestInvoice(t, 10_000, time.Hour)
		mode.Store(hash, "hang")
		ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		_, err := b.PayInvoice(ctx, lightning.PayParams{Invoice: inv})
		if !errors.Is(err, lightning.ErrPaymentPending) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want ErrPaymentPending wrapping the deadline", err)
		}
		// LND is told to stop trying before the caller's deadline.
		if req, _ := f.last("POST /v2/router/send"); req.body["timeout_seconds"] != float64(1) {
			t.Errorf("timeout_seconds %v, want 1 (deadline 3s minus a 2s margin)", req.body["timeout_seconds"])
		}
	})

	t.Run("checked before sending", func(t *testing.T) {
		expired, _ := regtestInvoice(t, 1000, time.Second)
		zero, zeroHash := regtestInvoice(t, 0, time.Hour)
		mode.Store(zeroHash, "succeed")
		mainnetKey, _ := btcec.NewPrivateKey()
		var h [32]byte
		mainnet, _ := bolt11.Encode(&bolt11.Invoice{Network: bolt11.Mainnet, Amount: 1000, Timestamp: time.Now(), PaymentHash: h, Expiry: time.Hour}, mainnetKey)
		time.Sleep(1100 * time.Millisecond) // let the one-second invoice expire
		if _, err := b.PayInvoice(ctx, lightning.PayParams{Invoice: expired}); !errors.Is(err, lightning.ErrInvoiceExpired) {
			t.Errorf("expired: %v", err)
		}
		if _, err := b.PayInvoice(ctx, lightning.PayParams{Invoice: mainnet}); !errors.Is(err, lightning.ErrInvalidInvoice) {
			t.Errorf("mainnet invoice on regtest: %v", err)
		}
		if _, err := b.PayInvoice(ctx, lightning.PayParams{Invoice: zero}); !errors.Is(err, lightning.ErrInvalidInvoice) {
			t.Errorf("zero amount without amount: %v", err)
		}
		if _, err := b.PayInvoice(ctx, lightning.PayParams{Invoice: zero, Amount: 7_000}); err != nil {
			t.Fatal(err)
		}
		req, _ := f.last("POST /v2/router/send")
		if req.body["amt_msat"] != "7000" || req.body["fee_limit_msat"] != "10000" {
			t.Errorf("zero-amount send request %v", req.body)
		}
	})

	t.Run("keysend", func(t *testing.T) {
		pre := strings.Repeat("cd", 32)
		preRaw, _ := hex.DecodeString(pre)
		h := sha256.Sum256(preRaw)
		mode.Store(hex.EncodeToString(h[:]), "succeed")
		key, _ := btcec.NewPrivateKey()
		dest := hex.EncodeToString(key.PubKey().SerializeCompressed())
		res, err := b.PayKeysend(ctx, lightning.KeysendParams{Destination: dest, Amount: 10_000, Preimage: pre,
			TLVs: []lightning.TLV{{Type: 7629169, Value: []byte("podcast")}}})
		if err != nil || res.Preimage != pre || res.PaymentHash != hex.EncodeToString(h[:]) {
			t.Fatalf("PayKeysend = %+v, %v", res, err)
		}
		req, _ := f.last("POST /v2/router/send")
		recs, _ := req.body["dest_custom_records"].(map[string]any)
		destRaw, _ := hex.DecodeString(dest)
		if req.body["dest"] != b64(destRaw) || req.body["payment_hash"] != b64(h[:]) || req.body["amt_msat"] != "10000" ||
			recs["5482373484"] != b64(preRaw) || recs["7629169"] != b64([]byte("podcast")) || len(recs) != 2 {
			t.Errorf("keysend request %v", req.body)
		}
		for _, bad := range []lightning.KeysendParams{
			{Destination: "02abcd", Amount: 1},
			{Destination: "04" + strings.Repeat("11", 32), Amount: 1},
			{Destination: dest, Amount: 0},
			{Destination: dest, Amount: 1, Preimage: "xyz"},
			{Destination: dest, Amount: 1, TLVs: []lightning.TLV{{Type: 34, Value: []byte{1}}}},
			{Destination: dest, Amount: 1, TLVs: []lightning.TLV{{Type: lightning.KeysendPreimageType, Value: []byte{1}}}},
		} {
			if _, err := b.PayKeysend(ctx, bad); !errors.Is(err, lightning.ErrInvalidParams) {
				t.Errorf("PayKeysend(%+v): %v", bad, err)
			}
		}
	})
}

func TestLookupPayment(t *testing.T) {
	hash := strings.Repeat("ab", 32)
	f := newFake(t, map[string]http.HandlerFunc{
		"GET /v2/router/track/{hash}": func(w http.ResponseWriter, r *http.Request) {
			raw, _ := base64.URLEncoding.DecodeString(r.PathValue("hash"))
			if hex.EncodeToString(raw) != hash {
				writeJSON(w, 404, map[string]any{"code": 5, "message": "payment isn't initiated"})
				return
			}
			// The current state, then the stream would go on: the lookup must not wait.
			streamResults(w, map[string]any{"payment_hash": hash, "status": "IN_FLIGHT", "value_msat": "4000"})
			<-r.Context().Done()
		},
	})
	b := f.open(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := b.LookupPayment(ctx, hash)
	if err != nil || p.State != lightning.PaymentPending || p.Amount != 4000 {
		t.Errorf("LookupPayment = %+v, %v", p, err)
	}
	if _, err := b.LookupPayment(ctx, strings.Repeat("cd", 32)); !errors.Is(err, lightning.ErrNotFound) {
		t.Errorf("unknown payment: %v", err)
	}
	if _, err := b.LookupPayment(ctx, "beef"); !errors.Is(err, lightning.ErrInvalidParams) {
		t.Errorf("bad hash: %v", err)
	}
}

func TestSignMessage(t *testing.T) {
	key, _ := btcec.NewPrivateKey()
	f := newFake(t, map[string]http.HandlerFunc{
		"POST /v1/signmessage": func(w http.ResponseWriter, r *http.Request) {
			var req struct{ Msg string }
			json.NewDecoder(r.Body).Decode(&req)
			msg, _ := base64.StdEncoding.DecodeString(req.Msg)
			writeJSON(w, 200, map[string]any{"signature": lightning.SignMessage(key, string(msg))})
		},
		// The empty message goes through signrpc: sign what LND would.
		"POST /v2/signer/signmessage": func(w http.ResponseWriter, r *http.Request) {
			var req struct {
				Msg        string `json:"msg"`
				DoubleHash bool   `json:"double_hash"`
				CompactSig bool   `json:"compact_sig"`
				KeyLoc     struct {
					Family int `json:"key_family"`
				} `json:"key_loc"`
			}
			json.NewDecoder(r.Body).Decode(&req)
			msg, _ := base64.StdEncoding.DecodeString(req.Msg)
			if !req.DoubleHash || !req.CompactSig || req.KeyLoc.Family != 6 || string(msg) != "Lightning Signed Message:" {
				writeJSON(w, 400, map[string]any{"code": 3, "message": "unexpected request"})
				return
			}
			first := sha256.Sum256(msg)
			digest := sha256.Sum256(first[:])
			writeJSON(w, 200, map[string]any{"signature": b64(btcecdsa.SignCompact(key, digest[:], true))})
		},
	})
	b := f.open(t)
	want := hex.EncodeToString(key.PubKey().SerializeCompressed())
	for _, msg := range []string{"hello", ""} {
		sig, err := b.SignMessage(context.Background(), msg)
		if err != nil {
			t.Fatalf("SignMessage(%q): %v", msg, err)
		}
		if pub, err := lightning.VerifyMessage(msg, sig); err != nil || pub != want {
			t.Errorf("SignMessage(%q) recovers %s (%v), want %s", msg, pub, err, want)
		}
	}
}

// LND is down: every call fails at once with ErrUnavailable, and a payment that could
// not be sent is not reported as pending.
func TestNodeDown(t *testing.T) {
	f := newFake(t, nil)
	b := f.open(t)
	f.srv.CloseClientConnections()
	f.srv.Listener.Close()
	ctx := context.Background()
	inv, _ := regtestInvoice(t, 1000, time.Hour)
	start := time.Now()
	if _, err := b.Balance(ctx); !errors.Is(err, lightning.ErrUnavailable) {
		t.Errorf("Balance: %v", err)
	}
	if _, err := b.PayInvoice(ctx, lightning.PayParams{Invoice: inv}); !errors.Is(err, lightning.ErrUnavailable) || errors.Is(err, lightning.ErrPaymentPending) {
		t.Errorf("PayInvoice: %v, want ErrUnavailable, not pending", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestClosed(t *testing.T) {
	f := newFake(t, nil)
	b := f.open(t)
	events, err := b.Subscribe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	for range events { // closed by Close
	}
	if _, err := b.Info(context.Background()); !errors.Is(err, lightning.ErrUnavailable) {
		t.Errorf("Info after Close: %v", err)
	}
	late, _ := b.Subscribe(context.Background())
	if _, ok := <-late; ok {
		t.Error("Subscribe after Close delivered an event")
	}
}

// The event streams: settled invoices resume from the last settle index after the
// stream drops (no loss, no repeat), accepted hold invoices come from the per-invoice
// watcher started for the hold invoices open at start, and payments made by other
// tools arrive once each.
func TestEvents(t *testing.T) {
	subscribed := make(chan struct{})
	hold := bytes32(0xa1)
	var conns sync.Mutex
	var queries []string
	inv := func(settleIndex int, hash []byte) map[string]any {
		return map[string]any{"r_hash": b64(hash), "r_preimage": b64(bytes32(0x99)), "state": "SETTLED", "settle_index": fmt.Sprint(settleIndex),
			"add_index": fmt.Sprint(settleIndex), "amt_paid_msat": "1000", "value_msat": "1000", "creation_date": "1700000000", "settle_date": "1700000001"}
	}
	pay := func(hash string) map[string]any {
		return map[string]any{"payment_hash": hash, "status": "SUCCEEDED", "payment_preimage": strings.Repeat("01", 32), "value_msat": "5"}
	}
	f := newFake(t, map[string]http.HandlerFunc{
		"GET /v1/invoices": func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("pending_only") == "true" {
				if r.URL.Query().Get("index_offset") != "0" {
					writeJSON(w, 200, map[string]any{"invoices": []any{}, "last_index_offset": "12"})
					return
				}
				writeJSON(w, 200, map[string]any{"last_index_offset": "12", "invoices": []any{
					map[string]any{"r_hash": b64(hold), "state": "OPEN", "add_index": "12"},
					map[string]any{"r_hash": b64(bytes32(0x77)), "r_preimage": b64(bytes32(0x78)), "state": "OPEN", "add_index": "11"},
				}})
				return
			}
			writeJSON(w, 200, map[string]any{"last_index_offset": "12", "invoices": []any{inv(5, bytes32(0x05))}})
		},
		"GET /v1/invoices/subscribe": func(w http.ResponseWriter, r *http.Request) {
			conns.Lock()
			queries = append(queries, r.URL.RawQuery)
			n := len(queries)
			conns.Unlock()
			<-subscribed
			switch n {
			case 1:
				streamResults(w, inv(6, bytes32(0x06))) // then the stream drops
			case 2:
				streamResults(w, inv(6, bytes32(0x06)), inv(7, bytes32(0x07)))
				<-r.Context().Done()
			default:
				<-r.Context().Done()
			}
		},
		"GET /v2/invoices/subscribe/{hash}": func(w http.ResponseWriter, r *http.Request) {
			<-subscribed
			h := map[string]any{"r_hash": b64(hold), "value_msat": "15000"}
			open, accepted, settled := maps(h, "state", "OPEN"), maps(h, "state", "ACCEPTED", "amt_paid_msat", "15000"), maps(h, "state", "SETTLED")
			accepted["htlcs"] = []any{map[string]any{"state": "ACCEPTED", "expiry_height": 800}}
			streamResults(w, open, accepted, accepted, settled)
		},
		"GET /v2/router/payments": func(w http.ResponseWriter, r *http.Request) {
			<-subscribed
			streamResults(w, pay("p1"), pay("p1"), map[string]any{"payment_hash": "p9", "status": "FAILED"}, pay("p2"))
			<-r.Context().Done()
		},
	})
	b := f.open(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	events, err := b.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	close(subscribed)

	counts := map[string]int{}
	var settled []string
	for counts["payment_sent p2"] == 0 || len(settled) < 2 || counts["hold_invoice_accepted "+hex.EncodeToString(hold)] == 0 {
		select {
		case ev := <-events:
			switch {
			case ev.Invoice != nil:
				counts[string(ev.Type)+" "+ev.Invoice.PaymentHash]++
				if ev.Type == lightning.EventInvoiceSettled {
					settled = append(settled, ev.Invoice.PaymentHash)
				} else if ev.Invoice.SettleDeadline != 800-lnd.HoldExpiryDelta || ev.Invoice.State != lightning.InvoiceAccepted || ev.Invoice.AmountReceived != 15000 {
					t.Errorf("accepted event %+v", ev.Invoice)
				}
			case ev.Payment != nil:
				counts[string(ev.Type)+" "+ev.Payment.PaymentHash]++
			}
		case <-ctx.Done():
			t.Fatalf("events so far %v, settled %v", counts, settled)
		}
	}
	if want := []string{hex.EncodeToString(bytes32(0x06)), hex.EncodeToString(bytes32(0x07))}; fmt.Sprint(settled) != fmt.Sprint(want) {
		t.Errorf("settled %v, want %v", settled, want)
	}
	if counts["payment_sent p1"] != 1 || counts["payment_sent p9"] != 0 || counts["hold_invoice_accepted "+hex.EncodeToString(hold)] != 1 {
		t.Errorf("counts %v", counts)
	}
	conns.Lock()
	defer conns.Unlock()
	if len(queries) < 2 || queries[0] != "add_index=12&settle_index=5" || queries[1] != "add_index=12&settle_index=6" {
		t.Errorf("subscribe queries %v, want resume from settle index 5 then 6", queries)
	}
}

func bytes32(b byte) []byte {
	out := make([]byte, 32)
	for i := range out {
		out[i] = b
	}
	return out
}

// maps copies m with the extra key/value pairs set.
func maps(m map[string]any, kv ...string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}
