package admin

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Probe guards the machine-facing endpoints (/healthz, /metrics): Prometheus scrapers and
// health checkers usually cannot log in, so a request that reached the server over a
// loopback address (a listener on 127.0.0.1 or ::1, or the loopback side of a wildcard
// listener) needs no token; any other needs "Authorization: Bearer <token>". See
// docs/admin.md, "Metrics".
func Probe(token string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !arrivedOverLoopback(r) {
			v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || !equalSecret(token, v) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="nwc"`)
				writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "missing or wrong admin token (needed beyond loopback)"})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// arrivedOverLoopback reports whether the connection's local address (set by net/http) is
// a loopback one. The local side is what the server bound, so a client cannot fake it.
func arrivedOverLoopback(r *http.Request) bool {
	a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return false
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return false
	}
	return ap.Addr().Unmap().IsLoopback()
}
