package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/nwc-go/nwc/internal/wallet"
	"github.com/nwc-go/nwc/nostr"
)

const txCols = `id, connection_id, request_event_id, type, state, hold, invoice, description, description_hash,
	preimage, payment_hash, amount_msat, fees_paid_msat, fee_reserve_msat, created_at, updated_at,
	expires_at, settled_at, settle_deadline, metadata, failure_reason`

// The budget of a connection in a window: settled payments count amount +
// fee paid, pending ones amount + fee reserve. (PostgreSQL sums BIGINTs to
// NUMERIC, hence the cast.)
const budgetUsedSQL = `SELECT CAST(COALESCE(SUM(amount_msat +
		CASE WHEN state = 'settled' THEN fees_paid_msat ELSE fee_reserve_msat END), 0) AS BIGINT)
	FROM transactions
	WHERE connection_id = ? AND type = 'outgoing' AND state IN ('pending', 'settled') AND created_at >= ?`

// applyDeltaSQL moves a connection's running totals: the balance always,
// the budget counter only for transactions created inside the window it
// was computed for.
const applyDeltaSQL = `UPDATE connections SET balance_msat = balance_msat + ?,
	budget_used_msat = budget_used_msat +
		CASE WHEN budget_window_start IS NOT NULL AND budget_window_start <= ? THEN CAST(? AS BIGINT) ELSE 0 END
	WHERE id = ?`

// applyDelta keeps the totals of t's connection in step with a change of t.
func (s *Store) applyDelta(ctx context.Context, x runner, t *wallet.Transaction, balance, used wallet.MSat) error {
	if t.ConnectionID == 0 || (balance == 0 && used == 0) {
		return nil
	}
	_, err := x.exec(ctx, applyDeltaSQL, int64(balance), t.CreatedAt.Unix(), int64(used), t.ConnectionID)
	if err != nil {
		return s.d.errorf("connection totals: %w", err)
	}
	return nil
}

// ReservePayment checks and records an outgoing payment in one write
// transaction that first takes the connection's row (locked where the
// dialect locks rows), so reservations of a connection serialise across
// processes and instances: wallet.ErrAlreadyPaid / wallet.ErrPaymentPending
// if a settled / pending outgoing row has the payment hash,
// wallet.ErrQuotaExceeded if the window's used budget + amount + reserve
// exceed the limit, wallet.ErrInsufficientBalance if an isolated
// connection's balance is below amount + reserve; else it inserts and
// returns the pending row. r.Request, if set, is recorded first in the same
// transaction (see wallet.PaymentReservation).
func (s *Store) ReservePayment(ctx context.Context, r wallet.PaymentReservation) (*wallet.Transaction, error) {
	if r.PaymentHash == "" {
		return nil, s.d.errorf("reservation without payment hash")
	}
	if r.Amount < 0 || r.FeeReserve < 0 {
		return nil, fmt.Errorf("%w: negative amount or reserve", wallet.ErrInvalidAmount)
	}
	now := orNow(r.CreatedAt).Truncate(time.Second).UTC()
	t := &wallet.Transaction{
		ConnectionID:    r.ConnectionID,
		RequestEventID:  r.RequestEventID,
		Type:            wallet.TxOutgoing,
		State:           wallet.StatePending,
		Invoice:         r.Invoice,
		Description:     r.Description,
		DescriptionHash: r.DescriptionHash,
		PaymentHash:     r.PaymentHash,
		Amount:          r.Amount,
		FeeReserve:      r.FeeReserve,
		CreatedAt:       now,
		UpdatedAt:       now,
		Metadata:        r.Metadata,
	}
	if !r.ExpiresAt.IsZero() {
		t.ExpiresAt = r.ExpiresAt.Truncate(time.Second).UTC()
	}
	var refuse error
	err := s.write(ctx, func(x runner) error {
		if r.Request != nil {
			if err := s.insertRequest(ctx, x, r.Request); err != nil {
				return err
			}
		}
		var err error
		if refuse, err = s.checkReservation(ctx, x, &r); err != nil || refuse != nil {
			return err // on a refusal, commit the budget window checkReservation cached
		}
		if err := s.insertTx(ctx, x, t); err != nil {
			return err
		}
		return s.applyDelta(ctx, x, t, -(r.Amount + r.FeeReserve), r.Amount+r.FeeReserve)
	})
	if errors.Is(err, wallet.ErrExists) {
		// Another connection (or a node-level payment) reserved the same hash
		// at the same moment: its row won the unique index.
		return nil, s.liveHashRefusal(ctx, r.PaymentHash)
	}
	if err != nil {
		return nil, err
	}
	if refuse != nil {
		return nil, refuse
	}
	return t, nil
}

