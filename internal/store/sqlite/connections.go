package sqlite

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

// CreateConnection stores c. In one write transaction it takes the next key
// index (never reused, first is 1), asks serviceKey for the derived service
// key of that index (nil: c.ServicePubKey is used as given) and inserts the
// row. It sets c.ID, c.KeyIndex, c.ServicePubKey and, if zero, c.CreatedAt.
// wallet.ErrExists: an unrevoked connection has the client key, or the
// service key is taken.
func (s *Store) CreateConnection(ctx context.Context, c *wallet.Connection, serviceKey func(index uint32) (nostr.PublicKey, error)) error {
	if c.ClientPubKey.IsZero() {
		return errors.New("sqlite: connection without client key")
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
		spk   = c.ServicePubKey
	)
	err := s.write(ctx, func(x runner) error {
		var err error
		if index, err = nextKeyIndex(ctx, x); err != nil {
			return err
		}
		if serviceKey != nil {
			if spk, err = serviceKey(index); err != nil {
				return fmt.Errorf("sqlite: derive service key %d: %w", index, err)
			}
		}
		if spk.IsZero() {
			return errors.New("sqlite: connection without service key")
		}
		row, err := x.writeRow(ctx, `INSERT INTO connections (name, client_pubkey, service_pubkey, key_index,
			scopes, notification_types, budget_msat, budget_renewal, expires_at, isolated, metadata, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			c.Name, c.ClientPubKey.String(), spk.String(), int64(index),
			joinScopes(c.Scopes), strings.Join(c.NotificationTypes, " "),
			int64(c.Budget.Limit), string(renewal), unixArg(c.ExpiresAt), boolInt(c.Isolated),
			textArg(c.Metadata), created.Unix())
		if err != nil {
			return err
		}
		if err := row.Scan(&id); err != nil {
			if isUnique(err) {
				return fmt.Errorf("%w: connection for client key %s or service key", wallet.ErrExists, c.ClientPubKey)
			}
			return fmt.Errorf("sqlite: insert connection: %w", err)
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
	return nextKeyIndex(ctx, s.pool())
}

func nextKeyIndex(ctx context.Context, x runner) (uint32, error) {
	row, err := x.queryRow(ctx, `SELECT COALESCE(MAX(key_index), 0) + 1 FROM connections`)
	if err != nil {
		return 0, err
	}
	var n int64
	if err := row.Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: next key index: %w", err)
	}
	if n > math.MaxUint32 {
		return 0, errors.New("sqlite: key indexes exhausted")
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
	if err != nil {
		return nil, fmt.Errorf("sqlite: list connections: %w", err)
	}
	defer rows.Close()
	var out []wallet.Connection
	for rows.Next() {
		c, err := scanConnection(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list connections: %w", err)
	}
	return out, nil
}

// RevokeConnection marks the connection revoked at at; revoking again keeps
// the first time. wallet.ErrNotFound if there is no such connection.
func (s *Store) RevokeConnection(ctx context.Context, id int64, at time.Time) error {
	res, err := s.pool().exec(ctx, `UPDATE connections SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`,
		orNow(at).Unix(), id)
	return affectedOne(res, err, "revoke connection")
}

// TouchConnection records a use of the connection at at (kept if older
// than the recorded last use).
func (s *Store) TouchConnection(ctx context.Context, id int64, at time.Time) error {
	t := orNow(at).Unix()
	res, err := s.pool().exec(ctx, `UPDATE connections SET last_used_at =
		CASE WHEN last_used_at IS NULL OR last_used_at < ? THEN ? ELSE last_used_at END WHERE id = ?`, t, t, id)
	return affectedOne(res, err, "touch connection")
}

func affectedOne(res sql.Result, err error, what string) error {
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%w: %s", wallet.ErrNotFound, what)
	}
	return nil
}

func (s *Store) oneConnection(ctx context.Context, q string, args ...any) (*wallet.Connection, error) {
	row, err := s.pool().queryRow(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	c, err := scanConnection(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: connection", wallet.ErrNotFound)
	}
	return c, err
}

type scanner interface{ Scan(dest ...any) error }

func scanConnection(sc scanner) (*wallet.Connection, error) {
	var (
		c                        wallet.Connection
		client, service          string
		keyIndex, budget         int64
		scopes, notifs, renewal  string
		isolated                 int64
		meta                     sql.NullString
		created                  int64
		expires, revoked, usedAt sql.NullInt64
	)
	err := sc.Scan(&c.ID, &c.Name, &client, &service, &keyIndex, &scopes, &notifs, &budget, &renewal,
		&expires, &isolated, &meta, &created, &revoked, &usedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: scan connection: %w", err)
	}
	if c.ClientPubKey, err = parseKey(client); err != nil {
		return nil, fmt.Errorf("sqlite: connection %d client key: %w", c.ID, err)
	}
	if c.ServicePubKey, err = parseKey(service); err != nil {
		return nil, fmt.Errorf("sqlite: connection %d service key: %w", c.ID, err)
	}
	c.KeyIndex = uint32(keyIndex)
	for _, f := range strings.Fields(scopes) {
		c.Scopes = append(c.Scopes, wallet.Scope(f))
	}
	c.NotificationTypes = strings.Fields(notifs)
	c.Budget = wallet.Budget{Limit: wallet.MSat(budget), Renewal: wallet.Renewal(renewal)}
	c.ExpiresAt = unixTime(expires)
	c.Isolated = isolated != 0
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
