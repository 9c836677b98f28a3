package admin

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nwc-go/nwc/internal/wallet"
)

func TestTokenRequiredAndFaucet(t *testing.T) {
	var credited wallet.MSat
	h := Handler(Config{Token: strings.Repeat("a", 64), Receive: func(_ context.Context, id int64, amt wallet.MSat) (*wallet.Transaction, error) {
		if id == 99 {
			return nil, wallet.ErrNotFound
		}
		credited += amt
		return &wallet.Transaction{PaymentHash: "ab", Amount: amt, ConnectionID: id}, nil
	}})
	srv := httptest.NewServer(h)
	defer srv.Close()
	post := func(token, body string) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/faucet", strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	good := strings.Repeat("a", 64)
	cases := []struct {
		name, token, body string
		want              int
	}{
		{"no token", "", `{"amount_msat":1000}`, http.StatusUnauthorized},
		{"wrong token", strings.Repeat("b", 64), `{"amount_msat":1000}`, http.StatusUnauthorized},
		{"bad body", good, `{"amount_msat":"x"}`, http.StatusBadRequest},
		{"zero amount", good, `{"amount_msat":0}`, http.StatusBadRequest},
		{"unknown connection", good, `{"connection_id":99,"amount_msat":1000}`, http.StatusNotFound},
		{"ok", good, `{"connection_id":1,"amount_msat":1000}`, http.StatusOK},
	}
	for _, c := range cases {
		if got := post(c.token, c.body); got != c.want {
			t.Errorf("%s: status %d, want %d", c.name, got, c.want)
		}
	}
	if credited != 1000 {
		t.Fatalf("credited %d, want exactly the one authorized request", credited)
	}
	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
}

func TestListenRefusesNonLoopback(t *testing.T) {
	if _, err := Listen("0.0.0.0:0", false); !errors.Is(err, ErrNotLoopback) {
		t.Fatalf("0.0.0.0 without AllowRemote: %v", err)
	}
	l, err := Listen("127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
}

func TestTokenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "admin.token")
	tok, created, err := LoadOrCreateToken(path)
	if err != nil || !created || len(tok) != 64 {
		t.Fatalf("create: %q %v %v", tok, created, err)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("token file mode %v", st.Mode().Perm())
	}
	again, created, err := LoadOrCreateToken(path)
	if err != nil || created || again != tok {
		t.Fatalf("reload: %q %v %v", again, created, err)
	}
}