// liveHashRefusal names the live outgoing row of hash: paid or in flight.
func (s *Store) liveHashRefusal(ctx context.Context, hash string) error {
	refuse, err := s.hashRefusal(ctx, s.pool(), hash)
	if err != nil {
		return err
	}
	if refuse == nil { // it failed in the meantime; the caller may retry
		return fmt.Errorf("%w: %s", wallet.ErrPaymentPending, hash)
	}
	return refuse
}

// hashRefusal refuses a payment hash that already has a settled or pending
// outgoing row (refuse), or reports a store error (err).
func (s *Store) hashRefusal(ctx context.Context, x runner, hash string) (refuse, err error) {
	row := x.queryRow(ctx, `SELECT state FROM transactions
		WHERE payment_hash = ? AND type = 'outgoing' AND state IN ('pending', 'settled') LIMIT 1`, hash)
	var state string
	switch err := row.Scan(&state); {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, s.d.errorf("reserve: %w", err)
	case state == string(wallet.StateSettled):
		return fmt.Errorf("%w: %s", wallet.ErrAlreadyPaid, hash), nil
	default:
		return fmt.Errorf("%w: %s", wallet.ErrPaymentPending, hash), nil
	}
}

// checkReservation returns the refusal for r, if any (or an error of the
// store itself). It runs inside the reservation's write transaction and
// takes the connection's row first: where rows are locked, every
// reservation of the connection, from any instance, waits there until the
// previous one has committed, and then sees its row.
func (s *Store) checkReservation(ctx context.Context, x runner, r *wallet.PaymentReservation) (refuse, err error) {
	var (
		balance, used int64
		window        sql.NullInt64
		found         = true
	)
	if r.ConnectionID != 0 {
		row := x.queryRow(ctx, `SELECT balance_msat, budget_window_start, budget_used_msat
			FROM connections WHERE id = ?`+s.d.LockRows, r.ConnectionID)
		switch err := row.Scan(&balance, &window, &used); {
		case errors.Is(err, sql.ErrNoRows):
			found = false
		case err != nil:
			return nil, s.d.errorf("reserve: %w", err)
		}
	}
	// Refusals come in a fixed order: hash, quota, balance.
	if refuse, err := s.hashRefusal(ctx, x, r.PaymentHash); err != nil || refuse != nil {
		return refuse, err
	}
	if r.ConnectionID == 0 {
		return nil, nil // a node-level payment: no budget, no own balance
	}
	if !found {
		return nil, fmt.Errorf("%w: connection %d", wallet.ErrNotFound, r.ConnectionID)
	}
	if r.Budget.Enabled() {
		if ws := sinceArg(r.WindowStart); !window.Valid || window.Int64 != ws {
			// A new window (or another instance's idea of it): count it once
			// from the rows; from then on the counter is kept in step.
			sum, err := s.sum(ctx, x, budgetUsedSQL, r.ConnectionID, ws)
			if err != nil {
				return nil, err
			}
			used = int64(sum)
			if _, err := x.exec(ctx, `UPDATE connections SET budget_window_start = ?, budget_used_msat = ? WHERE id = ?`,
				ws, used, r.ConnectionID); err != nil {
				return nil, s.d.errorf("budget window: %w", err)
			}
		}
		if err := r.Budget.Check(wallet.MSat(used), r.Amount, r.FeeReserve); err != nil {
			return err, nil
		}
	}
	if r.Isolated {
		bal := wallet.MSat(balance)
		if bal < r.Amount || bal-r.Amount < r.FeeReserve {
			return fmt.Errorf("%w: balance %d < amount %d + reserve %d msat",
				wallet.ErrInsufficientBalance, int64(bal), int64(r.Amount), int64(r.FeeReserve)), nil
		}
	}
	return nil, nil
}

