package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nwc-go/nwc/internal/wallet"
	"github.com/nwc-go/nwc/nostr"
)

const txCols = `id, connection_id, request_event_id, type, state, hold, invoice, description, description_hash,
	preimage, payment_hash, amount_msat, fees_paid_msat, fee_reserve_msat, created_at, updated_at,
	expires_at, settled_at, settle_deadline, metadata, failure_reason`

// The budget of a connection in a window: settled payments count amount +
// fee paid, pending ones amount + fee reserve.
const budgetUsedSQL = `SELECT COALESCE(SUM(amount_msat +
		CASE WHEN state = 'settled' THEN fees_paid_msat ELSE fee_reserve_msat END), 0)
	FROM transactions
	WHERE connection_id = ? AND type = 'outgoing' AND state IN ('pending', 'settled') AND created_at >= ?`

// applyDeltaSQL moves a connection's running totals: the balance always,
// the budget counter only for transactions created inside the window it
// was computed for.
const applyDeltaSQL = `UPDATE connections SET balance_msat = balance_msat + ?,
	budget_used_msat = budget_used_msat +
		CASE WHEN budget_window_start IS NOT NULL AND budget_window_start <= ? THEN ? ELSE 0 END
	WHERE id = ?`

// applyDelta keeps the totals of t's connection in step with a change of t.
func applyDelta(ctx context.Context, x runner, t *wallet.Transaction, balance, used wallet.MSat) error {
	if t.ConnectionID == 0 || (balance == 0 && used == 0) {
		return nil
	}
	_, err := x.exec(ctx, applyDeltaSQL, int64(balance), t.CreatedAt.Unix(), int64(used), t.ConnectionID)
	if err != nil {
		return fmt.Errorf("sqlite: connection totals: %w", err)
	}
	return nil
}

// ReservePayment checks and records an outgoing payment in one BEGIN
// IMMEDIATE transaction: wallet.ErrAlreadyPaid / wallet.ErrPaymentPending if
// a settled / pending outgoing row has the payment hash, wallet.ErrQuotaExceeded
// if the window's used budget + amount + reserve exceed the limit,
// wallet.ErrInsufficientBalance if an isolated connection's balance is below
// amount + reserve; else it inserts and returns the pending row. r.Request,
// if set, is recorded first in the same transaction (see
// wallet.PaymentReservation).
func (s *Store) ReservePayment(ctx context.Context, r wallet.PaymentReservation) (*wallet.Transaction, error) {
	if r.PaymentHash == "" {
		return nil, errors.New("sqlite: reservation without payment hash")
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
			if err := insertRequest(ctx, x, r.Request); err != nil {
				return err
			}
		}
		var err error
		if refuse, err = checkReservation(ctx, x, &r); err != nil || refuse != nil {
			return err // on a refusal, commit what checkReservation cached
		}
		if err := insertTx(ctx, x, t); err != nil {
			return err
		}
		return applyDelta(ctx, x, t, -(r.Amount + r.FeeReserve), r.Amount+r.FeeReserve)
	})
	if err != nil {
		return nil, err
	}
	if refuse != nil {
		return nil, refuse
	}
	return t, nil
}

