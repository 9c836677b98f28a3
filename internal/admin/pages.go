package admin

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nwc-go/nwc/internal/nwa"
	"github.com/nwc-go/nwc/internal/wallet"
	qrcode "github.com/skip2/go-qrcode"
)

//go:embed web
var webFS embed.FS

var (
	css = mustRead("web/style.css")
	js  = mustRead("web/app.js")
	// The page's only style and script are inline; the CSP allows exactly them by hash.
	csp = fmt.Sprintf("default-src 'none'; style-src '%s'; script-src '%s'; img-src 'self' data: https: http:; "+
		"form-action 'self' https: http:; frame-ancestors 'none'; base-uri 'none'", hashSource(css), hashSource(js))
	pages = parsePages("login", "index", "new", "created", "connection", "revoke", "nwa", "nwa_review", "nwa_done")
)

func mustRead(name string) string {
	b, err := webFS.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func hashSource(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

var funcs = template.FuncMap{
	"sats":  formatMSat,
	"msat":  func(m wallet.MSat) int64 { return int64(m) },
	"deref": func(p *int64) int64 { return *p },
	"join":  strings.Join,
	"when": func(unix any) string {
		switch v := unix.(type) {
		case int64:
			return formatTime(time.Unix(v, 0))
		case *int64:
			if v != nil {
				return formatTime(time.Unix(*v, 0))
			}
		}
		return ""
	},
	"whenTime": formatTime,
}

func formatTime(t time.Time) string { return t.Local().Format("2006-01-02 15:04") }

// formatMSat writes an amount in sats with thousands separators, msat digits only when
// there are any: "12,345 sat", "0.5 sat".
func formatMSat(m int64) string {
	neg := m < 0
	if neg {
		m = -m
	}
	s := strconv.FormatInt(m/1000, 10)
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if frac := m % 1000; frac != 0 {
		b.WriteString(strings.TrimRight(fmt.Sprintf(".%03d", frac), "0"))
	}
	b.WriteString(" sat")
	return b.String()
}

func parsePages(names ...string) map[string]*template.Template {
	layout := template.Must(template.New("").Funcs(funcs).ParseFS(webFS, "web/layout.html"))
	out := make(map[string]*template.Template, len(names))
	for _, n := range names {
		out[n] = template.Must(template.Must(layout.Clone()).ParseFS(webFS, "web/"+n+".html"))
	}
	return out
}

// pageData is what every page template gets; D is the page's own data.
type pageData struct {
	Title string
	CSRF  string // empty on the login page: no navigation
	Error string
	CSS   template.CSS
	JS    template.JS
	D     any
}

// render writes a page. Pages are rendered to a buffer first so a template error never
// leaves half a page.
func (h *handler) render(w http.ResponseWriter, status int, name, title string, se session, errMsg string, d any) {
	var buf bytes.Buffer
	err := pages[name].ExecuteTemplate(&buf, "layout", pageData{
		Title: title, CSRF: se.csrf, Error: errMsg, CSS: template.CSS(css), JS: template.JS(js), D: d,
	})
	if err != nil {
		h.log.Error("render page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func securityHeaders(w http.ResponseWriter) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", csp)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	// Pages may show a connection secret: never keep them in a cache.
	hd.Set("Cache-Control", "no-store")
}

// page wraps an HTML handler: without a session the browser goes to the login page; a
// POST without the session's CSRF token is refused (403).
func (h *handler) page(next func(http.ResponseWriter, *http.Request, session)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w)
		kind, se := h.authenticate(r)
		if kind == authNone {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			http.Error(w, "log in first", http.StatusUnauthorized)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !csrfOK(r, kind, se) {
			http.Error(w, "missing or wrong CSRF token: reload the page and try again", http.StatusForbidden)
			return
		}
		next(w, r, se)
	})
}

func (h *handler) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /login", h.loginPage)
	mux.HandleFunc("POST /login", h.login)
	mux.Handle("POST /logout", h.page(h.logout))
	mux.Handle("GET /{$}", h.page(h.index))
	mux.Handle("GET /connections/new", h.page(h.newPage))
	mux.Handle("POST /connections/new", h.page(h.create))
	mux.Handle("GET /connections/{id}", h.page(h.connectionPage))
	mux.Handle("GET /connections/{id}/revoke", h.page(h.revokePage))
	mux.Handle("POST /connections/{id}/revoke", h.page(h.revoke))
	mux.Handle("GET /nwa", h.page(h.nwaPage))
	mux.Handle("POST /nwa", h.page(h.nwaReview))
	mux.Handle("POST /nwa/approve", h.page(h.nwaApprove))
	// Anything else needs a login too, then is not found.
	mux.Handle("/", h.page(func(w http.ResponseWriter, r *http.Request, _ session) { http.NotFound(w, r) }))

	mux.Handle("GET /api/overview", h.api(h.apiOverview))
	mux.Handle("GET /api/connections", h.api(h.apiConnections))
	mux.Handle("POST /api/connections", h.api(h.apiCreate))
	mux.Handle("GET /api/connections/{id}", h.api(h.apiConnection))
	mux.Handle("GET /api/connections/{id}/requests", h.api(h.apiRequests))
	mux.Handle("POST /api/connections/{id}/revoke", h.api(h.apiRevoke))
	mux.Handle("POST /api/nwa/parse", h.api(h.apiNWAParse))
	mux.Handle("POST /api/nwa/approve", h.api(h.apiNWAApprove))
	mux.Handle("/api/", h.api(func(w http.ResponseWriter, r *http.Request, _ session) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such API endpoint"})
	}))
}

