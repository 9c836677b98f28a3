// Package sqlite is the default store of the wallet service: a single SQLite
// file (pure-Go driver) in WAL mode with embedded forward-only migrations.
//
// All writes go through one connection whose transactions begin with
// BEGIN IMMEDIATE, so budget/balance reservations serialise within a process
// and, through SQLite's file lock and busy_timeout, across processes too.
// Reads use a separate small pool and never block on writers (WAL).
package sqlite

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/nwc-go/nwc/nostr"
)

// busyTimeout is how long a writer waits for another process's write lock.
const busyTimeout = 10 * time.Second

// Store is the SQLite store. It is safe for concurrent use.
type Store struct {
	w *sql.DB // exactly one connection: the writer
	r *sql.DB // readers

	mu    sync.Mutex
	stmts map[stmtKey]*sql.Stmt
}

// Statements first used inside a write transaction cannot be prepared on
// the writer pool then (its only connection is busy with the transaction):
// they run as transaction statements once and are cached after it ends.

type stmtKey struct {
	write bool
	query string
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
	s := &Store{w: w, stmts: make(map[stmtKey]*sql.Stmt)}
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := migrate(ctx, w); err != nil {
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
	s.r = r
	return s, nil
}

// Close closes prepared statements and both pools.
func (s *Store) Close() error {
	s.mu.Lock()
	for k, st := range s.stmts {
		st.Close()
		delete(s.stmts, k)
	}
	s.mu.Unlock()
	return errors.Join(s.r.Close(), s.w.Close())
}

// stmt returns a cached prepared statement on the writer or the readers.
func (s *Store) stmt(ctx context.Context, write bool, query string) (*sql.Stmt, error) {
	k := stmtKey{write, query}
	s.mu.Lock()
	st, ok := s.stmts[k]
	s.mu.Unlock()
	if ok {
		return st, nil
	}
	db := s.r
	if write {
		db = s.w
	}
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("sqlite: prepare: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.stmts[k]; ok { // lost a race: keep the first
		st.Close()
		return old, nil
	}
	s.stmts[k] = st
	return st, nil
}

// runner executes queries either inside a write transaction (tx != nil) or
// on the reader/writer pools, always through prepared statements.
type runner struct {
	s        *Store
	tx       *sql.Tx
	deferred *[]string // queries to prepare once tx has ended
}

// pool runs each statement on its own: queries on the readers, writes in
// autocommit mode on the writer.
func (s *Store) pool() runner { return runner{s: s} }

func (x runner) prep(ctx context.Context, write bool, q string) (*sql.Stmt, error) {
	if x.tx == nil {
		return x.s.stmt(ctx, write, q)
	}
	x.s.mu.Lock()
	st, ok := x.s.stmts[stmtKey{true, q}]
	x.s.mu.Unlock()
	if ok {
		return x.tx.StmtContext(ctx, st), nil
	}
	*x.deferred = append(*x.deferred, q)
	return x.tx.PrepareContext(ctx, q)
}

func (x runner) queryRow(ctx context.Context, q string, args ...any) (*sql.Row, error) {
	st, err := x.prep(ctx, false, q)
	if err != nil {
		return nil, err
	}
	return st.QueryRowContext(ctx, args...), nil
}

// writeRow runs a write that returns a row (INSERT ... RETURNING).
func (x runner) writeRow(ctx context.Context, q string, args ...any) (*sql.Row, error) {
	st, err := x.prep(ctx, true, q)
	if err != nil {
		return nil, err
	}
	return st.QueryRowContext(ctx, args...), nil
}

func (x runner) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := x.prep(ctx, false, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// exec runs a write, on the transaction or (autocommit) on the writer.
func (x runner) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	st, err := x.prep(ctx, true, q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// write runs fn in one BEGIN IMMEDIATE transaction on the writer.
func (s *Store) write(ctx context.Context, fn func(x runner) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	var deferred []string
	err = fn(runner{s: s, tx: tx, deferred: &deferred})
	if err != nil {
		tx.Rollback()
	} else if err = tx.Commit(); err != nil {
		err = fmt.Errorf("sqlite: commit: %w", err)
	}
	for _, q := range deferred { // the writer is free again
		s.stmt(ctx, true, q) //nolint:errcheck // it prepared fine inside the tx; retried on next use otherwise
	}
	return err
}

func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()
	}
	return 0
}

func isUnique(err error) bool {
	c := sqliteCode(err)
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

func isForeignKey(err error) bool { return sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY }

// Time and NULL helpers: times are unix seconds, zero values are NULL.

func unixArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Unix()
}

func unixTime(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(n.Int64, 0).UTC()
}

func idArg(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func textArg(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

func orNow(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now()
	}
	return t
}

// parseKey decodes a stored hex key without the curve check of
// nostr.ParsePublicKey: stored keys were validated when they came in, and
// lookups are on the hot path.
func parseKey(s string) (nostr.PublicKey, error) {
	var pk nostr.PublicKey
	if len(s) != 2*len(pk) {
		return pk, fmt.Errorf("sqlite: stored key %q has wrong length", s)
	}
	if _, err := hex.Decode(pk[:], []byte(s)); err != nil {
		return pk, fmt.Errorf("sqlite: stored key: %w", err)
	}
	return pk, nil
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
