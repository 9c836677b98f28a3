package admin

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nwc-go/nwc/internal/keyring"
	"github.com/nwc-go/nwc/internal/lightning"
	"github.com/nwc-go/nwc/internal/nwa"
	"github.com/nwc-go/nwc/internal/store/sqlite"
	"github.com/nwc-go/nwc/internal/wallet"
	"github.com/nwc-go/nwc/nip47"
	"github.com/nwc-go/nwc/nostr"
	"github.com/nwc-go/nwc/nostr/relaypool"
)

var testToken = strings.Repeat("7", 64)

type fakeBackend struct{}

func (fakeBackend) Info(context.Context) (lightning.NodeInfo, error) {
	return lightning.NodeInfo{Alias: "testnode", Network: "Regtest", PubKey: "02ab"}, nil
}
func (fakeBackend) Balance(context.Context) (int64, error) { return 123_456_789, nil }

// env is an admin handler over a real SQLite store, with creation, revocation and NWA
// approval done directly on the store (the server's versions also reload the service).
type env struct {
	t     *testing.T
	st    *sqlite.Store
	keys  *keyring.Keyring
	srv   *httptest.Server
	clock *fakeClock

	mu       sync.Mutex
	approved []*nwa.Request
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "nwc.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var master [32]byte
	rand.Read(master[:])
	e := &env{t: t, st: st, keys: keyring.New(master), clock: &fakeClock{t: time.Now()}}
	h := Handler(Config{
		Token: testToken, Store: st, Backend: fakeBackend{}, Clock: e.clock.now,
		Relays: func() []relaypool.RelayStatus {
			return []relaypool.RelayStatus{{URL: "ws://127.0.0.1:7447", Connected: true, Since: time.Now()}}
		},
		Create: e.create, Revoke: func(ctx context.Context, id int64) error { return st.RevokeConnection(ctx, id, time.Now()) },
		Approve: e.approve,
	})
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	return e
}

func (e *env) create(ctx context.Context, n NewConnection) (*wallet.Connection, *nip47.ConnectionURI, error) {
	scopes, err := wallet.ParseScopes(n.Methods)
	if err != nil {
		return nil, nil, err
	}
	b, err := wallet.ParseBudget(n.Budget)
	if err != nil {
		return nil, nil, err
	}
	secret := nostr.GenerateSecretKey()
	c := &wallet.Connection{Name: n.Name, ClientPubKey: secret.Public(), Scopes: scopes, Budget: b, Isolated: n.Isolated}
	if err := e.st.CreateConnection(ctx, c, e.derive); err != nil {
		return nil, nil, err
	}
	return c, &nip47.ConnectionURI{WalletPubKey: c.ServicePubKey, Relays: []string{"ws://127.0.0.1:7447"}, Secret: secret}, nil
}

func (e *env) derive(i uint32) (nostr.PublicKey, error) { return e.keys.Derive(i).Public(), nil }

func (e *env) approve(ctx context.Context, r *nwa.Request) (*nwa.Approval, error) {
	c, err := nwa.Create(ctx, e.st, e.keys, r, time.Now())
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.approved = append(e.approved, r)
	e.mu.Unlock()
	a := &nwa.Approval{Connection: c, Relays: r.URI.Relays}
	for _, u := range r.URI.Relays {
		a.Results = append(a.Results, relaypool.RelayResult{URL: u, Status: relaypool.StatusAccepted})
	}
	a.ReturnURL = nwa.ReturnURL(r.ReturnTo, r.URI.Relays, c.ServicePubKey, "")
	return a, nil
}