// checkReservation returns the refusal for r, if any (or an error of the
// store itself). It runs inside the reservation's write transaction.
func checkReservation(ctx context.Context, x runner, r *wallet.PaymentReservation) (refuse, err error) {
	row, err := x.queryRow(ctx, `SELECT state FROM transactions
		WHERE payment_hash = ? AND type = 'outgoing' AND state IN ('pending', 'settled') LIMIT 1`, r.PaymentHash)
	if err != nil {
		return nil, err
	}
	var state string
	switch err := row.Scan(&state); {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return nil, fmt.Errorf("sqlite: reserve: %w", err)
	case state == string(wallet.StateSettled):
		return fmt.Errorf("%w: %s", wallet.ErrAlreadyPaid, r.PaymentHash), nil
	default:
		return fmt.Errorf("%w: %s", wallet.ErrPaymentPending, r.PaymentHash), nil
	}
	if r.ConnectionID == 0 {
		return nil, nil // a node-level payment: no budget, no own balance
	}
	if row, err = x.queryRow(ctx, `SELECT balance_msat, budget_window_start, budget_used_msat FROM connections WHERE id = ?`,
		r.ConnectionID); err != nil {
		return nil, err
	}
	var (
		balance, used int64
		window        sql.NullInt64
	)
	if err := row.Scan(&balance, &window, &used); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("%w: connection %d", wallet.ErrNotFound, r.ConnectionID)
		}
		return nil, fmt.Errorf("sqlite: reserve: %w", err)
	}
	if r.Budget.Enabled() {
		if ws := sinceArg(r.WindowStart); !window.Valid || window.Int64 != ws {
			// A new window (or another instance's idea of it): count it once
			// from the rows; from then on the counter is kept in step.
			sum, err := sumQuery(ctx, x, budgetUsedSQL, r.ConnectionID, ws)
			if err != nil {
				return nil, err
			}
			used = int64(sum)
			if _, err := x.exec(ctx, `UPDATE connections SET budget_window_start = ?, budget_used_msat = ? WHERE id = ?`,
				ws, used, r.ConnectionID); err != nil {
				return nil, fmt.Errorf("sqlite: budget window: %w", err)
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
		switch t.State {
		case wallet.StateSettled:
			return wallet.ErrAlreadySettled
		case wallet.StatePending:
		default:
			return wallet.ErrInvalidState
		}
		if _, err := x.exec(ctx, `UPDATE transactions SET state = 'settled', preimage = ?, fees_paid_msat = ?,
			settled_at = ?, updated_at = ? WHERE id = ?`, preimage, int64(fee), at, at, t.ID); err != nil {
			return err
		}
		t.State, t.Preimage, t.FeesPaid = wallet.StateSettled, preimage, fee
		t.SettledAt, t.UpdatedAt = time.Unix(at, 0).UTC(), time.Unix(at, 0).UTC()
		// The reserve is released, the fee actually paid is spent.
		return applyDelta(ctx, x, t, t.FeeReserve-fee, fee-t.FeeReserve)
	})
}

// FailPayment marks the pending payment with paymentHash failed, which
// releases its budget and balance. Settled: (row, wallet.ErrAlreadySettled);
// already failed: (row, wallet.ErrInvalidState).
func (s *Store) FailPayment(ctx context.Context, paymentHash, reason string, at time.Time) (*wallet.Transaction, error) {
	ts := orNow(at).Unix()
	return s.transition(ctx, wallet.TxOutgoing, paymentHash, func(x runner, t *wallet.Transaction) error {
		switch t.State {
		case wallet.StateSettled:
			return wallet.ErrAlreadySettled
		case wallet.StatePending:
		default:
			return wallet.ErrInvalidState
		}
		if _, err := x.exec(ctx, `UPDATE transactions SET state = 'failed', failure_reason = ?, updated_at = ? WHERE id = ?`,
			reason, ts, t.ID); err != nil {
			return err
		}
		t.State, t.FailureReason, t.UpdatedAt = wallet.StateFailed, reason, time.Unix(ts, 0).UTC()
		return applyDelta(ctx, x, t, t.Amount+t.FeeReserve, -(t.Amount + t.FeeReserve))
	})
}

// PendingPayments returns the outgoing payments still pending, oldest first
// (to reconcile with the backend on start).
func (s *Store) PendingPayments(ctx context.Context) ([]wallet.Transaction, error) {
	return s.listTx(ctx, s.pool(), `SELECT `+txCols+` FROM transactions
		WHERE state = 'pending' AND type = 'outgoing' ORDER BY created_at, id`)
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
		return fmt.Errorf("sqlite: InsertInvoice with type %q", t.Type)
	}
	if t.PaymentHash == "" {
		return errors.New("sqlite: invoice without payment hash")
	}
	switch t.State {
	case wallet.StatePending, wallet.StateAccepted, wallet.StateSettled, wallet.StateFailed:
	default:
		return fmt.Errorf("%w: cannot store an invoice as %q", wallet.ErrInvalidState, t.State)
	}
	t.CreatedAt = orNow(t.CreatedAt).Truncate(time.Second).UTC()
	t.UpdatedAt = t.CreatedAt
	return s.write(ctx, func(x runner) error {
		if err := insertTx(ctx, x, t); err != nil {
			return err
		}
		if t.State == wallet.StateSettled { // an imported, already paid invoice
			return applyDelta(ctx, x, t, t.Amount, 0)
		}
		return nil
	})
}

