package sqlstore

import "context"

// The store talks to its database through DB: database/sql implements it
// here (NewSQLDB), pgx's pool in internal/store/postgres. A Row's Scan
// returns an error matching sql.ErrNoRows when there is no row (pgx's
// ErrNoRows does).

// Querier runs statements, on a pool or inside a transaction. Queries come
// with the dialect's placeholders already in place.
type Querier interface {
	Exec(ctx context.Context, query string, args ...any) (rowsAffected int64, err error)
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	QueryRow(ctx context.Context, query string, args ...any) Row
}

// Row is the first row of a query's result.
type Row interface {
	Scan(dest ...any) error
}

// Rows is a query's result, read row by row.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
}

// DB is a database as the store uses it. As a Querier it runs each
// statement on its own: reads, and writes in autocommit mode.
type DB interface {
	Querier
	// Write runs fn in one read-write transaction, committed if fn returns
	// nil and rolled back otherwise.
	Write(ctx context.Context, fn func(tx Querier) error) error
	// Snapshot runs fn in one read-only transaction whose statements all
	// see the same data.
	Snapshot(ctx context.Context, fn func(tx Querier) error) error
	Close() error
}