// browser is an HTTP client with a cookie jar that does not follow redirects.
func (e *env) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (e *env) do(c *http.Client, method, path, contentType, body string, hdr map[string]string) (*http.Response, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

const form = "application/x-www-form-urlencoded"

var csrfRe = regexp.MustCompile(`name="csrf" value="([0-9a-f]{64})"`)

// login logs a browser in and returns it with its session's CSRF token.
func (e *env) login() (*http.Client, string) {
	e.t.Helper()
	c := e.browser()
	resp, _ := e.do(c, "POST", "/login", form, url.Values{"token": {testToken}, "next": {"/"}}.Encode(), nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		e.t.Fatalf("login: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page := e.do(c, "GET", "/", "", "", nil)
	m := csrfRe.FindStringSubmatch(page)
	if m == nil {
		e.t.Fatalf("no CSRF token on the page after login:\n%s", page)
	}
	return c, m[1]
}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

// TestEveryRouteNeedsTheToken: every page and API endpoint refuses a request without the
// token or a session (pages redirect to the login page), and a wrong token is refused.
func TestEveryRouteNeedsTheToken(t *testing.T) {
	e := newEnv(t)
	c, uri, err := e.create(context.Background(), NewConnection{Name: "x", Methods: []string{"get_info"}})
	if err != nil {
		t.Fatal(err)
	}
	_ = uri
	id := fmt.Sprint(c.ID)
	pages := []struct{ method, path string }{
		{"GET", "/"}, {"GET", "/connections/new"}, {"POST", "/connections/new"}, {"GET", "/connections/" + id},
		{"GET", "/connections/" + id + "/revoke"}, {"POST", "/connections/" + id + "/revoke"}, {"GET", "/nwa"},
		{"POST", "/nwa"}, {"POST", "/nwa/approve"}, {"POST", "/logout"}, {"GET", "/no/such/page"},
	}
	apis := []struct{ method, path string }{
		{"GET", "/api/overview"}, {"GET", "/api/connections"}, {"POST", "/api/connections"}, {"GET", "/api/connections/" + id},
		{"GET", "/api/connections/" + id + "/requests"}, {"POST", "/api/connections/" + id + "/revoke"},
		{"POST", "/api/nwa/parse"}, {"POST", "/api/nwa/approve"}, {"POST", "/api/faucet"}, {"GET", "/api/nope"},
	}
	b := e.browser()
	for _, tok := range []string{"", strings.Repeat("8", 64), testToken[:63]} {
		hdr := map[string]string{}
		if tok != "" {
			hdr = bearer(tok)
		}
		for _, p := range pages {
			resp, _ := e.do(b, p.method, p.path, form, "csrf=x", hdr)
			switch {
			case p.method == "GET" && resp.StatusCode == http.StatusSeeOther && strings.HasPrefix(resp.Header.Get("Location"), "/login?next="):
			case p.method == "POST" && resp.StatusCode == http.StatusUnauthorized:
			default:
				t.Errorf("%s %s with token %q: %d %q, want the login redirect or 401", p.method, p.path, tok, resp.StatusCode, resp.Header.Get("Location"))
			}
		}
		for _, p := range apis {
			if resp, _ := e.do(b, p.method, p.path, "application/json", "{}", hdr); resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s %s with token %q: %d, want 401", p.method, p.path, tok, resp.StatusCode)
			}
		}
	}
	if c2, _ := e.st.ConnectionByID(context.Background(), c.ID); c2.Revoked() {
		t.Fatal("an unauthenticated request revoked the connection")
	}
	// A forged or unknown session cookie is no session.
	forged := e.browser()
	u, _ := url.Parse(e.srv.URL)
	forged.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: strings.Repeat("a", 64)}})
	if resp, _ := e.do(forged, "GET", "/", "", "", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("forged cookie: %d", resp.StatusCode)
	}
	// The right bearer token opens the API; the health check stays open.
	if resp, _ := e.do(b, "GET", "/api/overview", "", "", bearer(testToken)); resp.StatusCode != http.StatusOK {
		t.Fatalf("overview with the token: %d", resp.StatusCode)
	}
	if resp, _ := e.do(b, "GET", "/healthz", "", "", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %d", resp.StatusCode)
	}
}

