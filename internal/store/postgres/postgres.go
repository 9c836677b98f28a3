// Package postgres is the store for several wallet service instances sharing
// one PostgreSQL database. It implements the same API and passes the same
// conformance suite (internal/store/storetest) as the SQLite store: the
// store logic is internal/store/sqlstore's, on a pgx pool; this package
// connects and supplies the PostgreSQL dialect.
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
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/nwc-go/nwc/internal/store/sqlstore"
)

// defaultMaxConns bounds each instance's pool unless the URL says otherwise
// (pool_max_conns=N): the service runs up to 256 requests at once, but every
// store call is short.
const defaultMaxConns = 16

// ErrBadURL: the database URL does not parse.
var ErrBadURL = errors.New("postgres: the database URL does not parse (expected postgres://user:password@host:port/database?sslmode=...)")

//go:embed migrations/*.sql
var migrationFS embed.FS

// ErrSchemaTooNew: the database was migrated by a newer nwc than this one.
var ErrSchemaTooNew = errors.New("postgres: database schema is newer than this binary")

// lockKey names the session advisory lock that serialises migrations of one
// schema: instances starting at once take turns, the later ones find the
// work done. Other schemas of the same database are not held up.
const lockKey = `hashtext('nwc migrate ' || COALESCE(current_schema(), ''))`

// dialect: read-committed write transactions that lock the rows they
// change (FOR NO KEY UPDATE: the lock UPDATE takes, which does not wait for
// the key-share locks of foreign keys, so inserts of requests and invoices
// of a connection go on while its row is locked), retried when PostgreSQL
// aborts one to break a deadlock or a serialization conflict.
var dialect = sqlstore.Dialect{
	Name:           "postgres",
	NumberedParams: true,
	LockRows:       ` FOR NO KEY UPDATE`,
	// Two instances creating connections at once must not pick the same index.
	KeyIndexLock: `SELECT pg_advisory_xact_lock(hashtext('nwc key index ' || COALESCE(current_schema(), '')))`,
	// SQLSTATE 23505 unique_violation, 23503 foreign_key_violation,
	// 40P01 deadlock_detected, 40001 serialization_failure.
	IsUnique:     func(err error) bool { return pgCode(err) == "23505" },
	IsForeignKey: func(err error) bool { return pgCode(err) == "23503" },
	Retryable:    func(err error) bool { c := pgCode(err); return c == "40P01" || c == "40001" },
	Migrations:   migrationFS,
	SchemaTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at BIGINT  NOT NULL
	)`,
	MigrationLock:   migrationLock,
	ErrSchemaTooNew: ErrSchemaTooNew,
}

// Store is the PostgreSQL store. It is safe for concurrent use.
type Store struct {
	*sqlstore.Store
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
	pool, err := connect(ctx, url)
	if err != nil {
		return nil, err
	}
	if err := migrateTo(ctx, pool, -1); err != nil {
		pool.Close()
		return nil, err
	}
	return &Store{Store: sqlstore.New(&dialect, newPgxDB(pool)), pool: pool}, nil
}

// connect opens a pool on url.
func connect(ctx context.Context, url string) (*pgxpool.Pool, error) {
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
	return pool, nil
}

// migrateTo brings the schema to version target (-1: the latest). The
// migrations run once per start, through database/sql (pgx's stdlib) on
// the pool, as sqlstore applies them for both stores.
func migrateTo(ctx context.Context, pool *pgxpool.Pool, target int) error {
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	if target < 0 {
		return sqlstore.Migrate(ctx, &dialect, db)
	}
	return sqlstore.MigrateTo(ctx, &dialect, db, target)
}

// migrationLock takes the session advisory lock of the schema on conn.
func migrationLock(ctx context.Context, conn *sql.Conn) (unlock func(), err error) {
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(`+lockKey+`)`); err != nil {
		return nil, err
	}
	return func() {
		// Unlock even if ctx ended; if that fails, closing the session frees the lock.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := conn.ExecContext(uctx, `SELECT pg_advisory_unlock(`+lockKey+`)`); err != nil {
			conn.Raw(func(dc any) error { //nolint:errcheck // the connection is discarded either way
				dc.(*stdlib.Conn).Conn().Close(uctx)
				return driver.ErrBadConn
			})
		}
	}, nil
}

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}
