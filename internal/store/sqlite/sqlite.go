// Package sqlite is the default store of the wallet service: a single SQLite
// file (pure-Go driver) in WAL mode with embedded forward-only migrations.
// The store logic is internal/store/sqlstore's; this package opens the file
// and supplies the SQLite dialect.
//
// All writes go through one connection whose transactions begin with
// BEGIN IMMEDIATE, so budget/balance reservations serialise within a process
// and, through SQLite's file lock and busy_timeout, across processes too.
// Reads use a separate small pool and never block on writers (WAL).
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/nwc-go/nwc/internal/store/sqlstore"
)

// busyTimeout is how long a writer waits for another process's write lock.
const busyTimeout = 10 * time.Second

//go:embed migrations/*.sql
var migrationFS embed.FS

// ErrSchemaTooNew: the database was migrated by a newer nwc than this one.
var ErrSchemaTooNew = errors.New("sqlite: database schema is newer than this binary")

// dialect: one writer connection whose transactions are BEGIN IMMEDIATE
// excludes other writers, so nothing needs row locks or retries.
var dialect = sqlstore.Dialect{
	Name:        "sqlite",
	GroupCommit: true,
	IsUnique: func(err error) bool {
		c := sqliteCode(err)
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	},
	IsForeignKey: func(err error) bool { return sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY },
	Migrations:   migrationFS,
	SchemaTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at INTEGER NOT NULL
	)`,
	ErrSchemaTooNew: ErrSchemaTooNew,
}

// Store is the SQLite store. It is safe for concurrent use.
type Store struct {
	*sqlstore.Store
	w    *sql.DB // the writer
	path string
	priv private
}

// Open opens (creating if needed) the database at path, creates its
// directory (0700), and applies pending migrations. path must be a file
// name; ":memory:" is not supported (the writer and readers must share it).
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" || path == ":memory:" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlite: unsupported database path %q", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	// synchronous=NORMAL in WAL mode: a commit survives a process crash
	// (kill -9), only an OS crash can lose the last commits; it saves an
	// fsync per write on the hot pay path.
	common := fmt.Sprintf("_busy_timeout=%d&_foreign_keys=1", busyTimeout.Milliseconds())
	w, err := sql.Open("sqlite", path+"?"+common+"&_journal_mode=WAL&_synchronous=NORMAL&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := sqlstore.Migrate(ctx, &dialect, w); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", path+"?"+common+"&_query_only=1")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	// Statements are prepared once and cached; a read transaction (WAL) sees
	// one snapshot.
	db := sqlstore.NewSQLDB(w, r, sql.TxOptions{ReadOnly: true})
	return &Store{Store: sqlstore.New(&dialect, db), w: w, path: path}, nil
}

func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()
	}
	return 0
}

// Close releases the serving claim and closes the database.
func (s *Store) Close() error {
	return errors.Join(s.Store.Close(), s.priv.close())
}
