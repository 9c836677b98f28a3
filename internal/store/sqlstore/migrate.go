package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"
)

type migration struct {
	version int
	name    string
	sql     string
}

// migrations lists d.Migrations, ordered by their numeric prefix
// ("0001_init.sql" is version 1), numbered 1..n without gaps.
func (d *Dialect) migrations() ([]migration, error) {
	names, err := fs.Glob(d.Migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, n := range names {
		base := strings.TrimPrefix(n, "migrations/")
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, d.errorf("bad migration name %q", base)
		}
		b, err := fs.ReadFile(d.Migrations, n)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: base, sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i := range out {
		if out[i].version != i+1 {
			return nil, d.errorf("migrations must be numbered 1..n, got %s", out[i].name)
		}
	}
	return out, nil
}

// MigrationCount is the number of migrations in d.Migrations.
func MigrationCount(d *Dialect) (int, error) {
	ms, err := d.migrations()
	return len(ms), err
}

// Migrate applies every missing migration of d to db.
func Migrate(ctx context.Context, d *Dialect, db *sql.DB) error {
	n, err := MigrationCount(d)
	if err != nil {
		return err
	}
	return MigrateTo(ctx, d, db, n)
}

// MigrateTo brings db to schema version target (0: just the migrations
// table), unless it is there already. Each migration runs in its own
// transaction together with its schema_migrations row, all under the
// dialect's migration lock; a migration found applied once its transaction
// has begun is skipped. So processes starting at once apply each exactly
// once. A database newer than d's migrations is d.ErrSchemaTooNew.
func MigrateTo(ctx context.Context, d *Dialect, db *sql.DB, target int) error {
	ms, err := d.migrations()
	if err != nil {
		return err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return d.errorf("migrate: %w", err)
	}
	defer conn.Close()
	if d.MigrationLock != nil {
		unlock, err := d.MigrationLock(ctx, conn)
		if err != nil {
			return d.errorf("migration lock: %w", err)
		}
		defer unlock()
	}
	if _, err := conn.ExecContext(ctx, d.SchemaTable); err != nil {
		return d.errorf("migrations table: %w", err)
	}
	var latest int
	if err := conn.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&latest); err != nil {
		return d.errorf("schema version: %w", err)
	}
	if latest > len(ms) {
		return fmt.Errorf("%w: version %d, this binary knows %d", d.ErrSchemaTooNew, latest, len(ms))
	}
	for _, m := range ms[min(latest, target):target] {
		if err := d.apply(ctx, conn, m); err != nil {
			return d.errorf("migration %s: %w", m.name, err)
		}
	}
	return nil
}

func (d *Dialect) apply(ctx context.Context, conn *sql.Conn, m migration) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, d.bind(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), m.version).Scan(&n); err != nil {
		return err
	}
	if n > 0 { // another process applied it while we waited for the lock
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, d.bind(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`),
		m.version, time.Now().Unix()); err != nil {
		return err
	}
	return tx.Commit()
}
