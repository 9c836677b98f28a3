// Package lnd is the lightning.Backend for an LND node, spoken to over LND's REST API
// (the grpc-gateway that every lnd serves next to gRPC) with net/http.
//
// Why REST and not LND's Go gRPC packages: importing lnrpc pulls lnd's module graph into
// ours, and at the only lnd version served here (v0.18.3-beta.rc3) it builds only with
// btcec/v2 pinned back to v2.3.3 and a replace of google.golang.org/protobuf by
// lightninglabs' fork — a replace that would then hold for the whole project. REST needs
// nothing beyond the standard library, and the JSON we read is small (wire.go).
//
// Sub-servers used: the main RPC, routerrpc (payments), invoicesrpc (hold invoices) and,
// for an empty sign_message only, signrpc. All ship in LND's release builds.
//
// Events: settled invoices come from one SubscribeInvoices stream that resumes from the
// last settle index after a reconnect (nothing is lost); accepted hold invoices, which
// LND only reports per invoice, from one SubscribeSingleInvoice stream per open hold
// invoice; sent payments from the pay calls themselves and from TrackPayments for
// payments made by other tools on the node. Every stream reconnects with backoff.
package lnd

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nwc-go/nwc/internal/lightning"
)

// DefaultPort is LND's REST port.
const DefaultPort = "8080"

// Config says how to reach one LND node.
type Config struct {
	// Host is the REST address: "host:port" (port 8080 when absent) or an https URL.
	Host string
	// TLSCert is the node's tls.cert (PEM), trusted as the only root. Empty = the
	// system roots (LND behind a proxy with a public certificate).
	TLSCert []byte
	// Macaroon is the macaroon (raw bytes) sent with every call; admin.macaroon, or a
	// baked one with the permissions of the methods in use.
	Macaroon []byte
	Logger   *slog.Logger
	// PaymentTimeout caps how long LND keeps trying routes for one payment (default 60s;
	// a shorter context deadline wins).
	PaymentTimeout time.Duration
	// CallTimeout bounds calls whose context has no deadline (default 30s).
	CallTimeout time.Duration
	// DialTimeout bounds connecting to LND, so a node that is down fails fast
	// (default 5s).
	DialTimeout time.Duration
}

// Backend is an LND node. Create with Open, release with Close. It implements
// lightning.Backend.
type Backend struct {
	cfg    Config
	log    *slog.Logger
	base   string // https://host:port
	mac    string // hex
	client *http.Client
	tr     *http.Transport

	ctx    context.Context // ends at Close; owns the background streams
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu          sync.Mutex
	network     string // cached from getinfo: a node never changes chain
	caps        lightning.Capabilities
	subs        map[*subscriber]struct{}
	holds       map[string]bool // hold invoices being watched
	createdHold map[string]bool // hashes of hold invoices made through this backend
	sent        *recentSet      // payment_sent events already emitted
	lastSettle  uint64          // SubscribeInvoices resume points
	lastAdd     uint64
	baseline    bool
	closed      bool
}

var _ lightning.Backend = (*Backend)(nil)

// Errors of Open.
var (
	ErrConfig = errors.New("lnd: bad configuration")
)

// Open prepares a client for the node and starts the event streams. It does not
// require the node to be up: calls fail with lightning.ErrUnavailable until it is, and
// the streams connect when it comes. When the node answers, Open learns its network
// and which sub-servers it has, to report true capabilities.
func Open(ctx context.Context, cfg Config) (*Backend, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.PaymentTimeout <= 0 {
		cfg.PaymentTimeout = 60 * time.Second
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = 30 * time.Second
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 5 * time.Second
	}
	base, err := baseURL(cfg.Host)
	if err != nil {
		return nil, err
	}
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if len(cfg.TLSCert) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(cfg.TLSCert) {
			return nil, fmt.Errorf("%w: TLS certificate is not PEM", ErrConfig)
		}
		tlsConf.RootCAs = pool
	}
	if len(cfg.Macaroon) == 0 {
		return nil, fmt.Errorf("%w: a macaroon is required", ErrConfig)
	}
	dialer := &net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		DialContext:         dialer.DialContext,
		TLSClientConfig:     tlsConf,
		TLSHandshakeTimeout: cfg.DialTimeout,
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
	}
	bctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	b := &Backend{
		cfg: cfg, log: cfg.Logger, base: base, mac: hex.EncodeToString(cfg.Macaroon),
		client: &http.Client{Transport: tr}, tr: tr, ctx: bctx, cancel: cancel,
		caps: fullCapabilities(), subs: map[*subscriber]struct{}{}, holds: map[string]bool{},
		createdHold: map[string]bool{}, sent: newRecentSet(4096),
	}
	b.probe(ctx)
	b.startStreams()
	return b, nil
}