// SettlePayment marks the pending payment with paymentHash settled with its
// preimage and the fee actually paid. Already settled: (row,
// wallet.ErrAlreadySettled); failed: (row, wallet.ErrInvalidState).
func (s *Store) SettlePayment(ctx context.Context, paymentHash, preimage string, fee wallet.MSat, settledAt time.Time) (*wallet.Transaction, error) {
	at := orNow(settledAt).Unix()
	return s.transition(ctx, wallet.TxOutgoing, paymentHash, func(x runner, t *wallet.Transaction) error {
		if err := movable(t, wallet.StatePending); err != nil {
			return err
		}
		if _, err := x.exec(ctx, `UPDATE transactions SET state = 'settled', preimage = ?, fees_paid_msat = ?,
			settled_at = ?, updated_at = ? WHERE id = ?`, preimage, int64(fee), at, at, t.ID); err != nil {
			return err
		}
		t.State, t.Preimage, t.FeesPaid = wallet.StateSettled, preimage, fee
		t.SettledAt, t.UpdatedAt = time.Unix(at, 0).UTC(), time.Unix(at, 0).UTC()
		// The reserve is released, the fee actually paid is spent.
		return s.applyDelta(ctx, x, t, t.FeeReserve-fee, fee-t.FeeReserve)
	})
}

// FailPayment marks the pending payment with paymentHash failed, which
// releases its budget and balance. Settled: (row, wallet.ErrAlreadySettled);
// already failed: (row, wallet.ErrInvalidState).
func (s *Store) FailPayment(ctx context.Context, paymentHash, reason string, at time.Time) (*wallet.Transaction, error) {
	ts := orNow(at).Unix()
	return s.transition(ctx, wallet.TxOutgoing, paymentHash, func(x runner, t *wallet.Transaction) error {
		if err := movable(t, wallet.StatePending); err != nil {
			return err
		}
		if _, err := x.exec(ctx, `UPDATE transactions SET state = 'failed', failure_reason = ?, updated_at = ? WHERE id = ?`,
			reason, ts, t.ID); err != nil {
			return err
		}
		t.State, t.FailureReason, t.UpdatedAt = wallet.StateFailed, reason, time.Unix(ts, 0).UTC()
		return s.applyDelta(ctx, x, t, t.Amount+t.FeeReserve, -(t.Amount + t.FeeReserve))
	})
}

// PendingPayments returns the outgoing payments still pending, oldest first
// (to reconcile with the backend on start).
func (s *Store) PendingPayments(ctx context.Context) ([]wallet.Transaction, error) {
	rows, err := s.pool().query(ctx, `SELECT `+txCols+` FROM transactions
		WHERE state = 'pending' AND type = 'outgoing' ORDER BY created_at, id`)
	return collect(s, rows, err, "list transactions", s.scanTx)
}

// InsertInvoice stores an incoming invoice (Type "" or incoming; State ""
// means pending) and sets t.ID, t.CreatedAt (if zero) and t.UpdatedAt.
// wallet.ErrExists if an invoice with the payment hash exists.
func (s *Store) InsertInvoice(ctx context.Context, t *wallet.Transaction) error {
	if t.Type == "" {
		t.Type = wallet.TxIncoming
	}
	if t.State == "" {
		t.State = wallet.StatePending
	}
	if t.Type != wallet.TxIncoming {
		return s.d.errorf("InsertInvoice with type %q", t.Type)
	}
	if t.PaymentHash == "" {
		return s.d.errorf("invoice without payment hash")
	}
	switch t.State {
	case wallet.StatePending, wallet.StateAccepted, wallet.StateSettled, wallet.StateFailed:
	default:
		return fmt.Errorf("%w: cannot store an invoice as %q", wallet.ErrInvalidState, t.State)
	}
	t.CreatedAt = orNow(t.CreatedAt).Truncate(time.Second).UTC()
	t.UpdatedAt = t.CreatedAt
	return s.write(ctx, func(x runner) error {
		if err := s.insertTx(ctx, x, t); err != nil {
			return err
		}
		if t.State == wallet.StateSettled { // an imported, already paid invoice
			return s.applyDelta(ctx, x, t, t.Amount, 0)
		}
		return nil
	})
}

