package server

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nwc-go/nwc/internal/keyring"
	"github.com/nwc-go/nwc/internal/store"
	"github.com/nwc-go/nwc/internal/wallet"
	"github.com/nwc-go/nwc/nip47"
	"github.com/nwc-go/nwc/nostr"
)

// DefaultMethods is what a new connection may do unless told otherwise.
const DefaultMethods = "pay_invoice,make_invoice,lookup_invoice,list_transactions,get_balance,get_info"

// ConnectionOptions describe a connection to create.
type ConnectionOptions struct {
	Name          string
	Methods       string
	Budget        string
	Expires       string
	Isolated      bool
	Notifications bool
	Relays        []string
}

// parseExpiry accepts a duration like 30d, 12h, 90m or an RFC 3339 time; "" is never.
func parseExpiry(s string, now time.Time) (time.Time, error) {
	if s == "" || s == "never" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		if !t.After(now) {
			return time.Time{}, fmt.Errorf("bad --expires %q: the time has passed", s)
		}
		return t, nil
	}
	if strings.HasSuffix(s, "d") {
		// At most 100 years: more days than that would overflow a time.Duration.
		n, err := strconv.Atoi(strings.TrimSuffix(s, "d"))
		if err != nil || n <= 0 || n > 36_500 {
			return time.Time{}, fmt.Errorf("bad --expires %q: want e.g. 30d (at most 36500d), 12h or an RFC 3339 time", s)
		}
		return now.Add(time.Duration(n) * 24 * time.Hour), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return time.Time{}, fmt.Errorf("bad --expires %q: want e.g. 30d, 12h or an RFC 3339 time", s)
	}
	return now.Add(d), nil
}

// NewConnection stores a new connection with a fresh client key and returns its URI.
// The client secret exists only in the returned URI: it is never stored.
func NewConnection(ctx context.Context, st store.Store, keys *keyring.Keyring, o ConnectionOptions) (*wallet.Connection, *nip47.ConnectionURI, error) {
	now := time.Now()
	if strings.TrimSpace(o.Name) == "" {
		return nil, nil, errors.New("--name is required")
	}
	methods := o.Methods
	if methods == "" {
		methods = DefaultMethods
	}
	names := strings.FieldsFunc(methods, func(r rune) bool { return r == ',' || r == ' ' })
	if o.Notifications {
		names = append(names, string(wallet.ScopeNotifications))
	}
	scopes, err := wallet.ParseScopes(names)
	if err != nil {
		return nil, nil, fmt.Errorf("bad --methods: %w", err)
	}
	var budget wallet.Budget
	if o.Budget != "" {
		if budget, err = wallet.ParseBudget(o.Budget); err != nil {
			return nil, nil, fmt.Errorf("bad --budget %q: %w (want e.g. 50000sat/monthly)", o.Budget, err)
		}
	}
	expires, err := parseExpiry(o.Expires, now)
	if err != nil {
		return nil, nil, err
	}
	relays := o.Relays
	if len(relays) == 0 {
		relays, err = RecordedRelays(ctx, st)
		if err != nil {
			return nil, nil, err
		}
	}
	for i, r := range relays {
		if relays[i], err = nip47.NormalizeRelayURL(r); err != nil {
			return nil, nil, fmt.Errorf("bad relay %q: %w", r, err)
		}
	}
	client := nostr.GenerateSecretKey()
	c := &wallet.Connection{
		Name: strings.TrimSpace(o.Name), ClientPubKey: client.Public(), Scopes: scopes,
		Budget: budget, ExpiresAt: expires, Isolated: o.Isolated, CreatedAt: now,
	}
	err = st.CreateConnection(ctx, c, func(i uint32) (nostr.PublicKey, error) { return keys.Derive(i).Public(), nil })
	if err != nil {
		return nil, nil, err
	}
	return c, &nip47.ConnectionURI{WalletPubKey: c.ServicePubKey, Relays: relays, Secret: client}, nil
}

// RecordedRelays are the relays the service announced in its last run, else the default
// embedded relay address.
func RecordedRelays(ctx context.Context, st store.Store) ([]string, error) {
	v, err := st.GetSetting(ctx, SettingRelays)
	if errors.Is(err, wallet.ErrNotFound) || v == "" {
		return []string{"ws://" + DefaultRelayListen}, nil
	}
	if err != nil {
		return nil, err
	}
	return strings.Split(v, " "), nil
}
