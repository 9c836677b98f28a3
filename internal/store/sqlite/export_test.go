package sqlite

import (
	"context"
	"time"
)

// BumpSchemaForTest records a migration version this binary doesn't know.
func (s *Store) BumpSchemaForTest(ctx context.Context, version int) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, version, time.Now().Unix())
	return err
}

// InsertLogRowsForTest inserts one finished request row per id into table (requests or
// read_requests) in one transaction, with the columns the store writes: the benchmark of
// what a row costs in each log.
func (s *Store) InsertLogRowsForTest(ctx context.Context, table string, ids []string, at time.Time) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, `INSERT INTO `+table+` (event_id, connection_id, method, received_at, finished_at, outcome, amount_msat, duration_us)
		VALUES (?, NULL, 'get_balance', ?, ?, 'ok', 0, 1500)`)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, id := range ids {
		if _, err := st.ExecContext(ctx, id, at.Unix(), at.Unix()); err != nil {
			return err
		}
	}
	return tx.Commit()
}
