package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nwc-go/nwc/internal/store/sqlstore"
)

// pgxDB is sqlstore.DB on a pgx pool, natively: database/sql on top of it
// (pgx's stdlib) costs a goroutine per transaction and a conversion per
// value, about a tenth of the pay path. pgx caches the statements itself.
type pgxDB struct {
	pool *pgxpool.Pool
	pgxQuerier
}

func newPgxDB(pool *pgxpool.Pool) *pgxDB { return &pgxDB{pool, pgxQuerier{pool}} }

// Close closes the pool; it waits for connections in use to be returned.
func (d *pgxDB) Close() error {
	d.pool.Close()
	return nil
}

// Write runs fn in a read-committed transaction.
func (d *pgxDB) Write(ctx context.Context, fn func(sqlstore.Querier) error) error {
	return pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error { return fn(pgxQuerier{tx}) })
}

// Snapshot runs fn in a read-only repeatable-read transaction: one snapshot.
func (d *pgxDB) Snapshot(ctx context.Context, fn func(sqlstore.Querier) error) error {
	opts := pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	return pgx.BeginTxFunc(ctx, d.pool, opts, func(tx pgx.Tx) error { return fn(pgxQuerier{tx}) })
}

// pgxQuerier is sqlstore.Querier on what a pool and a transaction have in common.
type pgxQuerier struct {
	q interface {
		Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
		Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
		QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	}
}

func (q pgxQuerier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := q.q.Exec(ctx, query, args...)
	return tag.RowsAffected(), err
}

func (q pgxQuerier) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	rows, err := q.q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return pgxRows{rows}, nil
}

// QueryRow: pgx.ErrNoRows matches sql.ErrNoRows, as sqlstore expects.
func (q pgxQuerier) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	return q.q.QueryRow(ctx, query, args...)
}

type pgxRows struct{ pgx.Rows }

func (r pgxRows) Close() error {
	r.Rows.Close()
	return nil
}
