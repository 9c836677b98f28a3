package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/nwc-go/nwc/internal/wallet"
	"github.com/nwc-go/nwc/nostr"
)

const connCols = `id, name, client_pubkey, service_pubkey, key_index, scopes, notification_types,
	budget_msat, budget_renewal, expires_at, isolated, metadata, created_at, revoked_at, last_used_at`

// CreateConnection stores c. In one write transaction (holding the
// dialect's key-index lock) it takes the next key index (never reused,
// first is 1), asks serviceKey for the derived service key of that index
// (nil: c.ServicePubKey is used as given) and inserts the row. It sets c.ID,
// c.KeyIndex, c.ServicePubKey and, if zero, c.CreatedAt. wallet.ErrExists:
// an unrevoked connection has the client key, or the service key is taken.
func (s *Store) CreateConnection(ctx context.Context, c *wallet.Connection, serviceKey func(index uint32) (nostr.PublicKey, error)) error {
	if c.ClientPubKey.IsZero() {
		return s.d.errorf("connection without client key")
	}
	renewal := c.Budget.Renewal
	if renewal == "" {
		renewal = wallet.RenewalNever
	}
	if !renewal.Valid() || c.Budget.Limit < 0 {
		return fmt.Errorf("%w: %v", wallet.ErrInvalidBudget, c.Budget)
	}
	created := orNow(c.CreatedAt).Truncate(time.Second)
	var (
		id    int64
		index uint32
		spk   nostr.PublicKey
	)
	err := s.write(ctx, func(x runner) error {
		spk = c.ServicePubKey
		if s.d.KeyIndexLock != "" {
			if _, err := x.exec(ctx, s.d.KeyIndexLock); err != nil {
				return s.d.errorf("key index lock: %w", err)
			}
		}
		var err error
		if index, err = s.nextKeyIndex(ctx, x); err != nil {
			return err
		}
		if serviceKey != nil {
			if spk, err = serviceKey(index); err != nil {
				return s.d.errorf("derive service key %d: %w", index, err)
			}
		}
		if spk.IsZero() {
			return s.d.errorf("connection without service key")
		}
		row := x.queryRow(ctx, `INSERT INTO connections (name, client_pubkey, service_pubkey, key_index,
			scopes, notification_types, budget_msat, budget_renewal, expires_at, isolated, metadata, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			c.Name, c.ClientPubKey.String(), spk.String(), int64(index),
			joinScopes(c.Scopes), strings.Join(c.NotificationTypes, " "),
			int64(c.Budget.Limit), string(renewal), unixArg(c.ExpiresAt), c.Isolated,
			textArg(c.Metadata), created.Unix())
		if err := row.Scan(&id); err != nil {
			if s.d.isUnique(err) {
				return fmt.Errorf("%w: connection for client key %s or service key", wallet.ErrExists, c.ClientPubKey)
			}
			return s.d.errorf("insert connection: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.ID, c.KeyIndex, c.ServicePubKey, c.CreatedAt = id, index, spk, created.UTC()
	if c.Budget.Renewal == "" {
		c.Budget.Renewal = renewal
	}
	return nil
}

// NextKeyIndex returns the key index the next CreateConnection will take
// (unless another one is created first).
func (s *Store) NextKeyIndex(ctx context.Context) (uint32, error) {
	return s.nextKeyIndex(ctx, s.pool())
}

func (s *Store) nextKeyIndex(ctx context.Context, x runner) (uint32, error) {
	row := x.queryRow(ctx, `SELECT COALESCE(MAX(key_index), 0) + 1 FROM connections`)
	var n int64
	if err := row.Scan(&n); err != nil {
		return 0, s.d.errorf("next key index: %w", err)
	}
	if n > math.MaxUint32 {
		return 0, s.d.errorf("key indexes exhausted")
	}
	return uint32(n), nil
}

// ConnectionByID returns the connection with id, or wallet.ErrNotFound.
func (s *Store) ConnectionByID(ctx context.Context, id int64) (*wallet.Connection, error) {
	return s.oneConnection(ctx, `SELECT `+connCols+` FROM connections WHERE id = ?`, id)
}

// ConnectionByClientKey returns the unrevoked connection of the client key,
// else its newest revoked one, else wallet.ErrNotFound.
func (s *Store) ConnectionByClientKey(ctx context.Context, pk nostr.PublicKey) (*wallet.Connection, error) {
	return s.oneConnection(ctx, `SELECT `+connCols+` FROM connections WHERE client_pubkey = ?
		ORDER BY (revoked_at IS NULL) DESC, id DESC LIMIT 1`, pk.String())
}

// ConnectionByServiceKey returns the connection whose derived service key is
// pk (revoked or not), or wallet.ErrNotFound.
func (s *Store) ConnectionByServiceKey(ctx context.Context, pk nostr.PublicKey) (*wallet.Connection, error) {
	return s.oneConnection(ctx, `SELECT `+connCols+` FROM connections WHERE service_pubkey = ?`, pk.String())
}

// ListConnections returns every connection, revoked ones included, by id.
func (s *Store) ListConnections(ctx context.Context) ([]wallet.Connection, error) {
	rows, err := s.pool().query(ctx, `SELECT `+connCols+` FROM connections ORDER BY id`)
	return collect(s, rows, err, "list connections", s.scanConnection)
}

// ConnectionsVersion changes whenever a connection is created, revoked or
// deleted: connections are otherwise immutable (last use aside), so a caller
// that keeps a copy of the list reloads it only when this changes. One
// aggregate over the table instead of reading every row.
func (s *Store) ConnectionsVersion(ctx context.Context) (string, error) {
	var n, maxID, revoked int64
	err := s.pool().queryRow(ctx, `SELECT COUNT(*), COALESCE(MAX(id), 0), COUNT(revoked_at) FROM connections`).Scan(&n, &maxID, &revoked)
	if err != nil {
		return "", s.d.errorf("connections version: %w", err)
	}
	return fmt.Sprintf("%d:%d:%d", n, maxID, revoked), nil
}

// RevokeConnection marks the connection revoked at at; revoking again keeps
// the first time. wallet.ErrNotFound if there is no such connection.
func (s *Store) RevokeConnection(ctx context.Context, id int64, at time.Time) error {
	n, err := s.pool().exec(ctx, `UPDATE connections SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`,
		orNow(at).Unix(), id)
	return s.affectedOne(n, err, "revoke connection")
}

// TouchConnection records a use of the connection at at (kept if older
// than the recorded last use).
func (s *Store) TouchConnection(ctx context.Context, id int64, at time.Time) error {
	t := orNow(at).Unix()
	n, err := s.pool().exec(ctx, `UPDATE connections SET last_used_at =
		CASE WHEN last_used_at IS NULL OR last_used_at < ? THEN ? ELSE last_used_at END WHERE id = ?`, t, t, id)
	return s.affectedOne(n, err, "touch connection")
}

func (s *Store) affectedOne(n int64, err error, what string) error {
	if err != nil {
		return s.d.errorf("%s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%w: %s", wallet.ErrNotFound, what)
	}
	return nil
}

func (s *Store) oneConnection(ctx context.Context, q string, args ...any) (*wallet.Connection, error) {
	row := s.pool().queryRow(ctx, q, args...)
	c, err := s.scanConnection(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: connection", wallet.ErrNotFound)
	}
	return c, err
}

type scanner interface{ Scan(dest ...any) error }

func (s *Store) scanConnection(sc scanner) (*wallet.Connection, error) {
	var (
		c                        wallet.Connection
		client, service          string
		keyIndex, budget         int64
		scopes, notifs, renewal  string
		meta                     sql.NullString
		created                  int64
		expires, revoked, usedAt sql.NullInt64
	)
	err := sc.Scan(&c.ID, &c.Name, &client, &service, &keyIndex, &scopes, &notifs, &budget, &renewal,
		&expires, &c.Isolated, &meta, &created, &revoked, &usedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	if err != nil {
		return nil, s.d.errorf("scan connection: %w", err)
	}
	if c.ClientPubKey, err = s.d.parseKey(client); err != nil {
		return nil, s.d.errorf("connection %d client key: %w", c.ID, err)
	}
	if c.ServicePubKey, err = s.d.parseKey(service); err != nil {
		return nil, s.d.errorf("connection %d service key: %w", c.ID, err)
	}
	c.KeyIndex = uint32(keyIndex)
	for _, f := range strings.Fields(scopes) {
		c.Scopes = append(c.Scopes, wallet.Scope(f))
	}
	c.NotificationTypes = strings.Fields(notifs)
	c.Budget = wallet.Budget{Limit: wallet.MSat(budget), Renewal: wallet.Renewal(renewal)}
	c.ExpiresAt = unixTime(expires)
	if meta.Valid {
		c.Metadata = []byte(meta.String)
	}
	c.CreatedAt = time.Unix(created, 0).UTC()
	c.RevokedAt = unixTime(revoked)
	c.LastUsedAt = unixTime(usedAt)
	return &c, nil
}

func joinScopes(sc []wallet.Scope) string {
	parts := make([]string, len(sc))
	for i, s := range sc {
		parts[i] = string(s)
	}
	return strings.Join(parts, " ")
}
