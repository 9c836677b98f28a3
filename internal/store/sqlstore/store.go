// Package sqlstore is the store logic the SQLite and PostgreSQL stores
// share: every query, the running totals, the reservation checks and the
// state transitions, written once. What differs between the two databases
// is kept apart: their SQL (placeholders, row locks, error codes, retries,
// migration locking) in a Dialect, their driver behind the small DB
// interface (database/sql with cached statements here for SQLite, pgx's
// pool in internal/store/postgres). internal/store/sqlite and
// internal/store/postgres open the database, embed their own migrations
// and fill both in.
//
// The SQL is kept to what both accept: ? placeholders (numbered for
// PostgreSQL), ON CONFLICT, RETURNING, CASE, CAST(… AS BIGINT).
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nwc-go/nwc/nostr"
)

// Dialect is what one database's SQL does differently. Functions left nil
// mean "never" (no retries, no lock).
type Dialect struct {
	// Name prefixes the store's errors ("sqlite: …").
	Name string
	// NumberedParams rewrites ? placeholders as $1, $2, ….
	NumberedParams bool
	// LockRows ends a SELECT whose rows the write transaction must hold
	// until it ends ("" where write transactions exclude each other).
	LockRows string
	// KeyIndexLock runs first in CreateConnection's transaction, so that
	// two writers cannot pick the same key index ("" where they cannot).
	KeyIndexLock string
	// IsUnique and IsForeignKey classify constraint violations.
	IsUnique, IsForeignKey func(error) bool
	// Retryable: the database aborted a write transaction (deadlock victim,
	// serialization conflict) that may simply run again.
	Retryable func(error) bool

	// GroupCommit batches request-log writes into shared transactions. For
	// databases whose write transactions exclude each other anyway (SQLite);
	// with row locks (PostgreSQL) one slow insert would hold a whole batch.
	GroupCommit bool

	// Migrations holds migrations/NNNN_name.sql, numbered from 1 without
	// gaps.
	Migrations fs.FS
	// SchemaTable creates the schema_migrations table if it is missing.
	SchemaTable string
	// MigrationLock, if set, is taken on conn around all migrations.
	MigrationLock func(ctx context.Context, conn *sql.Conn) (unlock func(), err error)
	// ErrSchemaTooNew is returned (wrapped) for a database migrated by a
	// newer binary.
	ErrSchemaTooNew error
}

// errorf is fmt.Errorf with the store's name in front.
func (d *Dialect) errorf(format string, args ...any) error {
	return fmt.Errorf("%s: %w", d.Name, fmt.Errorf(format, args...))
}

func (d *Dialect) isUnique(err error) bool { return err != nil && d.IsUnique != nil && d.IsUnique(err) }
func (d *Dialect) isForeignKey(err error) bool {
	return err != nil && d.IsForeignKey != nil && d.IsForeignKey(err)
}

func (d *Dialect) bind(q string) string {
	if !d.NumberedParams {
		return q
	}
	return numbered(q)
}

// numbered rewrites the ? placeholders of q as $1, $2, … (the store's SQL
// has no ? inside literals or identifiers).
func numbered(q string) string {
	n := strings.Count(q, "?")
	if n == 0 {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 3*n)
	for i := 1; ; i++ {
		j := strings.IndexByte(q, '?')
		if j < 0 {
			break
		}
		b.WriteString(q[:j])
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(i))
		q = q[j+1:]
	}
	b.WriteString(q)
	return b.String()
}

// maxAttempts bounds the runs of a write transaction the database aborted
// as Retryable.
const maxAttempts = 5

// Store implements the store API (internal/store.Store) on a DB. It is
// safe for concurrent use.
type Store struct {
	d     *Dialect
	db    DB
	bound sync.Map // query with ? → with $n, with d.NumberedParams
	log   *batcher // request-log group commit, with d.GroupCommit
}