// SettleInvoice marks the invoice with paymentHash settled (from pending or
// accepted), recording the preimage (if given) and the amount received (if
// > 0). A second settle, from this or another instance, returns (row,
// wallet.ErrAlreadySettled) and changes nothing; a canceled invoice gives
// (row, wallet.ErrInvalidState).
func (s *Store) SettleInvoice(ctx context.Context, paymentHash, preimage string, amountReceived wallet.MSat, settledAt time.Time) (*wallet.Transaction, error) {
	at := orNow(settledAt).Unix()
	return s.transition(ctx, wallet.TxIncoming, paymentHash, func(x runner, t *wallet.Transaction) error {
		if err := movable(t, wallet.StatePending, wallet.StateAccepted); err != nil {
			return err
		}
		if preimage != "" {
			t.Preimage = preimage
		}
		if amountReceived > 0 {
			t.Amount = amountReceived
		}
		if _, err := x.exec(ctx, `UPDATE transactions SET state = 'settled', preimage = ?, amount_msat = ?,
			settled_at = ?, updated_at = ? WHERE id = ?`, t.Preimage, int64(t.Amount), at, at, t.ID); err != nil {
			return err
		}
		t.State, t.SettledAt, t.UpdatedAt = wallet.StateSettled, time.Unix(at, 0).UTC(), time.Unix(at, 0).UTC()
		return s.applyDelta(ctx, x, t, t.Amount, 0)
	})
}

// MarkInvoiceAccepted marks a pending hold invoice accepted (the payer locked
// in) with its settle deadline (block height, 0 = unknown). From any other
// state: (row, wallet.ErrInvalidState) — a repeat shows as row.State == accepted.
func (s *Store) MarkInvoiceAccepted(ctx context.Context, paymentHash string, settleDeadline uint32, at time.Time) (*wallet.Transaction, error) {
	ts := orNow(at).Unix()
	return s.transition(ctx, wallet.TxIncoming, paymentHash, func(x runner, t *wallet.Transaction) error {
		if t.State != wallet.StatePending {
			return wallet.ErrInvalidState
		}
		_, err := x.exec(ctx, `UPDATE transactions SET state = 'accepted', settle_deadline = ?, updated_at = ? WHERE id = ?`,
			deadlineArg(settleDeadline), ts, t.ID)
		t.State, t.SettleDeadline, t.UpdatedAt = wallet.StateAccepted, settleDeadline, time.Unix(ts, 0).UTC()
		return err
	})
}

// MarkInvoiceCanceled marks a pending or accepted invoice failed (canceled).
// Settled: (row, wallet.ErrAlreadySettled); already failed: (row, wallet.ErrInvalidState).
func (s *Store) MarkInvoiceCanceled(ctx context.Context, paymentHash string, at time.Time) (*wallet.Transaction, error) {
	ts := orNow(at).Unix()
	return s.transition(ctx, wallet.TxIncoming, paymentHash, func(x runner, t *wallet.Transaction) error {
		if err := movable(t, wallet.StatePending, wallet.StateAccepted); err != nil {
			return err
		}
		_, err := x.exec(ctx, `UPDATE transactions SET state = 'failed', failure_reason = 'canceled', updated_at = ? WHERE id = ?`,
			ts, t.ID)
		t.State, t.FailureReason, t.UpdatedAt = wallet.StateFailed, "canceled", time.Unix(ts, 0).UTC()
		return err
	})
}

