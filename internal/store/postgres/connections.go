package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/nwc-go/nwc/internal/wallet"
	"github.com/nwc-go/nwc/nostr"
)

const connCols = `id, name, client_pubkey, service_pubkey, key_index, scopes, notification_types,
	budget_msat, budget_renewal, expires_at, isolated, metadata, created_at, revoked_at, last_used_at`

// keyIndexLock serialises the choice of key indexes within a schema: two
// instances creating connections at once must not pick the same index.
const keyIndexLock = `SELECT pg_advisory_xact_lock(hashtext('nwc key index ' || COALESCE(current_schema(), '')))`

// CreateConnection stores c. In one transaction (holding the key-index
// lock) it takes the next key index (never reused, first is 1), asks
// serviceKey for the derived service key of that index (nil: c.ServicePubKey
// is used as given) and inserts the row. It sets c.ID, c.KeyIndex,
// c.ServicePubKey and, if zero, c.CreatedAt. wallet.ErrExists: an unrevoked
// connection has the client key, or the service key is taken.
func (s *Store) CreateConnection(ctx context.Context, c *wallet.Connection, serviceKey func(index uint32) (nostr.PublicKey, error)) error {
	if c.ClientPubKey.IsZero() {
		return errors.New("postgres: connection without client key")
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
	err := s.write(ctx, func(tx pgx.Tx) error {
		spk = c.ServicePubKey
		if _, err := tx.Exec(ctx, keyIndexLock); err != nil {
			return fmt.Errorf("postgres: key index lock: %w", err)
		}
		var err error
		if index, err = nextKeyIndex(ctx, tx); err != nil {
			return err
		}
		if serviceKey != nil {
			if spk, err = serviceKey(index); err != nil {
				return fmt.Errorf("postgres: derive service key %d: %w", index, err)
			}
		}
		if spk.IsZero() {
			return errors.New("postgres: connection without service key")
		}
		err = tx.QueryRow(ctx, `INSERT INTO connections (name, client_pubkey, service_pubkey, key_index,
			scopes, notification_types, budget_msat, budget_renewal, expires_at, isolated, metadata, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
			c.Name, c.ClientPubKey.String(), spk.String(), int64(index),
			joinScopes(c.Scopes), strings.Join(c.NotificationTypes, " "),
			int64(c.Budget.Limit), string(renewal), unixArg(c.ExpiresAt), c.Isolated,
			textArg(c.Metadata), created.Unix()).Scan(&id)
		if isUnique(err) {
			return fmt.Errorf("%w: connection for client key %s or service key", wallet.ErrExists, c.ClientPubKey)
		}
		if err != nil {
			return fmt.Errorf("postgres: insert connection: %w", err)
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
	return nextKeyIndex(ctx, s.pool)
}

func nextKeyIndex(ctx context.Context, q querier) (uint32, error) {
	var n int64
	if err := q.QueryRow(ctx, `SELECT COALESCE(MAX(key_index), 0) + 1 FROM connections`).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: next key index: %w", err)
	}
	if n > math.MaxUint32 {
		return 0, errors.New("postgres: key indexes exhausted")
	}
	return uint32(n), nil
}

// ConnectionByID returns the connection with id, or wallet.ErrNotFound.
func (s *Store) ConnectionByID(ctx context.Context, id int64) (*wallet.Connection, error) {
	return s.oneConnection(ctx, `SELECT `+connCols+` FROM connections WHERE id = $1`, id)
}

// ConnectionByClientKey returns the unrevoked connection of the client key,
// else its newest revoked one, else wallet.ErrNotFound.
func (s *Store) ConnectionByClientKey(ctx context.Context, pk nostr.PublicKey) (*wallet.Connection, error) {
	return s.oneConnection(ctx, `SELECT `+connCols+` FROM connections WHERE client_pubkey = $1
		ORDER BY (revoked_at IS NULL) DESC, id DESC LIMIT 1`, pk.String())
}

// ConnectionByServiceKey returns the connection whose derived service key is
// pk (revoked or not), or wallet.ErrNotFound.
func (s *Store) ConnectionByServiceKey(ctx context.Context, pk nostr.PublicKey) (*wallet.Connection, error) {
	return s.oneConnection(ctx, `SELECT `+connCols+` FROM connections WHERE service_pubkey = $1`, pk.String())
}

// ListConnections returns every connection, revoked ones included, by id.
func (s *Store) ListConnections(ctx context.Context) ([]wallet.Connection, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+connCols+` FROM connections ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list connections: %w", err)
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
		return nil, fmt.Errorf("postgres: list connections: %w", err)
	}
	return out, nil
}

// RevokeConnection marks the connection revoked at at; revoking again keeps
// the first time. wallet.ErrNotFound if there is no such connection.
func (s *Store) RevokeConnection(ctx context.Context, id int64, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE connections SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2`,
		orNow(at).Unix(), id)
	return affectedOne(tag, err, "revoke connection")
}

// TouchConnection records a use of the connection at at (kept if older
// than the recorded last use).
func (s *Store) TouchConnection(ctx context.Context, id int64, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE connections SET last_used_at = GREATEST(COALESCE(last_used_at, $1), $1)
		WHERE id = $2`, orNow(at).Unix(), id)
	return affectedOne(tag, err, "touch connection")
}

func affectedOne(tag pgconn.CommandTag, err error, what string) error {
	if err != nil {
		return fmt.Errorf("postgres: %s: %w", what, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w: %s", wallet.ErrNotFound, what)
	}
	return nil
}

func (s *Store) oneConnection(ctx context.Context, q string, args ...any) (*wallet.Connection, error) {
	c, err := scanConnection(s.pool.QueryRow(ctx, q, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%w: connection", wallet.ErrNotFound)
	}
	return c, err
}

func scanConnection(row pgx.Row) (*wallet.Connection, error) {
	var (
		c                        wallet.Connection
		client, service          string
		keyIndex, budget         int64
		scopes, notifs, renewal  string
		meta                     *string
		created                  int64
		expires, revoked, usedAt *int64
	)
	err := row.Scan(&c.ID, &c.Name, &client, &service, &keyIndex, &scopes, &notifs, &budget, &renewal,
		&expires, &c.Isolated, &meta, &created, &revoked, &usedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: scan connection: %w", err)
	}
	if c.ClientPubKey, err = parseKey(client); err != nil {
		return nil, fmt.Errorf("postgres: connection %d client key: %w", c.ID, err)
	}
	if c.ServicePubKey, err = parseKey(service); err != nil {
		return nil, fmt.Errorf("postgres: connection %d service key: %w", c.ID, err)
	}
	c.KeyIndex = uint32(keyIndex)
	for _, f := range strings.Fields(scopes) {
		c.Scopes = append(c.Scopes, wallet.Scope(f))
	}
	c.NotificationTypes = strings.Fields(notifs)
	c.Budget = wallet.Budget{Limit: wallet.MSat(budget), Renewal: wallet.Renewal(renewal)}
	c.ExpiresAt = unixTime(expires)
	if meta != nil {
		c.Metadata = []byte(*meta)
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
