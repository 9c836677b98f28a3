// Package admin is the wallet service's control surface over HTTP: a web page for people
// (connections and their usage, create with URI and QR code, revoke, request log, wallet
// overview, app-initiated NWA connections) and a JSON API under /api/ for scripts, both
// behind the admin token, plus a health check. It listens on loopback by default.
//
// Auth: every page and API call needs the token. Scripts send it as
// "Authorization: Bearer <token>"; a browser posts it once to /login and gets a session
// cookie (HttpOnly, SameSite=Strict, random id kept server side). State-changing requests
// made with the cookie must carry the session's CSRF token (hidden form field "csrf" or
// header X-CSRF-Token). See docs/admin.md.
package admin

import (
	"context"
	"crypto/rand"
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

	"github.com/nwc-go/nwc/internal/lightning"
	"github.com/nwc-go/nwc/internal/nwa"
	"github.com/nwc-go/nwc/internal/wallet"
	"github.com/nwc-go/nwc/nip47"
	"github.com/nwc-go/nwc/nostr/relaypool"
)

// ErrNotLoopback refuses to expose the admin surface beyond this machine by accident.
var ErrNotLoopback = errors.New("admin: refusing a non-loopback address without AllowRemote")

// Store is what the admin surface reads (internal/store/sqlite implements it).
type Store interface {
	ListConnections(ctx context.Context) ([]wallet.Connection, error)
	ConnectionByID(ctx context.Context, id int64) (*wallet.Connection, error)
	BudgetUsed(ctx context.Context, connID int64, since time.Time) (wallet.MSat, error)
	IsolatedBalance(ctx context.Context, connID int64) (wallet.MSat, error)
	RecentRequests(ctx context.Context, connID int64, limit int) ([]wallet.Request, error)
	RequestStats(ctx context.Context, connID int64) (wallet.RequestStats, error)
}

// Backend is the part of the Lightning backend the overview shows.
type Backend interface {
	Info(ctx context.Context) (lightning.NodeInfo, error)
	Balance(ctx context.Context) (int64, error)
}

// NewConnection is what the create form and POST /api/connections ask for. Methods are
// method or scope names; Budget and Expires take the forms of `nwc connect new`
// ("50000sat/monthly", "30d").
type NewConnection struct {
	Name          string   `json:"name"`
	Methods       []string `json:"methods"`
	Budget        string   `json:"budget"`
	Expires       string   `json:"expires"`
	Isolated      bool     `json:"isolated"`
	Notifications bool     `json:"notifications"`
}

// Config wires the admin handler. Token is required; without Store only /healthz and
// /api/faucet are served.
type Config struct {
	Token string // the admin token: bearer token for scripts, login secret for browsers
	Store Store
	// Backend and Relays feed the overview (either may be nil).
	Backend Backend
	Relays  func() []relaypool.RelayStatus
	// Create stores a connection and returns it with its URI (shown once).
	Create func(ctx context.Context, n NewConnection) (*wallet.Connection, *nip47.ConnectionURI, error)
	// Revoke revokes a connection (wallet.ErrNotFound if there is none).
	Revoke func(ctx context.Context, id int64) error
	// Approve creates the connection an NWA request asks for and publishes its info event.
	Approve func(ctx context.Context, r *nwa.Request) (*nwa.Approval, error)
	// Receive credits a connection (0 = the wallet) from outside: the sandbox faucet. Nil
	// when the backend cannot do that (a real node).
	Receive func(ctx context.Context, connID int64, amount wallet.MSat) (*wallet.Transaction, error)
	// Health reports problems of the store, backend and relays; nil map = healthy.
	Health func(ctx context.Context) map[string]string
	Logger *slog.Logger
	// Clock and Location drive expiry and budget windows (defaults time.Now, time.Local).
	Clock    func() time.Time
	Location *time.Location
	// SessionTTL is how long a browser login lasts (default 12h).
	SessionTTL time.Duration
}

type handler struct {
	cfg      Config
	log      *slog.Logger
	now      func() time.Time
	loc      *time.Location
	sessions *sessions
}

// Handler returns the admin HTTP handler. It is a ServeMux so the caller can add routes
// (e.g. /metrics) next to the admin ones.
func Handler(cfg Config) *http.ServeMux {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	h := &handler{cfg: cfg, log: cfg.Logger, now: cfg.Clock, loc: cfg.Location, sessions: newSessions(cfg.SessionTTL, cfg.Clock)}
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", Probe(cfg.Token, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		problems := map[string]string{}
		if cfg.Health != nil {
			problems = cfg.Health(r.Context())
		}
		if len(problems) > 0 {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unhealthy", "problems": problems})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
	})))
	mux.Handle("POST /api/faucet", h.api(h.apiFaucet))
	if cfg.Store != nil {
		h.routes(mux)
	}
	return mux
}

func (h *handler) apiFaucet(w http.ResponseWriter, r *http.Request, _ session) {
	if h.cfg.Receive == nil {
		writeJSON(w, http.StatusNotImplemented, map[string]string{"error": "the faucet needs the sandbox backend"})
		return
	}
	var req struct {
		ConnectionID int64 `json:"connection_id"`
		AmountMSat   int64 `json:"amount_msat"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.AmountMSat <= 0 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "want {\"connection_id\": N, \"amount_msat\": M} with M > 0"})
		return
	}
	tx, err := h.cfg.Receive(r.Context(), req.ConnectionID, wallet.MSat(req.AmountMSat))
	if err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, wallet.ErrNotFound) || errors.Is(err, wallet.ErrRevoked) {
			status = http.StatusNotFound
		}
		h.log.Warn("faucet", "err", err)
		writeJSON(w, status, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"payment_hash": tx.PaymentHash, "amount_msat": int64(tx.Amount), "connection_id": tx.ConnectionID})
}

// maxBody bounds every request body (forms and JSON).
const maxBody = 64 << 10

// api wraps a JSON API handler: token or session required (401 otherwise), CSRF token
// required for state-changing calls made with the session cookie (403).
func (h *handler) api(next func(http.ResponseWriter, *http.Request, session)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		kind, se := h.authenticate(r)
		if kind == authNone {
			w.Header().Set("WWW-Authenticate", `Bearer realm="nwc"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "missing or wrong admin token"})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !csrfOK(r, kind, se) {
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "missing or wrong CSRF token"})
			return
		}
		next(w, r, se)
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
