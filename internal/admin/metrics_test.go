package admin

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestProbeOpenOnlyOverLoopback(t *testing.T) {
	token := strings.Repeat("c", 64)
	h := Handler(Config{Token: token, Health: func(context.Context) map[string]string { return nil }})
	h.Handle("GET /metrics", Probe(token, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("nwc_up 1\n"))
	})))
	tcp := func(ip string) net.Addr { return &net.TCPAddr{IP: net.ParseIP(ip), Port: 7448} }
	tests := []struct {
		name  string
		local net.Addr // the server side of the connection; nil = unknown
		auth  string
		want  int
	}{
		{"ipv4 loopback, no token", tcp("127.0.0.1"), "", http.StatusOK},
		{"other 127/8, no token", tcp("127.0.0.2"), "", http.StatusOK},
		{"ipv6 loopback, no token", tcp("::1"), "", http.StatusOK},
		{"v4-mapped loopback, no token", tcp("::ffff:127.0.0.1"), "", http.StatusOK},
		{"remote, no token", tcp("192.0.2.7"), "", http.StatusUnauthorized},
		{"remote, wrong token", tcp("192.0.2.7"), "Bearer " + strings.Repeat("d", 64), http.StatusUnauthorized},
		{"remote, token without Bearer", tcp("192.0.2.7"), token, http.StatusUnauthorized},
		{"remote, token", tcp("192.0.2.7"), "Bearer " + token, http.StatusOK},
		{"wildcard listener reached from outside", tcp("10.1.2.3"), "", http.StatusUnauthorized},
		{"unknown local address, no token", nil, "", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		for _, path := range []string{"/healthz", "/metrics"} {
			req := httptest.NewRequest("GET", path, nil)
			if tt.local != nil {
				req = req.WithContext(context.WithValue(req.Context(), http.LocalAddrContextKey, tt.local))
			}
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Errorf("%s %s: status %d, want %d", tt.name, path, rec.Code, tt.want)
			}
		}
	}

	// Over a real loopback socket net/http sets the local address itself.
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("loopback /metrics: %d", resp.StatusCode)
	}
}
