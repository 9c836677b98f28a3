// Package admin is the wallet service's control surface over HTTP: a token-protected JSON
// API (today the sandbox faucet) and a health check. It listens on loopback by default.
package admin

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/nwc-go/nwc/internal/wallet"
)

// ErrNotLoopback refuses to expose the admin surface beyond this machine by accident.
var ErrNotLoopback = errors.New("admin: refusing a non-loopback address without AllowRemote")

// Config wires the admin handler.
type Config struct {
	Token string // required on every /api request as "Authorization: Bearer <token>"
	// Receive credits a connection (0 = the wallet) from outside: the sandbox faucet. Nil
	// when the backend cannot do that (a real node).
	Receive func(ctx context.Context, connID int64, amount wallet.MSat) (*wallet.Transaction, error)
	// Health reports problems of the store, backend and relays; nil map = healthy.
	Health func(ctx context.Context) map[string]string
	Logger *slog.Logger
}

// Handler returns the admin HTTP handler.
func Handler(cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		problems := map[string]string{}
		if cfg.Health != nil {
			problems = cfg.Health(r.Context())
		}
		if len(problems) > 0 {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unhealthy", "problems": problems})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
	})
	mux.Handle("POST /api/faucet", authorized(cfg.Token, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cfg.Receive == nil {
			writeJSON(w, http.StatusNotImplemented, map[string]string{"error": "the faucet needs the sandbox backend"})
			return
		}
		var req struct {
			ConnectionID int64 `json:"connection_id"`
			AmountMSat   int64 `json:"amount_msat"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil || req.AmountMSat <= 0 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "want {\"connection_id\": N, \"amount_msat\": M} with M > 0"})
			return
		}
		tx, err := cfg.Receive(r.Context(), req.ConnectionID, wallet.MSat(req.AmountMSat))
		if err != nil {
			status := http.StatusInternalServerError
			if errors.Is(err, wallet.ErrNotFound) || errors.Is(err, wallet.ErrRevoked) {
				status = http.StatusNotFound
			}
			cfg.Logger.Warn("faucet", "err", err)
			writeJSON(w, status, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"payment_hash": tx.PaymentHash, "amount_msat": int64(tx.Amount), "connection_id": tx.ConnectionID})
	})))
	return mux
}

// authorized checks the bearer token in constant time.
func authorized(token string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if token == "" || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="nwc"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "missing or wrong admin token"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// LoadOrCreateToken reads the admin token file, or creates one (mode 0600) on first run.
func LoadOrCreateToken(path string) (token string, created bool, err error) {
	b, err := os.ReadFile(path)
	if err == nil {
		t := strings.TrimSpace(string(b))
		if len(t) < 32 {
			return "", false, fmt.Errorf("admin: token in %s is too short", path)
		}
		return t, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", false, err
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", false, err
	}
	token = hex.EncodeToString(raw[:])
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		return "", false, err
	}
	return token, true, nil
}

// Listen binds addr, refusing non-loopback addresses unless allowRemote.
func Listen(addr string, allowRemote bool) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if !allowRemote {
		ip := net.ParseIP(host)
		if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return nil, fmt.Errorf("%w: %s", ErrNotLoopback, addr)
		}
	}
	return net.Listen("tcp", addr)
}

// Serve runs the handler on l until ctx ends.
func Serve(ctx context.Context, l net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