// TestLoginSession: a wrong token is refused; the right one gives an HttpOnly,
// SameSite=Strict cookie that opens the pages until it expires or the user logs out.
func TestLoginSession(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	resp, page := e.do(b, "POST", "/login", form, url.Values{"token": {strings.Repeat("0", 64)}}.Encode(), nil)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(page, "Wrong token") || len(resp.Cookies()) != 0 {
		t.Fatalf("wrong token: %d cookies %v", resp.StatusCode, resp.Cookies())
	}
	resp, _ = e.do(b, "POST", "/login", form, url.Values{"token": {testToken}, "next": {"//evil.example/x"}}.Encode(), nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("login with an off-site next: %d to %q, want /", resp.StatusCode, resp.Header.Get("Location"))
	}
	ck := resp.Cookies()
	if len(ck) != 1 || !ck[0].HttpOnly || ck[0].SameSite != http.SameSiteStrictMode || len(ck[0].Value) != 64 {
		t.Fatalf("session cookie %+v", ck)
	}
	resp, page = e.do(b, "GET", "/", "", "", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "testnode") {
		t.Fatalf("index after login: %d", resp.StatusCode)
	}
	// The cookie also opens the read API.
	if resp, _ := e.do(b, "GET", "/api/connections", "", "", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("API with the cookie: %d", resp.StatusCode)
	}
	e.clock.add(13 * time.Hour)
	if resp, _ := e.do(b, "GET", "/", "", "", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("expired session: %d, want the login redirect", resp.StatusCode)
	}
	b, csrf := e.login()
	if resp, _ := e.do(b, "POST", "/logout", form, "csrf="+csrf, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	if resp, _ := e.do(b, "GET", "/", "", "", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after logout: %d, want the login redirect", resp.StatusCode)
	}
}

// TestCSRF: with the session cookie, state-changing requests need the session's CSRF
// token; another session's token does not do.
func TestCSRF(t *testing.T) {
	e := newEnv(t)
	b, csrf := e.login()
	_, other := e.login()
	newForm := func(tok string) string {
		return url.Values{"csrf": {tok}, "name": {"Shop"}, "methods": {"pay_invoice", "get_balance"}, "budget_sat": {"1000"}, "budget_renewal": {"daily"}}.Encode()
	}
	cases := []struct {
		name       string
		method     string
		path, ct   string
		body       string
		hdr        map[string]string
		wantStatus int
	}{
		{"form without token", "POST", "/connections/new", form, newForm(""), nil, http.StatusForbidden},
		{"form with another session's token", "POST", "/connections/new", form, newForm(other), nil, http.StatusForbidden},
		{"API without header", "POST", "/api/connections", "application/json", `{"name":"a","methods":["get_info"]}`, nil, http.StatusForbidden},
		{"API with wrong header", "POST", "/api/connections", "application/json", `{"name":"a","methods":["get_info"]}`, map[string]string{csrfHeader: other}, http.StatusForbidden},
		{"revoke without token", "POST", "/connections/1/revoke", form, "", nil, http.StatusForbidden},
		{"logout without token", "POST", "/logout", form, "", nil, http.StatusForbidden},
		{"form with token", "POST", "/connections/new", form, newForm(csrf), nil, http.StatusOK},
		{"API with header", "POST", "/api/connections", "application/json", `{"name":"b","methods":["get_info"]}`, map[string]string{csrfHeader: csrf}, http.StatusCreated},
	}
	for _, c := range cases {
		if resp, body := e.do(b, c.method, c.path, c.ct, c.body, c.hdr); resp.StatusCode != c.wantStatus {
			t.Errorf("%s: %d, want %d\n%s", c.name, resp.StatusCode, c.wantStatus, body)
		}
	}
	list, _ := e.st.ListConnections(context.Background())
	if len(list) != 2 {
		t.Fatalf("%d connections, want the 2 made with a valid CSRF token", len(list))
	}
}

// TestCreateListRevokeAPI drives the JSON API with the bearer token.
func TestCreateListRevokeAPI(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	api := func(method, path, body string) (int, map[string]any) {
		resp, s := e.do(b, method, path, "application/json", body, bearer(testToken))
		var m map[string]any
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatalf("%s %s: not JSON: %q", method, path, s)
		}
		return resp.StatusCode, m
	}
	bad := []struct{ body, want string }{
		{`{`, "want {"},
		{`{"methods":["get_info"]}`, "name"},
		{`{"name":"a","methods":["fly"]}`, "fly"},
		{`{"name":"a"}`, "at least one method"},
		{`{"name":"a","methods":["create_connection"]}`, "create_connection"},
		{`{"name":"a","methods":["pay_invoice"],"budget":"lots"}`, "budget"},
	}
	for _, c := range bad {
		if st, m := api("POST", "/api/connections", c.body); st != http.StatusBadRequest || !strings.Contains(fmt.Sprint(m["error"]), c.want) {
			t.Errorf("create %s: %d %v, want 400 mentioning %q", c.body, st, m, c.want)
		}
	}
	st, m := api("POST", "/api/connections", `{"name":"Shop","methods":["pay_invoice,get_balance"],"budget":"5000sat/monthly","isolated":true}`)
	if st != http.StatusCreated {
		t.Fatalf("create: %d %v", st, m)
	}
	uri, err := nip47.ParseConnectionURI(fmt.Sprint(m["uri"]))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(fmt.Sprint(m["qr_png"]), "data:image/png;base64,") {
		t.Fatalf("qr %.40v", m["qr_png"])
	}
	conn := m["connection"].(map[string]any)
	id := int64(conn["id"].(float64))
	if conn["budget_msat"].(float64) != 5_000_000 || conn["budget_remaining_msat"].(float64) != 5_000_000 || conn["balance_msat"].(float64) != 0 {
		t.Fatalf("created connection %v", conn)
	}
	if conn["service_pubkey"] != uri.WalletPubKey.String() {
		t.Fatalf("URI wallet key %s, connection %v", uri.WalletPubKey, conn["service_pubkey"])
	}
	if st, m := api("GET", "/api/connections", ""); st != http.StatusOK || len(m["connections"].([]any)) != 1 {
		t.Fatalf("list: %d %v", st, m)
	}
	// A request in the log shows up in the connection's requests.
	ev := nostr.EventID{1}
	if err := e.st.BeginRequest(context.Background(), ev, id, "get_balance", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := e.st.FinishRequest(context.Background(), ev, "ok", 0, time.Millisecond, time.Now()); err != nil {
		t.Fatal(err)
	}
	if st, m := api("GET", fmt.Sprintf("/api/connections/%d/requests", id), ""); st != http.StatusOK ||
		m["requests"].([]any)[0].(map[string]any)["method"] != "get_balance" {
		t.Fatalf("requests: %d %v", st, m)
	}
	if st, m := api("GET", fmt.Sprintf("/api/connections/%d", id), ""); st != http.StatusOK || m["requests"].(map[string]any)["Total"].(float64) != 1 {
		t.Fatalf("show: %d %v", st, m)
	}
	if st, m := api("POST", fmt.Sprintf("/api/connections/%d/revoke", id), ""); st != http.StatusOK || m["status"] != "revoked" {
		t.Fatalf("revoke: %d %v", st, m)
	}
	if st, m := api("GET", fmt.Sprintf("/api/connections/%d", id), ""); st != http.StatusOK || m["status"] != "revoked" {
		t.Fatalf("after revoke: %d %v", st, m)
	}
	for _, p := range []string{"/api/connections/999", "/api/connections/abc", "/api/connections/999/requests"} {
		if st, _ := api("GET", p, ""); st != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, st)
		}
	}
	if st, _ := api("POST", "/api/connections/999/revoke", ""); st != http.StatusNotFound {
		t.Errorf("revoke unknown: %d, want 404", st)
	}
	if st, m := api("GET", "/api/overview", ""); st != http.StatusOK || m["connections_total"].(float64) != 1 || m["connections"].(float64) != 0 ||
		m["backend"].(map[string]any)["balance_msat"].(float64) != 123_456_789 || len(m["relays"].([]any)) != 1 {
		t.Fatalf("overview: %d %v", st, m)
	}
}