// New returns a Store on db, whose migrations the caller has applied.
// Close closes db.
func New(d *Dialect, db DB) *Store {
	s := &Store{d: d, db: db}
	if d.GroupCommit {
		s.log = newBatcher(s)
	}
	return s
}

// Close closes the database.
func (s *Store) Close() error {
	if s.log != nil {
		s.log.close()
	}
	return s.db.Close()
}

// GroupCommitStats reports how many batches of request-log writes were committed, how
// many writes they held, and how many deferred writes failed with the last such error
// (zeros without Dialect.GroupCommit).
func (s *Store) GroupCommitStats() (commits, writes, failed uint64, lastErr error) {
	if s.log == nil {
		return 0, 0, 0, nil
	}
	if p := s.log.lastErr.Load(); p != nil {
		lastErr = *p
	}
	return s.log.commits.Load(), s.log.writes.Load(), s.log.failed.Load(), lastErr
}

// SetBusyHint tells group commit (Dialect.GroupCommit) how many other requests are being
// served right now: a request-log write then waits briefly (400 µs at most) for theirs to
// share its commit. Without a hint, or at 0, every write commits at once.
func (s *Store) SetBusyHint(others func() int) {
	if s.log != nil && others != nil {
		s.log.busy.Store(&others)
	}
}

// logWrite runs a request-log write: batched with others (Dialect.GroupCommit), or alone.
func (s *Store) logWrite(ctx context.Context, fn func(ctx context.Context, x runner) error) error {
	if s.log != nil {
		return s.log.do(ctx, fn)
	}
	return fn(ctx, s.pool())
}

// logWriteLater is logWrite without waiting for the commit where writes are batched.
func (s *Store) logWriteLater(ctx context.Context, fn func(ctx context.Context, x runner) error) error {
	if s.log != nil {
		return s.log.later(fn)
	}
	return fn(ctx, s.pool())
}

// logFlush commits deferred request-log writes before a read of the log.
func (s *Store) logFlush(ctx context.Context) error {
	if s.log != nil {
		return s.log.flush(ctx)
	}
	return nil
}

// bind returns q with the dialect's placeholders.
func (s *Store) bind(q string) string {
	if !s.d.NumberedParams {
		return q
	}
	if b, ok := s.bound.Load(q); ok {
		return b.(string)
	}
	b := s.d.bind(q)
	s.bound.Store(q, b)
	return b
}

// runner runs the store's statements (written with ?) on q: the DB, or a
// transaction.
type runner struct {
	s *Store
	q Querier
}

// pool runs each statement on its own.
func (s *Store) pool() runner { return runner{s, s.db} }

func (x runner) exec(ctx context.Context, q string, args ...any) (int64, error) {
	return x.q.Exec(ctx, x.s.bind(q), args...)
}

func (x runner) query(ctx context.Context, q string, args ...any) (Rows, error) {
	return x.q.Query(ctx, x.s.bind(q), args...)
}

func (x runner) queryRow(ctx context.Context, q string, args ...any) Row {
	return x.q.QueryRow(ctx, x.s.bind(q), args...)
}

// write runs fn in one write transaction, again (up to maxAttempts) when
// the database aborted it as Retryable. fn must assign, not accumulate,
// what it reports to the caller.
func (s *Store) write(ctx context.Context, fn func(x runner) error) error {
	for attempt := 1; ; attempt++ {
		err := s.db.Write(ctx, func(tx Querier) error { return fn(runner{s, tx}) })
		if err == nil || attempt == maxAttempts || s.d.Retryable == nil || !s.d.Retryable(err) || ctx.Err() != nil {
			return err
		}
	}
}

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
func (d *Dialect) parseKey(s string) (nostr.PublicKey, error) {
	var pk nostr.PublicKey
	if len(s) != 2*len(pk) {
		return pk, d.errorf("stored key %q has wrong length", s)
	}
	if _, err := hex.Decode(pk[:], []byte(s)); err != nil {
		return pk, d.errorf("stored key: %w", err)
	}
	return pk, nil
}