// safeNext keeps a post-login redirect on this site.
func safeNext(s string) string {
	if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.HasPrefix(s, "/\\") {
		return "/"
	}
	return s
}

func (h *handler) loginPage(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w)
	if kind, _ := h.authenticate(r); kind == authCookie {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	h.render(w, http.StatusOK, "login", "Log in", session{}, "", map[string]string{"Next": safeNext(r.URL.Query().Get("next"))})
}

func (h *handler) login(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w)
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	next := safeNext(r.PostFormValue("next"))
	if !equalSecret(h.cfg.Token, strings.TrimSpace(r.PostFormValue("token"))) {
		h.log.Warn("admin login refused", "remote", r.RemoteAddr)
		h.render(w, http.StatusUnauthorized, "login", "Log in", session{}, "Wrong token.", map[string]string{"Next": next})
		return
	}
	id, _ := h.sessions.create()
	setSessionCookie(w, r, id, int(h.cfg.SessionTTL.Seconds()))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (h *handler) logout(w http.ResponseWriter, r *http.Request, _ session) {
	if id, _, ok := h.sessions.lookup(r); ok {
		h.sessions.remove(id)
	}
	setSessionCookie(w, r, "", -1)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (h *handler) index(w http.ResponseWriter, r *http.Request, se session) {
	o, err := h.overview(r.Context())
	if err != nil {
		h.fail(w, err)
		return
	}
	conns, err := h.connectionViews(r.Context())
	if err != nil {
		h.fail(w, err)
		return
	}
	h.render(w, http.StatusOK, "index", "Wallet", se, "", map[string]any{"Overview": o, "Connections": conns})
}

func (h *handler) fail(w http.ResponseWriter, err error) {
	h.log.Error("admin page", "err", err)
	http.Error(w, "internal error: "+err.Error(), http.StatusInternalServerError)
}

// scopeChoice is one checkbox of the create form.
type scopeChoice struct {
	Name, Help string
	Checked    bool
}

var scopeHelp = map[wallet.Scope]string{
	wallet.ScopePayInvoice:       "pay invoices and keysend (spends)",
	wallet.ScopeMakeInvoice:      "create invoices, hold invoices",
	wallet.ScopeLookupInvoice:    "look up invoices and payments",
	wallet.ScopeListTransactions: "list transactions",
	wallet.ScopeGetBalance:       "read the balance",
	wallet.ScopeGetInfo:          "node alias, network and key in get_info",
	wallet.ScopeSignMessage:      "sign messages with the node key",
}

// defaultScopes are checked on a fresh form (what `nwc connect new` grants by default).
var defaultScopes = []wallet.Scope{wallet.ScopePayInvoice, wallet.ScopeMakeInvoice, wallet.ScopeLookupInvoice,
	wallet.ScopeListTransactions, wallet.ScopeGetBalance, wallet.ScopeGetInfo}

type expiryChoice struct{ Value, Label string }

var expiries = []expiryChoice{{"", "never"}, {"1d", "in 1 day"}, {"7d", "in 7 days"}, {"30d", "in 30 days"}, {"365d", "in 1 year"}}

var renewals = []string{"daily", "weekly", "monthly", "yearly", "never"}

func (h *handler) newPage(w http.ResponseWriter, r *http.Request, se session) {
	h.renderNew(w, http.StatusOK, se, "", NewConnection{}, "", "monthly", true)
}

func (h *handler) renderNew(w http.ResponseWriter, status int, se session, errMsg string, f NewConnection, budgetSat, renewal string, fresh bool) {
	var scopes []scopeChoice
	for _, s := range wallet.AllScopes {
		help, ok := scopeHelp[s]
		if !ok {
			continue
		}
		checked := false
		for _, m := range f.Methods {
			checked = checked || m == string(s)
		}
		if fresh {
			for _, d := range defaultScopes {
				checked = checked || d == s
			}
		}
		scopes = append(scopes, scopeChoice{Name: string(s), Help: help, Checked: checked})
	}
	h.render(w, status, "new", "New connection", se, errMsg, map[string]any{
		"Form": f, "Scopes": scopes, "BudgetSat": budgetSat, "Renewal": renewal, "Renewals": renewals, "Expiries": expiries,
	})
}

// errBadForm marks input the user can fix.
var errBadForm = errors.New("bad input")

// formConnection reads the create form.
func formConnection(r *http.Request) (NewConnection, string, string, error) {
	f := NewConnection{
		Name: strings.TrimSpace(r.PostFormValue("name")), Methods: r.PostForm["methods"],
		Expires: r.PostFormValue("expires"), Isolated: r.PostFormValue("isolated") != "",
		Notifications: r.PostFormValue("notifications") != "",
	}
	budgetSat, renewal := strings.TrimSpace(r.PostFormValue("budget_sat")), r.PostFormValue("budget_renewal")
	if budgetSat != "" && budgetSat != "0" {
		n, err := strconv.ParseInt(budgetSat, 10, 64)
		if err != nil || n < 0 || n > 21e14 {
			return f, budgetSat, renewal, fmt.Errorf("%w: the budget must be a whole number of sats", errBadForm)
		}
		f.Budget = fmt.Sprintf("%dsat/%s", n, renewal)
	}
	return f, budgetSat, renewal, nil
}

// checkNew validates what the create form and the API share, with messages for people.
func checkNew(n *NewConnection) error {
	n.Name = strings.TrimSpace(n.Name)
	if n.Name == "" {
		return fmt.Errorf("%w: the app needs a name", errBadForm)
	}
	if len(n.Methods) == 0 && !n.Notifications {
		return fmt.Errorf("%w: choose at least one method", errBadForm)
	}
	if _, err := wallet.ParseScopes(n.Methods); err != nil {
		return fmt.Errorf("%w: %w", errBadForm, err)
	}
	for _, m := range n.Methods {
		if s, _ := wallet.ScopeFor(m); s == wallet.ScopeSuperuser || m == string(wallet.ScopeSuperuser) {
			return fmt.Errorf("%w: create_connection is not granted from the admin page", errBadForm)
		}
	}
	if n.Budget != "" {
		if _, err := wallet.ParseBudget(n.Budget); err != nil {
			return fmt.Errorf("%w: budget %q: %w", errBadForm, n.Budget, err)
		}
	}
	return nil
}

func (h *handler) create(w http.ResponseWriter, r *http.Request, se session) {
	f, budgetSat, renewal, err := formConnection(r)
	if err == nil {
		err = checkNew(&f)
	}
	if err != nil {
		h.renderNew(w, http.StatusBadRequest, se, strings.TrimPrefix(err.Error(), errBadForm.Error()+": "), f, budgetSat, renewal, false)
		return
	}
	c, uri, err := h.cfg.Create(r.Context(), f)
	if err != nil {
		h.renderNew(w, http.StatusBadRequest, se, "Could not create the connection: "+err.Error(), f, budgetSat, renewal, false)
		return
	}
	qr, err := qrDataURL(uri.String())
	if err != nil {
		h.fail(w, err)
		return
	}
	h.log.Info("connection created from the admin page", "conn", c.ID, "name", c.Name)
	h.render(w, http.StatusOK, "created", "Connection created", se, "", map[string]any{"Conn": c, "URI": uri.String(), "QR": qr})
}

// qrDataURL draws text as a PNG QR code in a data: URL (no request leaves the page).
func qrDataURL(text string) (template.URL, error) {
	png, err := qrcode.Encode(text, qrcode.Medium, 320)
	if err != nil {
		return "", err
	}
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)), nil
}

