// Package nwa serves app-initiated connections (Nostr Wallet Auth, a nostr+walletauth URI,
// ../../../shared/NIP47.md §2.2): it turns what the app asks for into a connection to show
// on a confirmation screen, creates that connection for the app's own key, records the
// app's relays so the service listens there too, builds and publishes the info event the
// app waits for, and builds the return_to URL. See docs/nwa.md.
package nwa

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nwc-go/nwc/internal/keyring"
	"github.com/nwc-go/nwc/internal/wallet"
	"github.com/nwc-go/nwc/nip47"
	"github.com/nwc-go/nwc/nostr"
)

var (
	// ErrInvalid: the URI is not a usable walletauth request (wraps the reason).
	ErrInvalid = errors.New("nwa: invalid walletauth request")
	// ErrAlreadyConnected: the app's key already has a live connection.
	ErrAlreadyConnected = errors.New("nwa: this app key already has a connection")
)

// DefaultMethods are granted when the URI names no request_methods: reading and receiving,
// never spending without being asked.
var DefaultMethods = []string{
	wallet.MethodGetInfo, wallet.MethodGetBalance, wallet.MethodMakeInvoice,
	wallet.MethodLookupInvoice, wallet.MethodListTransactions,
}

// DefaultName names an app that did not say its name.
const DefaultName = "NWA app"

const maxNameRunes = 100

// Request is a walletauth URI checked and turned into the connection it would create.
type Request struct {
	URI               *nip47.WalletAuthURI
	Name              string
	Icon              string // http(s) URL or ""
	Methods           []string
	Scopes            []wallet.Scope
	NotificationTypes []string // nil = no notifications
	Budget            wallet.Budget
	ExpiresAt         time.Time // zero = never
	Isolated          bool
	Metadata          json.RawMessage
	ReturnTo          string   // http(s) URL or "" (other schemes are not followed)
	Notes             []string // what was left out or defaulted, for the confirmation screen
}

// Parse reads a walletauth URI and checks what it asks for. Errors wrap ErrInvalid and say
// what is wrong in words a user can act on.
func Parse(raw string, now time.Time) (*Request, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, fmt.Errorf("%w: empty; paste a nostr+walletauth:// URI", ErrInvalid)
	}
	u, err := nip47.ParseWalletAuthURI(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	r := &Request{URI: u, Isolated: u.Isolated}
	r.Name = cleanName(u.Name)
	if r.Name == "" {
		r.Name = DefaultName
	}
	if u.WalletName != "" {
		r.Notes = append(r.Notes, fmt.Sprintf("The URI is addressed to the wallet %q; this wallet can serve it too.", u.WalletName))
	}
	if isHTTP(u.Icon) {
		r.Icon = u.Icon
	}

	methods := make([]string, 0, len(u.RequestMethods))
	for _, m := range u.RequestMethods {
		methods = append(methods, string(m))
	}
	if len(methods) == 0 {
		methods = slices.Clone(DefaultMethods)
		r.Notes = append(r.Notes, "The app did not list request_methods: it gets read and receive methods only.")
	}
	for _, m := range methods {
		if m == wallet.MethodCreateConnection {
			return nil, fmt.Errorf("%w: create_connection cannot be granted to an app", ErrInvalid)
		}
		if _, ok := wallet.ScopeFor(m); !ok {
			return nil, fmt.Errorf("%w: unknown method %q in request_methods", ErrInvalid, m)
		}
	}
	for _, n := range u.NotificationTypes {
		if !slices.Contains(wallet.AllNotificationTypes, n) {
			return nil, fmt.Errorf("%w: unknown notification type %q in notification_types", ErrInvalid, n)
		}
	}
	scopeNames := slices.Clone(methods)
	if len(u.NotificationTypes) > 0 {
		scopeNames = append(scopeNames, string(wallet.ScopeNotifications))
		r.NotificationTypes = slices.Clone(u.NotificationTypes)
	}
	if r.Scopes, err = wallet.ParseScopes(scopeNames); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	r.Methods = wallet.MethodsFor(r.Scopes)

	switch {
	case u.MaxAmount > 0:
		renewal := wallet.RenewalNever
		if u.BudgetRenewal != "" {
			renewal = wallet.Renewal(u.BudgetRenewal)
		}
		r.Budget = wallet.Budget{Limit: wallet.MSat(u.MaxAmount), Renewal: renewal}
	case u.BudgetRenewal != "" && u.BudgetRenewal != nip47.BudgetRenewalNever:
		r.Notes = append(r.Notes, "budget_renewal without max_amount: no budget applies.")
	}
	if slices.Contains(r.Methods, wallet.MethodPayInvoice) && !r.Budget.Enabled() {
		r.Notes = append(r.Notes, "No budget: the app may spend the whole balance.")
	}
	if u.ExpiresAt > 0 {
		r.ExpiresAt = time.Unix(u.ExpiresAt, 0)
		if !r.ExpiresAt.After(now) {
			return nil, fmt.Errorf("%w: expires_at %s is in the past", ErrInvalid, r.ExpiresAt.UTC().Format(time.RFC3339))
		}
	}
	if len(u.Metadata) > nip47.MaxMetadataSize {
		r.Notes = append(r.Notes, fmt.Sprintf("metadata larger than %d bytes is dropped.", nip47.MaxMetadataSize))
	} else {
		r.Metadata = u.Metadata
	}
	if u.ReturnTo != "" {
		if isHTTP(u.ReturnTo) {
			r.ReturnTo = u.ReturnTo
		} else {
			r.Notes = append(r.Notes, "return_to is not an http(s) URL: it is not followed.")
		}
	}
	return r, nil
}