// Close stops the event streams (subscribers' channels close) and releases connections.
func (b *Backend) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.cancel()
	b.wg.Wait()
	b.tr.CloseIdleConnections()
	return nil
}

func baseURL(host string) (string, error) {
	host = strings.TrimSpace(host)
	if host == "" {
		return "", fmt.Errorf("%w: no host", ErrConfig)
	}
	if !strings.Contains(host, "://") {
		host = "https://" + host
	}
	u, err := url.Parse(host)
	if err != nil || u.Host == "" || u.Scheme != "https" {
		return "", fmt.Errorf("%w: host %q: want host:port or https://host:port", ErrConfig, host)
	}
	if u.Port() == "" {
		u.Host = net.JoinHostPort(u.Hostname(), DefaultPort)
	}
	return "https://" + u.Host + strings.TrimSuffix(u.Path, "/"), nil
}

// LoadTLSCert reads a TLS certificate given as a file path, PEM text, or hex (of the
// PEM file or of the DER certificate), as flags and environment variables allow.
func LoadTLSCert(s string) ([]byte, error) {
	if strings.HasPrefix(strings.TrimSpace(s), "-----BEGIN") {
		return []byte(s), nil
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	if raw, err := hex.DecodeString(s); err == nil && len(raw) > 0 {
		if bytes.HasPrefix(raw, []byte("-----BEGIN")) {
			return raw, nil
		}
		if _, err := x509.ParseCertificate(raw); err != nil {
			return nil, fmt.Errorf("%w: hex TLS certificate is neither PEM nor DER", ErrConfig)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: raw}), nil
	}
	b, err := os.ReadFile(s)
	if err != nil {
		return nil, fmt.Errorf("%w: TLS certificate: %w", ErrConfig, err)
	}
	return b, nil
}

// LoadMacaroon reads a macaroon given as a file path or as hex.
func LoadMacaroon(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("%w: no macaroon", ErrConfig)
	}
	if raw, err := hex.DecodeString(s); err == nil && len(raw) > 0 {
		return raw, nil
	}
	b, err := os.ReadFile(s)
	if err != nil {
		return nil, fmt.Errorf("%w: macaroon: %w", ErrConfig, err)
	}
	return b, nil
}

// rpcError is an error answered by LND (a gRPC status).
type rpcError struct {
	HTTPStatus int
	Code       int
	Message    string
}

func (e *rpcError) Error() string {
	return fmt.Sprintf("lnd: %s (code %d, http %d)", e.Message, e.Code, e.HTTPStatus)
}

// gRPC status codes LND uses.
const (
	codeUnknown          = 2
	codeInvalidArgument  = 3
	codeNotFound         = 5
	codeAlreadyExists    = 6
	codePermissionDenied = 7
	codeUnimplemented    = 12
	codeUnavailable      = 14
	codeUnauthenticated  = 16
)

// classify wraps an LND error with the sentinel callers test for; method-specific
// meanings are added by the callers.
func classify(e *rpcError) error {
	msg := strings.ToLower(e.Message)
	switch {
	case e.Code == codeUnavailable || e.HTTPStatus == http.StatusServiceUnavailable ||
		strings.Contains(msg, "in the process of starting up") || strings.Contains(msg, "wallet locked") ||
		strings.Contains(msg, "server is still in the process") || strings.Contains(msg, "not yet ready"):
		return fmt.Errorf("%w: %w", lightning.ErrUnavailable, e)
	case e.Code == codeNotFound || strings.Contains(msg, "unable to locate invoice") ||
		strings.Contains(msg, "there are no existing invoices") || strings.Contains(msg, "payment isn't initiated"):
		return fmt.Errorf("%w: %w", lightning.ErrNotFound, e)
	case e.Code == codeUnimplemented:
		return fmt.Errorf("%w: %w", lightning.ErrNotSupported, e)
	case e.Code == codeInvalidArgument:
		return fmt.Errorf("%w: %w", lightning.ErrInvalidParams, e)
	}
	return e
}

