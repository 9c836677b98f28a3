// Package postgres is the store for several wallet service instances sharing
// one PostgreSQL database. It implements the same API and passes the same
// conformance suite (internal/store/storetest) as the SQLite store.
//
// Exactly once across instances: a request's event id is inserted with
// ON CONFLICT DO NOTHING (the one instance whose insert lands executes it),
// and a payment reservation locks its connection row (SELECT ... FOR NO KEY
// UPDATE) before it checks the budget and balance, so reservations of one
// connection serialise whichever instance makes them, and no interleaving
// can overspend. Row changes that move a connection's running totals update
// that row in the same transaction. Migrations are embedded, forward-only and
// applied under an advisory lock, so instances starting at once are safe.
package postgres

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nwc-go/nwc/nostr"
)

// defaultMaxConns bounds each instance's pool unless the URL says otherwise
// (pool_max_conns=N): the service runs up to 256 requests at once, but every
// store call is short.
const defaultMaxConns = 16

// ErrBadURL: the database URL does not parse.
var ErrBadURL = errors.New("postgres: the database URL does not parse (expected postgres://user:password@host:port/database?sslmode=...)")

// Store is the PostgreSQL store. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
}

// IsURL reports whether dsn names a PostgreSQL database (postgres:// or
// postgresql://) rather than a SQLite file.
func IsURL(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open connects to the database at url (postgres://user:pass@host:port/db?...;
// libpq parameters such as sslmode, search_path and pgx's pool_max_conns are
// honoured) and applies pending migrations.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The parse error quotes the URL, password included (pgx redacts on a
		// best-effort basis only): say nothing of it.
		return nil, ErrBadURL
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = defaultMaxConns
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "nwc"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return &Store{pool: pool}, nil
}

// Close closes the pool; it waits for connections in use to be returned.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// querier is what the pool and a transaction have in common.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// maxAttempts bounds retries of a write transaction that PostgreSQL aborted
// to break a deadlock or a serialization conflict.
const maxAttempts = 5

// write runs fn in one read-committed transaction, retrying it when
// PostgreSQL picked it as a deadlock victim. fn must assign (not
// accumulate) whatever it reports to the caller.
func (s *Store) write(ctx context.Context, fn func(tx pgx.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := pgx.BeginFunc(ctx, s.pool, fn)
		if err == nil || attempt == maxAttempts || !retryable(err) || ctx.Err() != nil {
			return err
		}
	}
}

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// SQLSTATE classes: 23505 unique_violation, 23503 foreign_key_violation,
// 40P01 deadlock_detected, 40001 serialization_failure.
func isUnique(err error) bool     { return pgCode(err) == "23505" }
func isForeignKey(err error) bool { return pgCode(err) == "23503" }
func retryable(err error) bool    { c := pgCode(err); return c == "40P01" || c == "40001" }

// Time and NULL helpers: times are unix seconds, zero values are NULL.

func unixArg(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	v := t.Unix()
	return &v
}

func unixTime(n *int64) time.Time {
	if n == nil {
		return time.Time{}
	}
	return time.Unix(*n, 0).UTC()
}

func idArg(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

func textArg(b []byte) *string {
	if len(b) == 0 {
		return nil
	}
	s := string(b)
	return &s
}

func orNow(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now()
	}
	return t
}

// parseKey decodes a stored hex key without the curve check of
// nostr.ParsePublicKey: stored keys were validated when they came in.
func parseKey(s string) (nostr.PublicKey, error) {
	var pk nostr.PublicKey
	if len(s) != 2*len(pk) {
		return pk, fmt.Errorf("postgres: stored key %q has wrong length", s)
	}
	if _, err := hex.Decode(pk[:], []byte(s)); err != nil {
		return pk, fmt.Errorf("postgres: stored key: %w", err)
	}
	return pk, nil
}
