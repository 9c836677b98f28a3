package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// BumpSchemaForTest records a migration version this binary doesn't know.
func (s *Store) BumpSchemaForTest(ctx context.Context, version int) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, version, time.Now().Unix())
	return err
}

// balanceSQL is the definition of an isolated balance, computed from the rows.
const balanceSQL = `SELECT COALESCE(SUM(CASE
		WHEN type = 'incoming' AND state = 'settled' THEN amount_msat
		WHEN type = 'outgoing' AND state = 'settled' THEN -(amount_msat + fees_paid_msat)
		WHEN type = 'outgoing' AND state = 'pending' THEN -(amount_msat + fee_reserve_msat)
		ELSE 0 END), 0)
	FROM transactions WHERE connection_id = ?`

// CheckTotalsForTest compares every connection's running totals with the
// sums over its transactions and returns the first difference.
func (s *Store) CheckTotalsForTest(ctx context.Context) error {
	rows, err := s.r.QueryContext(ctx, `SELECT id, balance_msat, budget_window_start, budget_used_msat FROM connections`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id, balance, used int64
			window            sql.NullInt64
			want              int64
		)
		if err := rows.Scan(&id, &balance, &window, &used); err != nil {
			return err
		}
		if err := s.r.QueryRowContext(ctx, balanceSQL, id).Scan(&want); err != nil {
			return err
		}
		if balance != want {
			return fmt.Errorf("connection %d: balance counter %d, rows say %d", id, balance, want)
		}
		if window.Valid {
			if err := s.r.QueryRowContext(ctx, budgetUsedSQL, id, window.Int64).Scan(&want); err != nil {
				return err
			}
			if used != want {
				return fmt.Errorf("connection %d: budget counter %d since %d, rows say %d", id, used, window.Int64, want)
			}
		}
	}
	return rows.Err()
}
