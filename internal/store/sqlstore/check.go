package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
)

// balanceSQL is the definition of an isolated balance, computed from the rows.
const balanceSQL = `SELECT CAST(COALESCE(SUM(CASE
		WHEN type = 'incoming' AND state = 'settled' THEN amount_msat
		WHEN type = 'outgoing' AND state = 'settled' THEN -(amount_msat + fees_paid_msat)
		WHEN type = 'outgoing' AND state = 'pending' THEN -(amount_msat + fee_reserve_msat)
		ELSE 0 END), 0) AS BIGINT)
	FROM transactions WHERE connection_id = ?`

// CheckTotals compares every connection's running totals (balance, budget
// used in its window) with the sums over its transactions, their
// definition, and returns the first difference. The tests run it after
// every change; it reads every row, so it is not for the hot path.
func (s *Store) CheckTotals(ctx context.Context) error {
	rows, err := s.pool().query(ctx, `SELECT id, balance_msat, budget_window_start, budget_used_msat FROM connections`)
	if err != nil {
		return err
	}
	type conn struct {
		id, balance, used int64
		window            sql.NullInt64
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
		if err := s.pool().queryRow(ctx, balanceSQL, c.id).Scan(&want); err != nil {
			return err
		}
		if c.balance != want {
			return fmt.Errorf("connection %d: balance counter %d, rows say %d", c.id, c.balance, want)
		}
		if c.window.Valid {
			if err := s.pool().queryRow(ctx, budgetUsedSQL, c.id, c.window.Int64).Scan(&want); err != nil {
				return err
			}
			if c.used != want {
				return fmt.Errorf("connection %d: budget counter %d since %d, rows say %d", c.id, c.used, c.window.Int64, want)
			}
		}
	}
	return nil
}