// cleanName keeps a name printable and short.
func cleanName(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > maxNameRunes {
		s = string([]rune(s)[:maxNameRunes])
	}
	return s
}

func isHTTP(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// Connection is the connection r asks for, bound to the app's key.
func (r *Request) Connection(now time.Time) *wallet.Connection {
	return &wallet.Connection{
		Name: r.Name, ClientPubKey: r.URI.ClientPubKey, Scopes: slices.Clone(r.Scopes),
		NotificationTypes: slices.Clone(r.NotificationTypes), Budget: r.Budget,
		ExpiresAt: r.ExpiresAt, Isolated: r.Isolated, Metadata: r.Metadata, CreatedAt: now,
	}
}

// Store is what creating an NWA connection needs (internal/store/sqlite implements it).
type Store interface {
	CreateConnection(ctx context.Context, c *wallet.Connection, serviceKey func(index uint32) (nostr.PublicKey, error)) error
	ListConnections(ctx context.Context) ([]wallet.Connection, error)
	NextKeyIndex(ctx context.Context) (uint32, error)
	GetSetting(ctx context.Context, key string) (string, error)
	PutSetting(ctx context.Context, key, value string) error
}

// settingRelays + client key hex holds the relays an app asked for. It is written before
// the connection, so whoever sees the connection also sees its relays.
const settingRelays = "nwa_relays:"

// Create records the app's relays and stores the connection r asks for, with a service key
// derived from keys. ErrAlreadyConnected if the app's key has a live connection.
func Create(ctx context.Context, st Store, keys *keyring.Keyring, r *Request, now time.Time) (*wallet.Connection, error) {
	if err := st.PutSetting(ctx, settingRelays+r.URI.ClientPubKey.String(), strings.Join(r.URI.Relays, " ")); err != nil {
		return nil, err
	}
	c := r.Connection(now)
	err := st.CreateConnection(ctx, c, func(i uint32) (nostr.PublicKey, error) { return keys.Derive(i).Public(), nil })
	if errors.Is(err, wallet.ErrExists) {
		return nil, fmt.Errorf("%w (revoke it first to approve again): %w", ErrAlreadyConnected, err)
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// RelaysOf returns the relays recorded for an NWA connection's app (nil for other
// connections).
func RelaysOf(ctx context.Context, st Store, c *wallet.Connection) ([]string, error) {
	v, err := st.GetSetting(ctx, settingRelays+c.ClientPubKey.String())
	if errors.Is(err, wallet.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return strings.Fields(v), nil
}

// encryptions the service speaks, in order of preference (as internal/service announces).
var encryptions = []nip47.Encryption{nip47.EncryptionNIP44, nip47.EncryptionNIP04}

// InfoEvent builds a connection's info event without a running service (the offline
// `nwc connect approve`): the connection's methods, both encryptions, and the p tag. The
// service announces its own version, limited to what its backend can do, when it runs.
func InfoEvent(keys *keyring.Keyring, c *wallet.Connection, now time.Time) (*nostr.Event, error) {
	var methods []nip47.Method
	for _, m := range c.Methods() {
		methods = append(methods, nip47.Method(m))
	}
	client := c.ClientPubKey
	return nip47.InfoEvent(keys.Derive(c.KeyIndex), methods, c.Notifications(), encryptions, &client, now)
}

// ReturnURL is returnTo with the parameters Alby Hub appends after an approval: one relay
// per relay, pubkey (the wallet service key) and lud16 when known. "" if returnTo is not an
// http(s) URL.
func ReturnURL(returnTo string, relays []string, walletPubKey nostr.PublicKey, lud16 string) string {
	u, err := url.Parse(returnTo)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	q := u.Query()
	for _, r := range relays {
		q.Add("relay", r)
	}
	q.Set("pubkey", walletPubKey.String())
	if lud16 != "" {
		q.Set("lud16", lud16)
	}
	u.RawQuery = q.Encode()
	return u.String()
}