// SettleInvoice marks the invoice with paymentHash settled (from pending or
// accepted), recording the preimage (if given) and the amount received (if
// > 0). A second settle returns (row, wallet.ErrAlreadySettled) and changes
// nothing; a canceled invoice gives (row, wallet.ErrInvalidState).
func (s *Store) SettleInvoice(ctx context.Context, paymentHash, preimage string, amountReceived wallet.MSat, settledAt time.Time) (*wallet.Transaction, error) {
	at := orNow(settledAt).Unix()
	return s.transition(ctx, wallet.TxIncoming, paymentHash, func(x runner, t *wallet.Transaction) error {
		switch t.State {
		case wallet.StateSettled:
			return wallet.ErrAlreadySettled
		case wallet.StatePending, wallet.StateAccepted:
		default:
			return wallet.ErrInvalidState
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
		return applyDelta(ctx, x, t, t.Amount, 0)
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
		var dl any
		if settleDeadline > 0 {
			dl = int64(settleDeadline)
		}
		_, err := x.exec(ctx, `UPDATE transactions SET state = 'accepted', settle_deadline = ?, updated_at = ? WHERE id = ?`,
			dl, ts, t.ID)
		t.State, t.SettleDeadline, t.UpdatedAt = wallet.StateAccepted, settleDeadline, time.Unix(ts, 0).UTC()
		return err
	})
}

// MarkInvoiceCanceled marks a pending or accepted invoice failed (canceled).
// Settled: (row, wallet.ErrAlreadySettled); already failed: (row, wallet.ErrInvalidState).
func (s *Store) MarkInvoiceCanceled(ctx context.Context, paymentHash string, at time.Time) (*wallet.Transaction, error) {
	ts := orNow(at).Unix()
	return s.transition(ctx, wallet.TxIncoming, paymentHash, func(x runner, t *wallet.Transaction) error {
		switch t.State {
		case wallet.StateSettled:
			return wallet.ErrAlreadySettled
		case wallet.StatePending, wallet.StateAccepted:
		default:
			return wallet.ErrInvalidState
		}
		_, err := x.exec(ctx, `UPDATE transactions SET state = 'failed', failure_reason = 'canceled', updated_at = ? WHERE id = ?`,
			ts, t.ID)
		t.State, t.FailureReason, t.UpdatedAt = wallet.StateFailed, "canceled", time.Unix(ts, 0).UTC()
		return err
	})
}

// transition loads the current row of (typ, paymentHash) in a write
// transaction and lets fn change it. fn's sentinel errors are returned
// together with the (unchanged) row.
func (s *Store) transition(ctx context.Context, typ wallet.TxType, paymentHash string, fn func(x runner, t *wallet.Transaction) error) (*wallet.Transaction, error) {
	var (
		t      *wallet.Transaction
		refuse error
	)
	err := s.write(ctx, func(x runner) error {
		// For payments, the live (pending, else settled) row wins over
		// earlier failed attempts.
		row, err := x.queryRow(ctx, `SELECT `+txCols+` FROM transactions WHERE payment_hash = ? AND type = ?
			ORDER BY CASE state WHEN 'pending' THEN 0 WHEN 'accepted' THEN 0 WHEN 'settled' THEN 1 ELSE 2 END, id DESC
			LIMIT 1`, paymentHash, string(typ))
		if err != nil {
			return err
		}
		if t, err = scanTx(row); err != nil {
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
			return fmt.Errorf("sqlite: update transaction: %w", err)
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
	row, err := s.pool().queryRow(ctx, q+` ORDER BY id DESC LIMIT 1`, args...)
	if err != nil {
		return nil, err
	}
	t, err := scanTx(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: transaction %s", wallet.ErrNotFound, paymentHash)
	}
	return t, err
}

// ListTransactions returns one page of transactions matching q, newest
// first (created_at, then id), and the number of all matching rows.
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
	limit := int64(q.Limit)
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	var (
		total int
		out   []wallet.Transaction
	)
	// Prepare before taking a pooled connection for the transaction, so
	// concurrent listings cannot exhaust the pool while preparing.
	x := s.pool()
	countSt, err := x.prep(ctx, false, `SELECT COUNT(*) FROM transactions`+cond)
	if err != nil {
		return nil, 0, err
	}
	st, err := x.prep(ctx, false, `SELECT `+txCols+` FROM transactions`+cond+` ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`)
	if err != nil {
		return nil, 0, err
	}
	// One read transaction so the page and the count see the same snapshot.
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite: list transactions: %w", err)
	}
	defer tx.Rollback()
	if err := tx.StmtContext(ctx, countSt).QueryRowContext(ctx, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("sqlite: count transactions: %w", err)
	}
	rows, err := tx.StmtContext(ctx, st).QueryContext(ctx, append(args, limit, max(q.Offset, 0))...)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite: list transactions: %w", err)
	}
	if out, err = collectTx(rows); err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// BudgetUsed returns what the connection's outgoing payments created since
// since (zero = ever) count against its budget.
func (s *Store) BudgetUsed(ctx context.Context, connID int64, since time.Time) (wallet.MSat, error) {
	return sumQuery(ctx, s.pool(), budgetUsedSQL, connID, sinceArg(since))
}

// IsolatedBalance returns the connection's own balance: settled incoming
// minus settled outgoing (with fees) minus pending outgoing (with reserve).
// wallet.ErrNotFound if there is no such connection.
func (s *Store) IsolatedBalance(ctx context.Context, connID int64) (wallet.MSat, error) {
	row, err := s.pool().queryRow(ctx, `SELECT balance_msat FROM connections WHERE id = ?`, connID)
	if err != nil {
		return 0, err
	}
	var n int64
	if err := row.Scan(&n); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("%w: connection %d", wallet.ErrNotFound, connID)
		}
		return 0, fmt.Errorf("sqlite: balance: %w", err)
	}
	return wallet.MSat(n), nil
}