// TestPagesCreateShowRevoke walks the pages: create form -> URI and QR, list with the
// budget bar, the connection's page, the revoke confirmation, revoked.
func TestPagesCreateShowRevoke(t *testing.T) {
	e := newEnv(t)
	b, csrf := e.login()
	resp, page := e.do(b, "GET", "/connections/new", "", "", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `value="pay_invoice" checked`) {
		t.Fatalf("new form: %d", resp.StatusCode)
	}
	resp, page = e.do(b, "POST", "/connections/new", form, url.Values{"csrf": {csrf}, "name": {""}, "methods": {"get_info"}}.Encode(), nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "the app needs a name") {
		t.Fatalf("nameless: %d", resp.StatusCode)
	}
	resp, page = e.do(b, "POST", "/connections/new", form, url.Values{"csrf": {csrf}, "name": {"Shop"}, "methods": {"pay_invoice"}, "budget_sat": {"1.5"}}.Encode(), nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "whole number of sats") {
		t.Fatalf("fractional budget: %d", resp.StatusCode)
	}
	resp, page = e.do(b, "POST", "/connections/new", form, url.Values{"csrf": {csrf}, "name": {"Shop <b>"}, "methods": {"pay_invoice", "get_balance"},
		"budget_sat": {"10000"}, "budget_renewal": {"monthly"}, "expires": {"30d"}}.Encode(), nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("create: %d\n%s", resp.StatusCode, page)
	}
	m := regexp.MustCompile(`<textarea id="uri"[^>]*>([^<]+)</textarea>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no URI on the page:\n%s", page)
	}
	if _, err := nip47.ParseConnectionURI(html.UnescapeString(m[1])); err != nil {
		t.Fatalf("URI on the page %q: %v", m[1], err)
	}
	if !strings.Contains(page, `src="data:image/png;base64,`) || strings.Contains(page, "<b>") {
		t.Fatal("QR missing or name not escaped")
	}
	list, _ := e.st.ListConnections(context.Background())
	id := list[0].ID
	// Spend part of the budget, then the bar shows it.
	if _, err := e.st.ReservePayment(context.Background(), wallet.PaymentReservation{ConnectionID: id, PaymentHash: strings.Repeat("ab", 32),
		Amount: 2_500_000, Budget: list[0].Budget, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	_, page = e.do(b, "GET", "/", "", "", nil)
	if !strings.Contains(page, `<progress class="budget" max="10000000" value="2500000"`) || !strings.Contains(page, "2,500 sat") {
		t.Fatalf("no budget bar with the payment on the list page:\n%s", page)
	}
	resp, page = e.do(b, "GET", fmt.Sprintf("/connections/%d", id), "", "", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Revoke") || !strings.Contains(page, `value="2500000"`) {
		t.Fatalf("connection page: %d", resp.StatusCode)
	}
	resp, page = e.do(b, "GET", fmt.Sprintf("/connections/%d/revoke", id), "", "", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "confirm-revoke") {
		t.Fatalf("revoke confirmation: %d", resp.StatusCode)
	}
	if c, _ := e.st.ConnectionByID(context.Background(), id); c.Revoked() {
		t.Fatal("the confirmation page alone revoked the connection")
	}
	resp, _ = e.do(b, "POST", fmt.Sprintf("/connections/%d/revoke", id), form, "csrf="+csrf, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	_, page = e.do(b, "GET", fmt.Sprintf("/connections/%d", id), "", "", nil)
	if !strings.Contains(page, `id="status">revoked`) || strings.Contains(page, `id="revoke"`) {
		t.Fatal("revoked connection page still offers revocation or does not say revoked")
	}
	if resp, _ := e.do(b, "GET", "/connections/999", "", "", nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown connection page: %d", resp.StatusCode)
	}
}

// TestNWAPage: a bad URI is explained on the page; a good one shows a confirmation screen,
// and approving redirects to return_to with the wallet's key and relays.
func TestNWAPage(t *testing.T) {
	e := newEnv(t)
	b, csrf := e.login()
	app := nostr.GenerateSecretKey().Public().String()
	bad := []struct{ uri, want string }{
		{"", "empty"},
		{"hello", "no scheme"},
		{"nostr+walletconnect://" + app + "?relay=wss://r.example", "scheme must be nostr+walletauth"},
		{"nostr+walletauth://" + app, "relay missing"},
		{"nostr+walletauth://" + app + "?relay=wss://r.example&request_methods=steal", `unknown method "steal"`},
		{"nostr+walletauth://" + app + "?relay=wss://r.example&expires_at=5", "is in the past"},
	}
	for _, c := range bad {
		for _, path := range []string{"/nwa", "/nwa/approve"} {
			resp, page := e.do(b, "POST", path, form, url.Values{"csrf": {csrf}, "uri": {c.uri}}.Encode(), nil)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, `id="error"`) || !strings.Contains(html.UnescapeString(page), c.want) {
				t.Errorf("POST %s %q: %d, want 400 with an error mentioning %q", path, c.uri, resp.StatusCode, c.want)
			}
		}
		st, body := e.do(b, "POST", "/api/nwa/parse", "application/json", fmt.Sprintf(`{"uri":%q}`, c.uri), bearer(testToken))
		if st.StatusCode != http.StatusBadRequest || !strings.Contains(body, "error") {
			t.Errorf("API parse %q: %d %s", c.uri, st.StatusCode, body)
		}
	}
	raw := "nostr+walletauth://" + app + "?relay=wss://app.example&name=Zapper&request_methods=pay_invoice%20get_balance" +
		"&max_amount=21000000&budget_renewal=weekly&return_to=https%3A%2F%2Fapp.example%2Fdone"
	resp, page := e.do(b, "GET", "/nwa?uri="+url.QueryEscape(raw), "", "", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Zapper") {
		t.Fatalf("prefilled form: %d", resp.StatusCode)
	}
	resp, page = e.do(b, "POST", "/nwa", form, url.Values{"csrf": {csrf}, "uri": {raw}}.Encode(), nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("review: %d\n%s", resp.StatusCode, page)
	}
	for _, want := range []string{"Zapper", "pay_invoice", "pay_keysend", "21,000 sat per weekly", "wss://app.example", `id="approve"`} {
		if !strings.Contains(page, want) {
			t.Errorf("review page lacks %q", want)
		}
	}
	if len(e.approved) != 0 {
		t.Fatal("reviewing approved")
	}
	resp, _ = e.do(b, "POST", "/nwa/approve", form, url.Values{"csrf": {csrf}, "uri": {raw}}.Encode(), nil)
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || loc.Host != "app.example" || loc.Query().Get("relay") != "wss://app.example" || len(loc.Query().Get("pubkey")) != 64 {
		t.Fatalf("approve: %d to %q, want the return_to with relay and pubkey", resp.StatusCode, resp.Header.Get("Location"))
	}
	list, _ := e.st.ListConnections(context.Background())
	if len(list) != 1 || list[0].ClientPubKey.String() != app || list[0].Budget.Limit != 21_000_000 || loc.Query().Get("pubkey") != list[0].ServicePubKey.String() {
		t.Fatalf("connections %+v", list)
	}
	// Approving the same app again is refused while its connection lives.
	resp, page = e.do(b, "POST", "/nwa/approve", form, url.Values{"csrf": {csrf}, "uri": {raw}}.Encode(), nil)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(page, "already has a connection") {
		t.Fatalf("second approval: %d", resp.StatusCode)
	}
	// Without return_to the page says where the info event went.
	app2 := nostr.GenerateSecretKey().Public().String()
	resp, page = e.do(b, "POST", "/nwa/approve", form, url.Values{"csrf": {csrf}, "uri": {"nostr+walletauth://" + app2 + "?relay=wss://other.example"}}.Encode(), nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "wallet-pubkey") || !strings.Contains(page, "accepted") {
		t.Fatalf("approve without return_to: %d\n%s", resp.StatusCode, page)
	}
	// The JSON API approves too.
	app3 := nostr.GenerateSecretKey().Public().String()
	resp, body := e.do(b, "POST", "/api/nwa/approve", "application/json", fmt.Sprintf(`{"uri":"nostr+walletauth://%s?relay=wss://x.example"}`, app3), bearer(testToken))
	var av ApprovalView
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &av) != nil || !av.Published || len(av.WalletPubKey) != 64 || av.Connection == nil {
		t.Fatalf("API approve: %d %s", resp.StatusCode, body)
	}
}

// TestCSPAllowsOwnInlineCode: the page's inline style and script are exactly what the
// Content-Security-Policy allows, so the browser runs them (and nothing else).
func TestCSPAllowsOwnInlineCode(t *testing.T) {
	e := newEnv(t)
	b, _ := e.login()
	resp, page := e.do(b, "GET", "/connections/new", "", "", nil)
	policy := resp.Header.Get("Content-Security-Policy")
	style := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindStringSubmatch(page)
	script := regexp.MustCompile(`(?s)<script>(.*?)</script>`).FindStringSubmatch(page)
	if style == nil || script == nil {
		t.Fatal("no inline style or script")
	}
	for _, src := range []string{"style-src '" + hashSource(style[1]) + "'", "script-src '" + hashSource(script[1]) + "'", "frame-ancestors 'none'"} {
		if !strings.Contains(policy, src) {
			t.Errorf("policy %q lacks %q", policy, src)
		}
	}
	if strings.Contains(page, " style=") || strings.Contains(page, " onclick=") {
		t.Error("inline style or handler attributes would be blocked by the policy")
	}
}

func TestFormatMSat(t *testing.T) {
	cases := map[int64]string{0: "0 sat", 1: "0.001 sat", 1000: "1 sat", 1_234_500: "1,234.5 sat", 123_456_789_000: "123,456,789 sat", -2_000_000: "-2,000 sat"}
	for in, want := range cases {
		if got := formatMSat(in); got != want {
			t.Errorf("formatMSat(%d) = %q, want %q", in, got, want)
		}
	}
}

func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/", "/connections/1", "//evil.example", "/\\evil", "https://evil.example", "", "/nwa?uri=x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := safeNext(s)
		u, err := url.Parse(got)
		if !strings.HasPrefix(got, "/") || (err == nil && u.Host != "") || strings.HasPrefix(got, "//") {
			t.Fatalf("safeNext(%q) = %q leaves the site", s, got)
		}
	})
}

func TestSessionsAreBounded(t *testing.T) {
	s := newSessions(time.Hour, time.Now)
	first, _ := s.create()
	for range maxSessions + 10 {
		s.create()
	}
	if len(s.m) > maxSessions {
		t.Fatalf("%d sessions kept", len(s.m))
	}
	if _, ok := s.m[first]; ok {
		t.Fatal("the oldest session survived")
	}
}
