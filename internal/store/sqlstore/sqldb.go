package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
)

// sqlDB is DB on database/sql pools, every statement prepared once per
// pool and kept (for drivers that do not cache statements themselves).
type sqlDB struct {
	w, r     *sql.DB // writes and reads (may be the same pool)
	snapshot sql.TxOptions

	mu    sync.Mutex
	stmts map[stmtKey]*sql.Stmt
}

// Statements first used inside a transaction on a one-connection pool
// cannot be prepared on that pool then (its only connection is busy with
// the transaction): they run as transaction statements once and are cached
// after it ends.

type stmtKey struct {
	write bool // on the writer pool
	query string
}

// NewSQLDB returns a DB that writes on w (Exec outside transactions, Write)
// and reads on r, which may be w. Snapshot transactions begin with
// snapshot. Close closes both pools.
func NewSQLDB(w, r *sql.DB, snapshot sql.TxOptions) DB {
	return &sqlDB{w: w, r: r, snapshot: snapshot, stmts: make(map[stmtKey]*sql.Stmt)}
}

func (d *sqlDB) Close() error {
	d.mu.Lock()
	for k, st := range d.stmts {
		st.Close()
		delete(d.stmts, k)
	}
	d.mu.Unlock()
	if d.r == d.w {
		return d.w.Close()
	}
	return errors.Join(d.r.Close(), d.w.Close())
}

// stmt returns the cached prepared statement of query on the writer or the
// readers, preparing it if needed.
func (d *sqlDB) stmt(ctx context.Context, write bool, query string) (*sql.Stmt, error) {
	k := stmtKey{write, query}
	d.mu.Lock()
	st, ok := d.stmts[k]
	d.mu.Unlock()
	if ok {
		return st, nil
	}
	db := d.r
	if write {
		db = d.w
	}
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if old, ok := d.stmts[k]; ok { // lost a race: keep the first
		st.Close()
		return old, nil
	}
	d.stmts[k] = st
	return st, nil
}

func (d *sqlDB) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	st, err := d.stmt(ctx, true, query)
	if err != nil {
		return 0, err
	}
	return affected(st.ExecContext(ctx, args...))
}

func (d *sqlDB) Query(ctx context.Context, query string, args ...any) (Rows, error) {
	st, err := d.stmt(ctx, false, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (d *sqlDB) QueryRow(ctx context.Context, query string, args ...any) Row {
	st, err := d.stmt(ctx, false, query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

func (d *sqlDB) Write(ctx context.Context, fn func(Querier) error) error {
	return d.inTx(ctx, true, nil, fn)
}

func (d *sqlDB) Snapshot(ctx context.Context, fn func(Querier) error) error {
	return d.inTx(ctx, false, &d.snapshot, fn)
}

// inTx runs fn in a transaction on the writer or the readers; a read-only
// one is rolled back, having nothing to commit.
func (d *sqlDB) inTx(ctx context.Context, write bool, opts *sql.TxOptions, fn func(Querier) error) error {
	db := d.r
	if write {
		db = d.w
	}
	tx, err := db.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	var deferred []string
	err = fn(&sqlTx{d: d, tx: tx, write: write, deferred: &deferred})
	switch {
	case err != nil || !write:
		tx.Rollback()
	default:
		if err = tx.Commit(); err != nil {
			err = fmt.Errorf("commit: %w", err)
		}
	}
	for _, q := range deferred { // the connection is free again
		d.stmt(ctx, write, q) //nolint:errcheck // it prepared fine inside the tx; retried on next use otherwise
	}
	return err
}

// sqlTx runs statements in a transaction, through the cached statements.
type sqlTx struct {
	d        *sqlDB
	tx       *sql.Tx
	write    bool      // on the writer
	deferred *[]string // queries to cache once tx has ended
}

func (x *sqlTx) prep(ctx context.Context, query string) (*sql.Stmt, error) {
	x.d.mu.Lock()
	st, ok := x.d.stmts[stmtKey{x.write, query}]
	x.d.mu.Unlock()
	if ok {
		return x.tx.StmtContext(ctx, st), nil
	}
	*x.deferred = append(*x.deferred, query)
	return x.tx.PrepareContext(ctx, query)
}

func (x *sqlTx) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	st, err := x.prep(ctx, query)
	if err != nil {
		return 0, err
	}
	return affected(st.ExecContext(ctx, args...))
}

func (x *sqlTx) Query(ctx context.Context, query string, args ...any) (Rows, error) {
	st, err := x.prep(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (x *sqlTx) QueryRow(ctx context.Context, query string, args ...any) Row {
	st, err := x.prep(ctx, query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

func affected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// errRow is a Row whose statement failed before it ran.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
