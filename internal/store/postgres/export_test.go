package postgres

import (
	"context"
	"time"

	"github.com/nwc-go/nwc/internal/store/sqlstore"
)

// BumpSchemaForTest records a migration version this binary doesn't know.
func (s *Store) BumpSchemaForTest(ctx context.Context, version int) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`, version, time.Now().Unix())
	return err
}

// MigrateToForTest brings the database at url to schema version target
// (0 = just the migrations table), as an older binary would have left it.
func MigrateToForTest(ctx context.Context, url string, target int) error {
	pool, err := connect(ctx, url)
	if err != nil {
		return err
	}
	defer pool.Close()
	return migrateTo(ctx, pool, target)
}

// MigrationCountForTest is the number of embedded migrations.
func MigrationCountForTest() int {
	n, err := sqlstore.MigrationCount(&dialect)
	if err != nil {
		panic(err)
	}
	return n
}

// SchemaVersionForTest returns the highest applied migration.
func (s *Store) SchemaVersionForTest(ctx context.Context) (int, error) {
	var v int
	err := s.pool.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}
