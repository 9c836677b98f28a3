package nip47

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"

	"github.com/nwc-go/nwc/nostr"
)

// URI schemes.
const (
	SchemeWalletConnect = "nostr+walletconnect"
	SchemeWalletAuth    = "nostr+walletauth"
	// schemeLegacyWalletConnect is still accepted by js-sdk; we read it, never write it.
	schemeLegacyWalletConnect = "nostrwalletconnect"
)

// ConnectionURI is a nostr+walletconnect URI (§2.1): everything a client needs to talk to
// a wallet service.
type ConnectionURI struct {
	WalletPubKey nostr.PublicKey
	Relays       []string // normalised (see NormalizeRelayURL), at least one
	Secret       *nostr.SecretKey
	LUD16        string // optional lightning address
}

// ParseConnectionURI parses a connection URI. It accepts the scheme with or without "//"
// and the legacy "nostrwalletconnect" scheme, raw or percent-encoded relay URLs, several
// relays, an npub host and an nsec secret, and ignores unknown params. It requires a
// valid wallet pubkey, a valid secret and at least one ws:// or wss:// relay. Error
// messages never contain the secret.
func ParseConnectionURI(s string) (*ConnectionURI, error) {
	scheme, host, query, err := splitURI(s)
	if err != nil {
		return nil, err
	}
	if scheme != SchemeWalletConnect && scheme != schemeLegacyWalletConnect {
		return nil, fmt.Errorf("%w: scheme must be %s", ErrInvalidURI, SchemeWalletConnect)
	}
	c := &ConnectionURI{}
	if c.WalletPubKey, err = parseURIPubKey(host); err != nil {
		return nil, err
	}
	var secret string
	err = forEachParam(query, url.PathUnescape, func(key, val string) error {
		switch key {
		case "relay":
			return c.addRelay(val)
		case "secret":
			if secret == "" {
				secret = val
			}
		case "lud16":
			if c.LUD16 == "" {
				c.LUD16 = val
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(c.Relays) == 0 {
		return nil, fmt.Errorf("%w: relay missing", ErrInvalidURI)
	}
	switch {
	case secret == "":
		return nil, fmt.Errorf("%w: secret missing", ErrInvalidURI)
	case strings.HasPrefix(secret, "nsec1"):
		c.Secret, err = nostr.DecodeNsec(secret)
	default:
		c.Secret, err = nostr.ParseSecretKey(secret)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: secret: %w", ErrInvalidURI, err)
	}
	return c, nil
}

func (c *ConnectionURI) addRelay(raw string) error {
	r, err := NormalizeRelayURL(raw)
	if err != nil {
		return err
	}
	c.Relays = appendUnique(c.Relays, r)
	return nil
}

// String returns the full URI, secret included: it is what the user hands to an app.
// Use Redacted for logs. Relay URLs are percent-encoded, as in the spec's example.
func (c *ConnectionURI) String() string { return c.format(false) }

// Redacted returns the URI with the secret replaced, for logs.
func (c *ConnectionURI) Redacted() string { return c.format(true) }

// LogValue keeps the secret out of slog output.
func (c *ConnectionURI) LogValue() slog.Value { return slog.StringValue(c.Redacted()) }

func (c *ConnectionURI) format(redact bool) string {
	var b strings.Builder
	b.WriteString(SchemeWalletConnect)
	b.WriteString("://")
	b.WriteString(c.WalletPubKey.String())
	sep := byte('?')
	param := func(k, v string) {
		b.WriteByte(sep)
		sep = '&'
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(v))
	}
	for _, r := range c.Relays {
		param("relay", r)
	}
	if c.Secret != nil {
		if redact {
			param("secret", "REDACTED")
		} else {
			param("secret", c.Secret.Hex())
		}
	}
	if c.LUD16 != "" {
		param("lud16", c.LUD16)
	}
	return b.String()
}

// WalletAuthURI is a nostr+walletauth URI (§2.2, NWA draft): a client asks a wallet to
// create a connection for the client's own key. Zero values mean "not given".
type WalletAuthURI struct {
	// WalletName is <name> of the nostr+walletauth+<name>:// form, "" for any wallet.
	WalletName        string
	ClientPubKey      nostr.PublicKey
	Relays            []string // normalised, at least one
	Name              string   // app name
	Icon              string   // URL of the app's icon
	ReturnTo          string   // URI to open after the connection is created
	ExpiresAt         int64    // unix s
	MaxAmount         int64    // msats per renewal period
	BudgetRenewal     BudgetRenewal
	RequestMethods    []Method
	NotificationTypes []string
	Isolated          bool
	Metadata          json.RawMessage // a JSON object
}

// ParseWalletAuthURI parses a nostr+walletauth or nostr+walletauth+<name> URI, with or
// without "//". Lists are split on spaces ('+', %20) and commas; unknown params and
// empty values are ignored; malformed known params are errors.
func ParseWalletAuthURI(s string) (*WalletAuthURI, error) {
	scheme, host, query, err := splitURI(s)
	if err != nil {
		return nil, err
	}
	w := &WalletAuthURI{}
	switch {
	case scheme == SchemeWalletAuth:
	case strings.HasPrefix(scheme, SchemeWalletAuth+"+") && len(scheme) > len(SchemeWalletAuth)+1:
		w.WalletName = scheme[len(SchemeWalletAuth)+1:]
		if strings.Trim(w.WalletName, "abcdefghijklmnopqrstuvwxyz0123456789+-.") != "" {
			return nil, fmt.Errorf("%w: wallet name in scheme", ErrInvalidURI)
		}
	default:
		return nil, fmt.Errorf("%w: scheme must be %s", ErrInvalidURI, SchemeWalletAuth)
	}
	if w.ClientPubKey, err = parseURIPubKey(host); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	err = forEachParam(query, url.QueryUnescape, func(key, val string) error {
		if key == "relay" {
			r, err := NormalizeRelayURL(val)
			if err != nil {
				return err
			}
			w.Relays = appendUnique(w.Relays, r)
			return nil
		}
		if val == "" || seen[key] {
			return nil // absent, or a repeat: the first one counts
		}
		seen[key] = true
		switch key {
		case "name":
			w.Name = val
		case "icon":
			w.Icon = val
		case "return_to":
			w.ReturnTo = val
		case "expires_at":
			return parseNonNegative(key, val, &w.ExpiresAt)
		case "max_amount":
			return parseNonNegative(key, val, &w.MaxAmount)
		case "budget_renewal":
			w.BudgetRenewal = BudgetRenewal(strings.ToLower(val))
			if !w.BudgetRenewal.Valid() {
				return fmt.Errorf("%w: budget_renewal %q", ErrInvalidURI, val)
			}
		case "request_methods":
			for _, m := range splitList(val, " +,") {
				w.RequestMethods = append(w.RequestMethods, Method(m))
			}
		case "notification_types":
			w.NotificationTypes = splitList(val, " +,")
		case "isolated":
			b, err := strconv.ParseBool(val)
			if err != nil {
				return fmt.Errorf("%w: isolated %q", ErrInvalidURI, val)
			}
			w.Isolated = b
		case "metadata":
			if !isJSONObject(val) {
				return fmt.Errorf("%w: metadata must be a JSON object", ErrInvalidURI)
			}
			w.Metadata = json.RawMessage(val)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(w.Relays) == 0 {
		return nil, fmt.Errorf("%w: relay missing", ErrInvalidURI)
	}
	return w, nil
}

// String formats the URI; lists are space-separated and spaces written as %20.
func (w *WalletAuthURI) String() string {
	var b strings.Builder
	b.WriteString(SchemeWalletAuth)
	if w.WalletName != "" {
		b.WriteByte('+')
		b.WriteString(w.WalletName)
	}
	b.WriteString("://")
	b.WriteString(w.ClientPubKey.String())
	sep := byte('?')
	param := func(k, v string) {
		if v == "" {
			return
		}
		b.WriteByte(sep)
		sep = '&'
		b.WriteString(k)
		b.WriteByte('=')
		// QueryEscape writes a space as '+' and a literal '+' as %2B, so this only
		// changes spaces.
		b.WriteString(strings.ReplaceAll(url.QueryEscape(v), "+", "%20"))
	}
	for _, r := range w.Relays {
		param("relay", r)
	}
	param("name", w.Name)
	param("icon", w.Icon)
	param("return_to", w.ReturnTo)
	if w.ExpiresAt > 0 {
		param("expires_at", strconv.FormatInt(w.ExpiresAt, 10))
	}
	if w.MaxAmount > 0 {
		param("max_amount", strconv.FormatInt(w.MaxAmount, 10))
	}
	param("budget_renewal", string(w.BudgetRenewal))
	methods := make([]string, len(w.RequestMethods))
	for i, m := range w.RequestMethods {
		methods[i] = string(m)
	}
	param("request_methods", strings.Join(methods, " "))
	param("notification_types", strings.Join(w.NotificationTypes, " "))
	if w.Isolated {
		param("isolated", "true")
	}
	param("metadata", string(w.Metadata))
	return b.String()
}

// NormalizeRelayURL checks that s is a ws:// or wss:// URL with a host and returns it
// with a lowercase scheme and host, no trailing slash and no fragment, so relay URLs
// compare equal however they were written.
func NormalizeRelayURL(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err == nil {
		u.Scheme = strings.ToLower(u.Scheme)
	}
	if err != nil || u.Scheme != "ws" && u.Scheme != "wss" || u.Host == "" || u.Opaque != "" || u.User != nil {
		// Quote only up to the query: a mangled URI could have swallowed the secret.
		short, _, _ := strings.Cut(s, "?")
		return "", fmt.Errorf("%w: relay %q is not a ws:// or wss:// URL", ErrInvalidURI, short)
	}
	u.Host = strings.ToLower(u.Host)
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")
	u.Fragment, u.RawFragment = "", ""
	return u.String(), nil
}

// splitURI splits "scheme:[//]host[/][?query][#fragment]" by hand: net/url puts the
// host of the "//"-less form into Opaque and is stricter than the URIs in circulation.
func splitURI(s string) (scheme, host, query string, err error) {
	s = strings.TrimSpace(s)
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok {
		return "", "", "", fmt.Errorf("%w: no scheme", ErrInvalidURI)
	}
	scheme = strings.ToLower(scheme)
	rest = strings.TrimPrefix(rest, "//")
	rest, _, _ = strings.Cut(rest, "#")
	host, query, _ = strings.Cut(rest, "?")
	return scheme, strings.TrimSuffix(host, "/"), query, nil
}

func parseURIPubKey(host string) (nostr.PublicKey, error) {
	var pk nostr.PublicKey
	var err error
	if strings.HasPrefix(host, "npub1") {
		pk, err = nostr.DecodeNpub(host)
	} else {
		pk, err = nostr.ParsePublicKey(host)
	}
	if err != nil {
		return pk, fmt.Errorf("%w: pubkey: %w", ErrInvalidURI, err)
	}
	return pk, nil
}

// forEachParam calls fn for every key=value pair of query, unescaped with unescape.
// A value that fails to unescape is an error for the params this package reads and is
// skipped for any other param (unknown params are ignored, however mangled).
func forEachParam(query string, unescape func(string) (string, error), fn func(key, val string) error) error {
	for query != "" {
		var pair string
		pair, query, _ = strings.Cut(query, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			continue // not a key we know
		}
		val, err := unescape(v)
		if err != nil {
			if knownParams[key] {
				return fmt.Errorf("%w: param %s: bad percent-encoding", ErrInvalidURI, key)
			}
			continue
		}
		if err := fn(key, val); err != nil {
			return err
		}
	}
	return nil
}

var knownParams = map[string]bool{
	"relay": true, "secret": true, "lud16": true, "name": true, "icon": true,
	"return_to": true, "expires_at": true, "max_amount": true, "budget_renewal": true,
	"request_methods": true, "notification_types": true, "isolated": true, "metadata": true,
}

func parseNonNegative(key, val string, dst *int64) error {
	n, err := strconv.ParseInt(val, 10, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("%w: %s must be a non-negative integer", ErrInvalidURI, key)
	}
	*dst = n
	return nil
}

func isJSONObject(s string) bool {
	t := strings.TrimSpace(s)
	return t != "" && t[0] == '{' && json.Valid([]byte(t))
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