// connectionByPath loads the connection named by the {id} path value.
func (h *handler) connectionByPath(r *http.Request) (*wallet.Connection, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return nil, fmt.Errorf("%w: connection %q", wallet.ErrNotFound, r.PathValue("id"))
	}
	return h.cfg.Store.ConnectionByID(r.Context(), id)
}

func (h *handler) pageConnection(w http.ResponseWriter, r *http.Request) (*wallet.Connection, bool) {
	c, err := h.connectionByPath(r)
	if errors.Is(err, wallet.ErrNotFound) {
		http.NotFound(w, r)
		return nil, false
	}
	if err != nil {
		h.fail(w, err)
		return nil, false
	}
	return c, true
}

func (h *handler) connectionPage(w http.ResponseWriter, r *http.Request, se session) {
	c, ok := h.pageConnection(w, r)
	if !ok {
		return
	}
	v, err := h.connectionView(r.Context(), c, true)
	if err != nil {
		h.fail(w, err)
		return
	}
	reqs, err := h.requestViews(r.Context(), c.ID)
	if err != nil {
		h.fail(w, err)
		return
	}
	h.render(w, http.StatusOK, "connection", c.Name, se, "", map[string]any{"Conn": v, "Requests": reqs})
}

func (h *handler) revokePage(w http.ResponseWriter, r *http.Request, se session) {
	c, ok := h.pageConnection(w, r)
	if !ok {
		return
	}
	h.render(w, http.StatusOK, "revoke", "Revoke "+c.Name, se, "", map[string]any{"Conn": c})
}

