package admin

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"time"
)

const (
	sessionCookie = "nwc_admin"
	// csrfField is the hidden form field, csrfHeader the header for scripts using the cookie.
	csrfField  = "csrf"
	csrfHeader = "X-CSRF-Token"
	// maxSessions bounds memory; the session closest to expiry makes room for a new one.
	maxSessions = 256
)

// session is one browser logged in with the token.
type session struct {
	csrf    string
	expires time.Time
}

// sessions is the server-side session table: the cookie holds only a random id.
type sessions struct {
	ttl time.Duration
	now func() time.Time

	mu sync.Mutex
	m  map[string]session
}

func newSessions(ttl time.Duration, now func() time.Time) *sessions {
	return &sessions{ttl: ttl, now: now, m: make(map[string]session)}
}

func randomHex() string {
	var b [32]byte
	rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// create starts a session and returns its id.
func (s *sessions) create() (string, session) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, se := range s.m {
		if !now.Before(se.expires) {
			delete(s.m, id)
		}
	}
	if len(s.m) >= maxSessions {
		var oldest string
		for id, se := range s.m {
			if oldest == "" || se.expires.Before(s.m[oldest].expires) {
				oldest = id
			}
		}
		delete(s.m, oldest)
	}
	id := randomHex()
	se := session{csrf: randomHex(), expires: now.Add(s.ttl)}
	s.m[id] = se
	return id, se
}

// lookup returns the live session of the request's cookie.
func (s *sessions) lookup(r *http.Request) (string, session, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || len(c.Value) != 64 {
		return "", session{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	se, ok := s.m[c.Value]
	if !ok {
		return "", session{}, false
	}
	if !s.now().Before(se.expires) {
		delete(s.m, c.Value)
		return "", session{}, false
	}
	return c.Value, se, true
}

func (s *sessions) remove(id string) {
	s.mu.Lock()
	delete(s.m, id)
	s.mu.Unlock()
}

func setSessionCookie(w http.ResponseWriter, r *http.Request, id string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: id, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
}

func equalSecret(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// authKind says how a request proved it may use the admin surface.
type authKind int

const (
	authNone authKind = iota
	authBearer
	authCookie
)

// authenticate checks the bearer token, then the session cookie.
func (h *handler) authenticate(r *http.Request) (authKind, session) {
	if v := r.Header.Get("Authorization"); v != "" {
		if tok, ok := strings.CutPrefix(v, "Bearer "); ok && equalSecret(h.cfg.Token, tok) {
			return authBearer, session{}
		}
		return authNone, session{}
	}
	if _, se, ok := h.sessions.lookup(r); ok {
		return authCookie, se
	}
	return authNone, session{}
}

// csrfOK checks a state-changing request made with the session cookie: the token of the
// session must come back in the form field or the header. Bearer requests need none (a
// browser never adds that header by itself).
func csrfOK(r *http.Request, kind authKind, se session) bool {
	if kind == authBearer {
		return true
	}
	got := r.Header.Get(csrfHeader)
	if got == "" && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		got = r.PostFormValue(csrfField)
	}
	return equalSecret(se.csrf, got)
}
