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