// transition loads (locking it where the dialect locks rows) the current
// row of (typ, paymentHash) in a write transaction and lets fn change it.
// Two instances changing the same row queue on it; the second sees the
// first's result, so exactly one of them makes the change (and notifies).
// fn's sentinel errors are returned together with the (unchanged) row.
func (s *Store) transition(ctx context.Context, typ wallet.TxType, paymentHash string, fn func(x runner, t *wallet.Transaction) error) (*wallet.Transaction, error) {
	var (
		t      *wallet.Transaction
		refuse error
	)
	err := s.write(ctx, func(x runner) error {
		refuse = nil
		// For payments, the live (pending, else settled) row wins over
		// earlier failed attempts.
		row := x.queryRow(ctx, `SELECT `+txCols+` FROM transactions WHERE payment_hash = ? AND type = ?
			ORDER BY CASE state WHEN 'pending' THEN 0 WHEN 'accepted' THEN 0 WHEN 'settled' THEN 1 ELSE 2 END, id DESC
			LIMIT 1`+s.d.LockRows, paymentHash, string(typ))
		var err error
		if t, err = s.scanTx(row); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("%w: %s transaction %s", wallet.ErrNotFound, typ, paymentHash)
			}
			return err
		}
		err = fn(x, t)
		if errors.Is(err, wallet.ErrAlreadySettled) || errors.Is(err, wallet.ErrInvalidState) {
			refuse = err
			return nil // nothing written; commit the empty transaction
		}
		if err != nil {
			return s.d.errorf("update transaction: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if refuse != nil {
		return t, fmt.Errorf("%w: %s transaction %s is %s", refuse, typ, paymentHash, t.State)
	}
	return t, nil
}

// movable refuses to move t unless it is in one of the states from: a
// settled row is wallet.ErrAlreadySettled, any other wallet.ErrInvalidState.
func movable(t *wallet.Transaction, from ...wallet.TxState) error {
	switch {
	case slices.Contains(from, t.State):
		return nil
	case t.State == wallet.StateSettled:
		return wallet.ErrAlreadySettled
	}
	return wallet.ErrInvalidState
}

// Transaction returns the newest transaction with paymentHash, optionally
// restricted to a connection (connID != 0) and a type (typ != "").
func (s *Store) Transaction(ctx context.Context, connID int64, typ wallet.TxType, paymentHash string) (*wallet.Transaction, error) {
	q := `SELECT ` + txCols + ` FROM transactions WHERE payment_hash = ?`
	args := []any{paymentHash}
	if connID != 0 {
		q += ` AND connection_id = ?`
		args = append(args, connID)
	}
	if typ != "" {
		q += ` AND type = ?`
		args = append(args, string(typ))
	}
	row := s.pool().queryRow(ctx, q+` ORDER BY id DESC LIMIT 1`, args...)
	t, err := s.scanTx(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: transaction %s", wallet.ErrNotFound, paymentHash)
	}
	return t, err
}

// ListTransactions returns one page of transactions matching q, newest
// first (created_at, then id), and the number of all matching rows, both
// from one snapshot.
func (s *Store) ListTransactions(ctx context.Context, q wallet.TxQuery) ([]wallet.Transaction, int, error) {
	var (
		where []string
		args  []any
	)
	if q.ConnectionID != 0 {
		where, args = append(where, "connection_id = ?"), append(args, q.ConnectionID)
	}
	if !q.From.IsZero() {
		where, args = append(where, "created_at >= ?"), append(args, q.From.Unix())
	}
	if !q.Until.IsZero() {
		where, args = append(where, "created_at <= ?"), append(args, q.Until.Unix())
	}
	if q.Type != "" {
		where, args = append(where, "type = ?"), append(args, string(q.Type))
	}
	if !q.Unpaid {
		where = append(where, "state = 'settled'")
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	limit := int64(math.MaxInt64) // no limit, in a way both databases take
	if q.Limit > 0 {
		limit = int64(q.Limit)
	}
	countQ := `SELECT COUNT(*) FROM transactions` + cond
	pageQ := `SELECT ` + txCols + ` FROM transactions` + cond + ` ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`
	var (
		total int
		out   []wallet.Transaction
	)
	err := s.db.Snapshot(ctx, func(tx Querier) error {
		x := runner{s, tx}
		if err := x.queryRow(ctx, countQ, args...).Scan(&total); err != nil {
			return s.d.errorf("count transactions: %w", err)
		}
		rows, err := x.query(ctx, pageQ, append(args, limit, int64(max(q.Offset, 0)))...)
		out, err = collect(s, rows, err, "list transactions", s.scanTx)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// BudgetUsed returns what the connection's outgoing payments created since
// since (zero = ever) count against its budget.
func (s *Store) BudgetUsed(ctx context.Context, connID int64, since time.Time) (wallet.MSat, error) {
	return s.sum(ctx, s.pool(), budgetUsedSQL, connID, sinceArg(since))
}

// IsolatedBalance returns the connection's own balance: settled incoming
// minus settled outgoing (with fees) minus pending outgoing (with reserve).
// wallet.ErrNotFound if there is no such connection.
func (s *Store) IsolatedBalance(ctx context.Context, connID int64) (wallet.MSat, error) {
	row := s.pool().queryRow(ctx, `SELECT balance_msat FROM connections WHERE id = ?`, connID)
	var n int64
	if err := row.Scan(&n); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("%w: connection %d", wallet.ErrNotFound, connID)
		}
		return 0, s.d.errorf("balance: %w", err)
	}
	return wallet.MSat(n), nil
}

func sinceArg(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func deadlineArg(d uint32) any {
	if d == 0 {
		return nil
	}
	return int64(d)
}

func (s *Store) sum(ctx context.Context, x runner, q string, args ...any) (wallet.MSat, error) {
	row := x.queryRow(ctx, q, args...)
	var n int64
	if err := row.Scan(&n); err != nil {
		return 0, s.d.errorf("sum: %w", err)
	}
	return wallet.MSat(n), nil
}

func (s *Store) insertTx(ctx context.Context, x runner, t *wallet.Transaction) error {
	var reqID any
	if t.RequestEventID != (nostr.EventID{}) {
		reqID = t.RequestEventID.String()
	}
	row := x.queryRow(ctx, `INSERT INTO transactions (connection_id, request_event_id, type, state, hold, invoice,
		description, description_hash, preimage, payment_hash, amount_msat, fees_paid_msat, fee_reserve_msat,
		created_at, updated_at, expires_at, settled_at, settle_deadline, metadata, failure_reason)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		idArg(t.ConnectionID), reqID, string(t.Type), string(t.State), t.Hold, t.Invoice,
		t.Description, t.DescriptionHash, t.Preimage, t.PaymentHash, int64(t.Amount), int64(t.FeesPaid), int64(t.FeeReserve),
		t.CreatedAt.Unix(), t.UpdatedAt.Unix(), unixArg(t.ExpiresAt), unixArg(t.SettledAt), deadlineArg(t.SettleDeadline),
		textArg(t.Metadata), t.FailureReason)
	if err := row.Scan(&t.ID); err != nil {
		switch {
		case s.d.isUnique(err):
			return fmt.Errorf("%w: %s transaction %s", wallet.ErrExists, t.Type, t.PaymentHash)
		case s.d.isForeignKey(err):
			return fmt.Errorf("%w: connection %d", wallet.ErrNotFound, t.ConnectionID)
		}
		return s.d.errorf("insert transaction: %w", err)
	}
	return nil
}

// collect scans every row of a query (rows, err) that lists what.
func collect[T any](s *Store, rows Rows, err error, what string, scan func(scanner) (*T, error)) ([]T, error) {
	if err != nil {
		return nil, s.d.errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	if err := rows.Err(); err != nil {
		return nil, s.d.errorf("%s: %w", what, err)
	}
	return out, nil
}

func (s *Store) scanTx(sc scanner) (*wallet.Transaction, error) {
	var (
		t                      wallet.Transaction
		conn, expires, settled sql.NullInt64
		deadline               sql.NullInt64
		reqID, meta            sql.NullString
		typ, state             string
		amount, fees, reserve  int64
		created, updated       int64
	)
	err := sc.Scan(&t.ID, &conn, &reqID, &typ, &state, &t.Hold, &t.Invoice, &t.Description, &t.DescriptionHash,
		&t.Preimage, &t.PaymentHash, &amount, &fees, &reserve, &created, &updated,
		&expires, &settled, &deadline, &meta, &t.FailureReason)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	if err != nil {
		return nil, s.d.errorf("scan transaction: %w", err)
	}
	t.ConnectionID = conn.Int64
	if reqID.Valid {
		if t.RequestEventID, err = nostr.ParseEventID(reqID.String); err != nil {
			return nil, s.d.errorf("transaction %d request id: %w", t.ID, err)
		}
	}
	t.Type, t.State = wallet.TxType(typ), wallet.TxState(state)
	t.Amount, t.FeesPaid, t.FeeReserve = wallet.MSat(amount), wallet.MSat(fees), wallet.MSat(reserve)
	t.CreatedAt, t.UpdatedAt = time.Unix(created, 0).UTC(), time.Unix(updated, 0).UTC()
	t.ExpiresAt, t.SettledAt = unixTime(expires), unixTime(settled)
	t.SettleDeadline = uint32(deadline.Int64)
	if meta.Valid {
		t.Metadata = []byte(meta.String)
	}
	return &t, nil
}
