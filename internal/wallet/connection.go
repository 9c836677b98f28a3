package wallet

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/nwc-go/nwc/nostr"
)

// Connection is one app's access to the wallet: its own client key, its own
// derived service key, scopes, budget and expiry.
type Connection struct {
	ID                int64
	Name              string
	ClientPubKey      nostr.PublicKey // author of the app's requests
	ServicePubKey     nostr.PublicKey // derived per connection; the app's requests #p-tag it
	KeyIndex          uint32          // child index of the derived service key (never reused)
	Scopes            []Scope
	NotificationTypes []string // empty with ScopeNotifications = all types
	Budget            Budget
	ExpiresAt         time.Time // zero = never
	Isolated          bool      // own balance: spends only what it received
	Metadata          json.RawMessage
	CreatedAt         time.Time
	RevokedAt         time.Time // zero = not revoked
	LastUsedAt        time.Time // zero = never used
}

// HasScope reports whether the connection was granted s.
func (c *Connection) HasScope(s Scope) bool { return slices.Contains(c.Scopes, s) }

// Allows reports whether the connection's scopes permit method (ignoring
// expiry and revocation; see Authorize).
func (c *Connection) Allows(method string) bool {
	if AlwaysAllowed(method) {
		return true
	}
	s, ok := ScopeFor(method)
	return ok && s != "" && c.HasScope(s)
}

// Methods lists the methods the connection may call, in canonical order.
func (c *Connection) Methods() []string { return MethodsFor(c.Scopes) }

// Notifications lists the notification types the connection receives.
func (c *Connection) Notifications() []string {
	if !c.HasScope(ScopeNotifications) {
		return nil
	}
	if len(c.NotificationTypes) == 0 {
		return slices.Clone(AllNotificationTypes)
	}
	return slices.Clone(c.NotificationTypes)
}

// WantsNotification reports whether notifications of typ go to this connection.
func (c *Connection) WantsNotification(typ string) bool {
	return slices.Contains(c.Notifications(), typ)
}

// Revoked reports whether the connection was revoked.
func (c *Connection) Revoked() bool { return !c.RevokedAt.IsZero() }

// Expired reports whether the connection's expiry has passed at now.
func (c *Connection) Expired(now time.Time) bool {
	return !c.ExpiresAt.IsZero() && !now.Before(c.ExpiresAt)
}

// Active reports whether the connection is neither revoked nor expired.
func (c *Connection) Active(now time.Time) bool { return !c.Revoked() && !c.Expired(now) }

// Status names the connection's state at now, as the CLI and the admin page show
// it: "revoked" (which wins over expiry), "expired" or "active".
func (c *Connection) Status(now time.Time) string {
	switch {
	case c.Revoked():
		return "revoked"
	case c.Expired(now):
		return "expired"
	}
	return "active"
}

// Authorize decides, without I/O, whether c may call method at now. It
// returns ErrRevoked, ErrExpired, ErrUnknownMethod or ErrRestricted (wrapped
// with the missing scope), checked in that order. Budget and balance are
// checked by the store's reservation, not here.
func Authorize(c *Connection, method string, now time.Time) error {
	if c == nil {
		return fmt.Errorf("%w: no connection", ErrRestricted)
	}
	if c.Revoked() {
		return ErrRevoked
	}
	if c.Expired(now) {
		return ErrExpired
	}
	s, ok := ScopeFor(method)
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownMethod, method)
	}
	if !c.Allows(method) {
		return fmt.Errorf("%w: this app does not have the %s scope", ErrRestricted, s)
	}
	return nil
}
