package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// BumpSchemaForTest records a migration version this binary doesn't know.
func (s *Store) BumpSchemaForTest(ctx context.Context, version int) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`, version, time.Now().Unix())
	return err
}

// MigrateToForTest brings the database at url to schema version target
// (0 = just the migrations table), as an older binary would have left it.
func MigrateToForTest(ctx context.Context, url string, target int) error {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return err
	}
	defer pool.Close()
	ms, err := migrations()
	if err != nil {
		return err
	}
	return migrateTo(ctx, pool, ms, target)
}

// MigrationCountForTest is the number of embedded migrations.
func MigrationCountForTest() int {
	ms, err := migrations()
	if err != nil {
		panic(err)
	}
	return len(ms)
}

// SchemaVersionForTest returns the highest applied migration.
func (s *Store) SchemaVersionForTest(ctx context.Context) (int, error) {
	var v int
	err := s.pool.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

// balanceSQL is the definition of an isolated balance, computed from the rows.
const balanceSQL = `SELECT COALESCE(SUM(CASE
		WHEN type = 'incoming' AND state = 'settled' THEN amount_msat
		WHEN type = 'outgoing' AND state = 'settled' THEN -(amount_msat + fees_paid_msat)
		WHEN type = 'outgoing' AND state = 'pending' THEN -(amount_msat + fee_reserve_msat)
		ELSE 0 END), 0)::BIGINT
	FROM transactions WHERE connection_id = $1`

// CheckTotalsForTest compares every connection's running totals with the
// sums over its transactions and returns the first difference.
func (s *Store) CheckTotalsForTest(ctx context.Context) error {
	rows, err := s.pool.Query(ctx, `SELECT id, balance_msat, budget_window_start, budget_used_msat FROM connections`)
	if err != nil {
		return err
	}
	type conn struct {
		id, balance, used int64
		window            *int64
	}
	var conns []conn
	for rows.Next() {
		var c conn
		if err := rows.Scan(&c.id, &c.balance, &c.window, &c.used); err != nil {
			rows.Close()
			return err
		}
		conns = append(conns, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, c := range conns {
		var want int64
		if err := s.pool.QueryRow(ctx, balanceSQL, c.id).Scan(&want); err != nil {
			return err
		}
		if c.balance != want {
			return fmt.Errorf("connection %d: balance counter %d, rows say %d", c.id, c.balance, want)
		}
		if c.window != nil {
			if err := s.pool.QueryRow(ctx, budgetUsedSQL, c.id, *c.window).Scan(&want); err != nil {
				return err
			}
			if c.used != want {
				return fmt.Errorf("connection %d: budget counter %d since %d, rows say %d", c.id, c.used, *c.window, want)
			}
		}
	}
	return nil
}