// transportError wraps a failure to talk to LND at all.
func transportError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("%w: %w", lightning.ErrUnavailable, err)
}

// request is one call to the REST API.
type request struct {
	method string
	path   string // with query
	body   any
}

func (b *Backend) newRequest(ctx context.Context, r request) (*http.Request, error) {
	var body io.Reader
	if r.body != nil {
		buf, err := json.Marshal(r.body)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(buf)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, b.base+r.path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Grpc-Metadata-macaroon", b.mac)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// call makes a unary call and decodes the answer into out.
func (b *Backend) call(ctx context.Context, r request, out any) error {
	if err := b.alive(ctx); err != nil {
		return err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.cfg.CallTimeout)
		defer cancel()
	}
	req, err := b.newRequest(ctx, r)
	if err != nil {
		return err
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return transportError(ctx, err)
	}
	defer resp.Body.Close()
	// Answers are small; a cap keeps a confused peer from exhausting memory.
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return transportError(ctx, err)
	}
	if resp.StatusCode != http.StatusOK {
		return classify(decodeStatus(resp.StatusCode, body))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("lnd: decode %s answer: %w", r.path, err)
	}
	return nil
}

// decodeStatus reads a gateway error body: {"code","message"} or {"error":{…}}.
func decodeStatus(httpStatus int, body []byte) *rpcError {
	var v struct {
		rpcStatus
		Error *rpcStatus `json:"error"`
	}
	e := &rpcError{HTTPStatus: httpStatus}
	if err := json.Unmarshal(body, &v); err != nil {
		e.Code = codeUnknown
		e.Message = strings.TrimSpace(string(body[:min(len(body), 200)]))
		if e.Message == "" {
			e.Message = http.StatusText(httpStatus)
		}
		return e
	}
	st := v.rpcStatus
	if v.Error != nil {
		st = *v.Error
	}
	e.Code, e.Message = st.Code, st.Message
	return e
}

// stream is a server-streaming call: a sequence of {"result":…} objects, or an
// {"error":…} object that ends it.
type stream struct {
	resp *http.Response
	dec  *json.Decoder
}

// errStreamEnd is returned by stream.next when the server closed the stream cleanly.
var errStreamEnd = errors.New("lnd: stream ended")

// openStream starts a streaming call. sent reports whether the request reached the
// wire, for payments whose outcome is then unknown.
func (b *Backend) openStream(ctx context.Context, r request) (s *stream, sent bool, err error) {
	if err := b.alive(ctx); err != nil {
		return nil, false, err
	}
	req, err := b.newRequest(ctx, r)
	if err != nil {
		return nil, false, err
	}
	var wrote atomic.Bool
	trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { wrote.Store(true) }}
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, wrote.Load(), transportError(ctx, err)
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		return nil, true, classify(decodeStatus(resp.StatusCode, body))
	}
	return &stream{resp: resp, dec: json.NewDecoder(resp.Body)}, true, nil
}

// next decodes the next result into out.
func (s *stream) next(ctx context.Context, out any) error {
	var msg struct {
		Result json.RawMessage `json:"result"`
		Error  *rpcStatus      `json:"error"`
	}
	if err := s.dec.Decode(&msg); err != nil {
		if errors.Is(err, io.EOF) {
			return errStreamEnd
		}
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return fmt.Errorf("lnd: bad stream message: %w", err)
		}
		return transportError(ctx, err)
	}
	if msg.Error != nil {
		return classify(&rpcError{HTTPStatus: s.resp.StatusCode, Code: msg.Error.Code, Message: msg.Error.Message})
	}
	if len(msg.Result) == 0 {
		return errors.New("lnd: stream message without result")
	}
	if err := json.Unmarshal(msg.Result, out); err != nil {
		return fmt.Errorf("lnd: decode stream message: %w", err)
	}
	return nil
}

func (s *stream) close() { s.resp.Body.Close() }

// alive fails after Close, and with ctx's error when it is done.
func (b *Backend) alive(ctx context.Context) error {
	if b.ctx.Err() != nil {
		return fmt.Errorf("lnd: backend closed: %w", lightning.ErrUnavailable)
	}
	return ctx.Err()
}
