package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/nwc-go/nwc/internal/wallet"
	"github.com/nwc-go/nwc/nostr"
)

// BeginRequest records a request event before it is executed. The event id
// is unique across all connections and instances: of several instances
// receiving the same event, exactly one insert lands; the others get
// wallet.ErrDuplicateRequest and must not execute it. connID 0 records a
// request with no connection; an unknown connID is wallet.ErrNotFound.
func (s *Store) BeginRequest(ctx context.Context, eventID nostr.EventID, connID int64, method string, receivedAt time.Time) error {
	r := &wallet.Request{EventID: eventID, ConnectionID: connID, Method: method, ReceivedAt: receivedAt}
	return s.logWrite(ctx, func(ctx context.Context, x runner) error { return s.insertRequest(ctx, x, r) })
}

// insertRequest is BeginRequest on x (autocommit, or a reservation's
// transaction). A concurrent insert of the same id in another transaction
// waits for that one: if it rolls back (its instance died), this one lands.
// The insert is refused for a revoked connection (wallet.ErrRevoked): the
// service serves from its in-memory copy of the connection, and this is
// what makes a revocation by another process take effect at once.
func (s *Store) insertRequest(ctx context.Context, x runner, r *wallet.Request) error {
	conn := idArg(r.ConnectionID)
	n, err := x.exec(ctx, `INSERT INTO requests (event_id, connection_id, method, received_at)
		SELECT ?, CAST(? AS BIGINT), ?, CAST(? AS BIGINT) WHERE NOT EXISTS (SELECT 1 FROM connections WHERE id = ? AND revoked_at IS NOT NULL)
		ON CONFLICT (event_id) DO NOTHING`,
		r.EventID.String(), conn, r.Method, orNow(r.ReceivedAt).Unix(), conn)
	if err != nil {
		if s.d.isForeignKey(err) {
			return fmt.Errorf("%w: connection %d", wallet.ErrNotFound, r.ConnectionID)
		}
		return s.d.errorf("begin request: %w", err)
	}
	if n == 0 {
		// Recorded already, or refused for the revocation (rare: look which).
		var dup bool
		err := x.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM requests WHERE event_id = ?)`, r.EventID.String()).Scan(&dup)
		if err == nil && !dup {
			return fmt.Errorf("%w: connection %d", wallet.ErrRevoked, r.ConnectionID)
		}
		return fmt.Errorf("%w: %s", wallet.ErrDuplicateRequest, r.EventID)
	}
	return nil
}

// FinishRequest records the outcome (wallet.OutcomeOK or a NIP-47 error
// code) of a begun request. wallet.ErrNotFound if it was never begun.
func (s *Store) FinishRequest(ctx context.Context, eventID nostr.EventID, outcome string, amount wallet.MSat, duration time.Duration, finishedAt time.Time) error {
	return s.logWrite(ctx, s.finish(eventID, outcome, amount, duration, finishedAt))
}

// FinishRequestLater is FinishRequest without waiting for the write where the
// store batches its request log (SQLite): it joins the next commit, and a
// failure is counted in GroupCommitStats. This process's reads of the log see
// it at once. Elsewhere it is FinishRequest.
func (s *Store) FinishRequestLater(ctx context.Context, eventID nostr.EventID, outcome string, amount wallet.MSat, duration time.Duration, finishedAt time.Time) error {
	return s.logWriteLater(ctx, s.finish(eventID, outcome, amount, duration, finishedAt))
}

func (s *Store) finish(eventID nostr.EventID, outcome string, amount wallet.MSat, duration time.Duration, finishedAt time.Time) func(ctx context.Context, x runner) error {
	at := orNow(finishedAt).Unix()
	return func(ctx context.Context, x runner) error {
		n, err := x.exec(ctx, `UPDATE requests SET finished_at = ?, outcome = ?, amount_msat = ?, duration_us = ?
			WHERE event_id = ?`, at, outcome, int64(amount), duration.Microseconds(), eventID.String())
		return s.affectedOne(n, err, "finish request")
	}
}

// RecentRequests returns the newest requests of a connection (0 = all),
// newest first; limit <= 0 means 50.
func (s *Store) RecentRequests(ctx context.Context, connID int64, limit int) ([]wallet.Request, error) {
	if limit <= 0 {
		limit = 50
	}
	if err := s.logFlush(ctx); err != nil {
		return nil, err
	}
	// The newest of each table (each branch can use its index), then the newest of both.
	const cols = `SELECT event_id, connection_id, method, received_at, finished_at, outcome, amount_msat, duration_us, id FROM `
	var (
		rows Rows
		err  error
	)
	if connID == 0 {
		rows, err = s.pool().query(ctx, `SELECT * FROM (`+cols+`requests ORDER BY received_at DESC, id DESC LIMIT ?) AS a
			UNION ALL SELECT * FROM (`+cols+`read_requests ORDER BY received_at DESC, id DESC LIMIT ?) AS b
			ORDER BY received_at DESC, id DESC LIMIT ?`, limit, limit, limit)
	} else {
		rows, err = s.pool().query(ctx, `SELECT * FROM (`+cols+`requests WHERE connection_id = ? ORDER BY received_at DESC, id DESC LIMIT ?) AS a
			UNION ALL SELECT * FROM (`+cols+`read_requests WHERE connection_id = ? ORDER BY received_at DESC, id DESC LIMIT ?) AS b
			ORDER BY received_at DESC, id DESC LIMIT ?`, connID, limit, connID, limit, limit)
	}
	if err != nil {
		return nil, s.d.errorf("recent requests: %w", err)
	}
	defer rows.Close()
	var out []wallet.Request
	for rows.Next() {
		var (
			r        wallet.Request
			id       string
			conn     sql.NullInt64
			received int64
			finished sql.NullInt64
			amount   int64
			dur      int64
			rowID    int64
		)
		if err := rows.Scan(&id, &conn, &r.Method, &received, &finished, &r.Outcome, &amount, &dur, &rowID); err != nil {
			return nil, s.d.errorf("recent requests: %w", err)
		}
		if r.EventID, err = nostr.ParseEventID(id); err != nil {
			return nil, s.d.errorf("request id %q: %w", id, err)
		}
		r.ConnectionID = conn.Int64
		r.ReceivedAt = time.Unix(received, 0).UTC()
		r.FinishedAt = unixTime(finished)
		r.Amount = wallet.MSat(amount)
		r.Duration = time.Duration(dur) * time.Microsecond
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.d.errorf("recent requests: %w", err)
	}
	return out, nil
}

// RequestStats counts a connection's requests (0 = all) by outcome and method.
func (s *Store) RequestStats(ctx context.Context, connID int64) (wallet.RequestStats, error) {
	st := wallet.RequestStats{ByMethod: map[string]int64{}}
	if err := s.logFlush(ctx); err != nil {
		return st, err
	}
	const sel = `SELECT method, COUNT(*),
		COUNT(CASE WHEN outcome = 'ok' THEN 1 END),
		COUNT(CASE WHEN outcome = '' THEN 1 END),
		MAX(received_at) FROM (`
	const group = `) AS r GROUP BY method`
	var (
		rows Rows
		err  error
	)
	if connID == 0 {
		rows, err = s.pool().query(ctx, sel+`SELECT method, outcome, received_at FROM requests
			UNION ALL SELECT method, outcome, received_at FROM read_requests`+group)
	} else {
		rows, err = s.pool().query(ctx, sel+`SELECT method, outcome, received_at FROM requests WHERE connection_id = ?
			UNION ALL SELECT method, outcome, received_at FROM read_requests WHERE connection_id = ?`+group, connID, connID)
	}
	if err != nil {
		return st, s.d.errorf("request stats: %w", err)
	}
	defer rows.Close()
	var last int64
	for rows.Next() {
		var (
			method             string
			n, ok, running, at int64
		)
		if err := rows.Scan(&method, &n, &ok, &running, &at); err != nil {
			return st, s.d.errorf("request stats: %w", err)
		}
		st.ByMethod[method] = n
		st.Total += n
		st.OK += ok
		st.Running += running
		st.Failed += n - ok - running
		last = max(last, at)
	}
	if err := rows.Err(); err != nil {
		return st, s.d.errorf("request stats: %w", err)
	}
	if st.Total > 0 {
		st.LastAt = time.Unix(last, 0).UTC()
	}
	return st, nil
}

// RecordRequestLater records a request that has been answered already, outcome and all,
// without waiting for the write where the store batches its request log (SQLite: it joins
// the next commit; a failure is counted in GroupCommitStats). It is the log of a request
// that needed no claim before it ran (a read-only request in a process that alone serves
// the database), kept in read_requests: no unique event id there (the caller stops
// repeats), so the row is cheap. RecentRequests, RequestStats and PruneRequests cover
// both tables.
func (s *Store) RecordRequestLater(ctx context.Context, r wallet.Request) error {
	received, finished := orNow(r.ReceivedAt).Unix(), orNow(r.FinishedAt).Unix()
	conn := idArg(r.ConnectionID)
	id := r.EventID.String()
	return s.logWriteLater(ctx, func(ctx context.Context, x runner) error {
		_, err := x.exec(ctx, `INSERT INTO read_requests (event_id, connection_id, method, received_at, finished_at, outcome, amount_msat, duration_us)
			VALUES (?, CAST(? AS BIGINT), ?, CAST(? AS BIGINT), CAST(? AS BIGINT), ?, CAST(? AS BIGINT), CAST(? AS BIGINT))`,
			id, conn, r.Method, received, finished, r.Outcome, int64(r.Amount), r.Duration.Microseconds())
		if err != nil {
			return s.d.errorf("record request: %w", err)
		}
		return nil
	})
}

// PruneRequests deletes up to limit of the oldest request rows (of both logs: requests,
// then read_requests) received before before, and reports how many went. Only the oldest limit rows by id are looked at (ids grow
// with arrival), so one call costs O(limit) however large the log is; call it again
// until it returns less than limit. Pending outcomes are committed first.
func (s *Store) PruneRequests(ctx context.Context, before time.Time, limit int) (int64, error) {
	if limit <= 0 {
		return 0, nil
	}
	if err := s.logFlush(ctx); err != nil {
		return 0, err
	}
	var total int64
	for _, table := range []string{"requests", "read_requests"} {
		var n int64
		err := s.write(ctx, func(x runner) error {
			var err error
			n, err = x.exec(ctx, `DELETE FROM `+table+` WHERE id IN (
				SELECT id FROM (SELECT id, received_at FROM `+table+` ORDER BY id LIMIT ?) AS oldest
				WHERE received_at < ?)`, limit-int(total), before.Unix())
			return err
		})
		if err != nil {
			return total, s.d.errorf("prune %s: %w", table, err)
		}
		if total += n; total >= int64(limit) {
			break
		}
	}
	return total, nil
}