func (h *handler) revoke(w http.ResponseWriter, r *http.Request, _ session) {
	c, ok := h.pageConnection(w, r)
	if !ok {
		return
	}
	if err := h.cfg.Revoke(r.Context(), c.ID); err != nil {
		h.fail(w, err)
		return
	}
	h.log.Info("connection revoked from the admin page", "conn", c.ID)
	http.Redirect(w, r, fmt.Sprintf("/connections/%d", c.ID), http.StatusSeeOther)
}

func (h *handler) nwaPage(w http.ResponseWriter, r *http.Request, se session) {
	h.render(w, http.StatusOK, "nwa", "Connect an app", se, "", map[string]any{"URI": r.URL.Query().Get("uri")})
}

// nwaError phrases a parse error for the page.
func nwaError(err error) string {
	msg := strings.TrimPrefix(err.Error(), nwa.ErrInvalid.Error()+": ")
	return "This is not a walletauth URI this wallet can approve: " + msg
}

// formNWARequest parses the walletauth URI of the posted form; false when it has shown
// the form again with the error.
func (h *handler) formNWARequest(w http.ResponseWriter, r *http.Request, se session) (req *nwa.Request, raw string, ok bool) {
	raw = strings.TrimSpace(r.PostFormValue("uri"))
	req, err := nwa.Parse(raw, h.now())
	if err != nil {
		h.render(w, http.StatusBadRequest, "nwa", "Connect an app", se, nwaError(err), map[string]any{"URI": raw})
		return nil, raw, false
	}
	return req, raw, true
}

func (h *handler) nwaReview(w http.ResponseWriter, r *http.Request, se session) {
	req, raw, ok := h.formNWARequest(w, r, se)
	if !ok {
		return
	}
	h.render(w, http.StatusOK, "nwa_review", "Approve "+req.Name, se, "", map[string]any{"Req": req, "Raw": raw})
}

func (h *handler) nwaApprove(w http.ResponseWriter, r *http.Request, se session) {
	req, raw, ok := h.formNWARequest(w, r, se)
	if !ok {
		return
	}
	a, err := h.cfg.Approve(r.Context(), req)
	if err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, nwa.ErrAlreadyConnected) {
			status = http.StatusConflict
		}
		h.render(w, status, "nwa", "Connect an app", se, "Could not approve: "+err.Error(), map[string]any{"URI": raw})
		return
	}
	h.log.Info("NWA connection approved from the admin page", "conn", a.Connection.ID, "name", a.Connection.Name)
	if a.ReturnURL != "" && a.Published() {
		http.Redirect(w, r, a.ReturnURL, http.StatusSeeOther)
		return
	}
	h.render(w, http.StatusOK, "nwa_done", "Connected", se, "", map[string]any{"Approval": a})
}