func sinceArg(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func sumQuery(ctx context.Context, x runner, q string, args ...any) (wallet.MSat, error) {
	row, err := x.queryRow(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	var n int64
	if err := row.Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: sum: %w", err)
	}
	return wallet.MSat(n), nil
}

func insertTx(ctx context.Context, x runner, t *wallet.Transaction) error {
	var reqID any
	if t.RequestEventID != (nostr.EventID{}) {
		reqID = t.RequestEventID.String()
	}
	var dl any
	if t.SettleDeadline > 0 {
		dl = int64(t.SettleDeadline)
	}
	row, err := x.writeRow(ctx, `INSERT INTO transactions (connection_id, request_event_id, type, state, hold, invoice,
		description, description_hash, preimage, payment_hash, amount_msat, fees_paid_msat, fee_reserve_msat,
		created_at, updated_at, expires_at, settled_at, settle_deadline, metadata, failure_reason)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		idArg(t.ConnectionID), reqID, string(t.Type), string(t.State), boolInt(t.Hold), t.Invoice,
		t.Description, t.DescriptionHash, t.Preimage, t.PaymentHash, int64(t.Amount), int64(t.FeesPaid), int64(t.FeeReserve),
		t.CreatedAt.Unix(), t.UpdatedAt.Unix(), unixArg(t.ExpiresAt), unixArg(t.SettledAt), dl,
		textArg(t.Metadata), t.FailureReason)
	if err != nil {
		return err
	}
	if err := row.Scan(&t.ID); err != nil {
		switch {
		case isUnique(err):
			return fmt.Errorf("%w: %s transaction %s", wallet.ErrExists, t.Type, t.PaymentHash)
		case isForeignKey(err):
			return fmt.Errorf("%w: connection %d", wallet.ErrNotFound, t.ConnectionID)
		}
		return fmt.Errorf("sqlite: insert transaction: %w", err)
	}
	return nil
}

func (s *Store) listTx(ctx context.Context, x runner, q string, args ...any) ([]wallet.Transaction, error) {
	rows, err := x.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list transactions: %w", err)
	}
	return collectTx(rows)
}

func collectTx(rows *sql.Rows) ([]wallet.Transaction, error) {
	defer rows.Close()
	var out []wallet.Transaction
	for rows.Next() {
		t, err := scanTx(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list transactions: %w", err)
	}
	return out, nil
}

func scanTx(sc scanner) (*wallet.Transaction, error) {
	var (
		t                      wallet.Transaction
		conn, expires, settled sql.NullInt64
		deadline               sql.NullInt64
		reqID, meta            sql.NullString
		typ, state             string
		hold                   int64
		amount, fees, reserve  int64
		created, updated       int64
	)
	err := sc.Scan(&t.ID, &conn, &reqID, &typ, &state, &hold, &t.Invoice, &t.Description, &t.DescriptionHash,
		&t.Preimage, &t.PaymentHash, &amount, &fees, &reserve, &created, &updated,
		&expires, &settled, &deadline, &meta, &t.FailureReason)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: scan transaction: %w", err)
	}
	t.ConnectionID = conn.Int64
	if reqID.Valid {
		if t.RequestEventID, err = nostr.ParseEventID(reqID.String); err != nil {
			return nil, fmt.Errorf("sqlite: transaction %d request id: %w", t.ID, err)
		}
	}
	t.Type, t.State, t.Hold = wallet.TxType(typ), wallet.TxState(state), hold != 0
	t.Amount, t.FeesPaid, t.FeeReserve = wallet.MSat(amount), wallet.MSat(fees), wallet.MSat(reserve)
	t.CreatedAt, t.UpdatedAt = time.Unix(created, 0).UTC(), time.Unix(updated, 0).UTC()
	t.ExpiresAt, t.SettledAt = unixTime(expires), unixTime(settled)
	t.SettleDeadline = uint32(deadline.Int64)
	if meta.Valid {
		t.Metadata = []byte(meta.String)
	}
	return &t, nil
}
