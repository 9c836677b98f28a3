package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nwc-go/nwc/internal/wallet"
	"github.com/nwc-go/nwc/nostr"
)

const txCols = `id, connection_id, request_event_id, type, state, hold, invoice, description, description_hash,
	preimage, payment_hash, amount_msat, fees_paid_msat, fee_reserve_msat, created_at, updated_at,
	expires_at, settled_at, settle_deadline, metadata, failure_reason`

// The budget of a connection in a window: settled payments count amount +
// fee paid, pending ones amount + fee reserve.
const budgetUsedSQL = `SELECT COALESCE(SUM(amount_msat +
		CASE WHEN state = 'settled' THEN fees_paid_msat ELSE fee_reserve_msat END), 0)::BIGINT
	FROM transactions
	WHERE connection_id = $1 AND type = 'outgoing' AND state IN ('pending', 'settled') AND created_at >= $2`

// applyDeltaSQL moves a connection's running totals: the balance always,
// the budget counter only for transactions created inside the window it
// was computed for.
const applyDeltaSQL = `UPDATE connections SET balance_msat = balance_msat + $1,
	budget_used_msat = budget_used_msat +
		CASE WHEN budget_window_start IS NOT NULL AND budget_window_start <= $2 THEN $3::BIGINT ELSE 0 END
	WHERE id = $4`

// applyDelta keeps the totals of t's connection in step with a change of t.
func applyDelta(ctx context.Context, q querier, t *wallet.Transaction, balance, used wallet.MSat) error {
	if t.ConnectionID == 0 || (balance == 0 && used == 0) {
		return nil
	}
	if _, err := q.Exec(ctx, applyDeltaSQL, int64(balance), t.CreatedAt.Unix(), int64(used), t.ConnectionID); err != nil {
		return fmt.Errorf("postgres: connection totals: %w", err)
	}
	return nil
}

// ReservePayment checks and records an outgoing payment in one transaction
// that first locks the connection's row, so reservations of a connection
// serialise across instances: wallet.ErrAlreadyPaid / wallet.ErrPaymentPending
// if a settled / pending outgoing row has the payment hash,
// wallet.ErrQuotaExceeded if the window's used budget + amount + reserve
// exceed the limit, wallet.ErrInsufficientBalance if an isolated
// connection's balance is below amount + reserve; else it inserts and
// returns the pending row. r.Request, if set, is recorded first in the same
// transaction (see wallet.PaymentReservation).
func (s *Store) ReservePayment(ctx context.Context, r wallet.PaymentReservation) (*wallet.Transaction, error) {
	if r.PaymentHash == "" {
		return nil, errors.New("postgres: reservation without payment hash")
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
	err := s.write(ctx, func(tx pgx.Tx) error {
		if r.Request != nil {
			if err := insertRequest(ctx, tx, r.Request); err != nil {
				return err
			}
		}
		var err error
		if refuse, err = checkReservation(ctx, tx, &r); err != nil || refuse != nil {
			return err // on a refusal, commit the budget window checkReservation cached
		}
		if err := insertTx(ctx, tx, t); err != nil {
			return err
		}
		return applyDelta(ctx, tx, t, -(r.Amount + r.FeeReserve), r.Amount+r.FeeReserve)
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
	refuse, err := hashRefusal(ctx, s.pool, hash)
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
func hashRefusal(ctx context.Context, q querier, hash string) (refuse, err error) {
	var state string
	err = q.QueryRow(ctx, `SELECT state FROM transactions
		WHERE payment_hash = $1 AND type = 'outgoing' AND state IN ('pending', 'settled') LIMIT 1`, hash).Scan(&state)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("postgres: reserve: %w", err)
	case state == string(wallet.StateSettled):
		return fmt.Errorf("%w: %s", wallet.ErrAlreadyPaid, hash), nil
	default:
		return fmt.Errorf("%w: %s", wallet.ErrPaymentPending, hash), nil
	}
}

// checkReservation returns the refusal for r, if any (or an error of the
// store itself). It runs inside the reservation's transaction and takes the
// connection row's lock first: every reservation of the connection, from
// any instance, waits here until the previous one has committed, and then
// sees its row.
func checkReservation(ctx context.Context, tx pgx.Tx, r *wallet.PaymentReservation) (refuse, err error) {
	var (
		balance, used int64
		window        *int64
		found         = true
	)
	if r.ConnectionID != 0 {
		// FOR NO KEY UPDATE: the row lock UPDATE takes, which does not wait
		// for the key-share locks of foreign keys (inserts of requests and
		// invoices of this connection go on).
		err := tx.QueryRow(ctx, `SELECT balance_msat, budget_window_start, budget_used_msat
			FROM connections WHERE id = $1 FOR NO KEY UPDATE`, r.ConnectionID).Scan(&balance, &window, &used)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			found = false
		case err != nil:
			return nil, fmt.Errorf("postgres: reserve: %w", err)
		}
	}
	// Refusals come in a fixed order: hash, quota, balance.
	if refuse, err := hashRefusal(ctx, tx, r.PaymentHash); err != nil || refuse != nil {
		return refuse, err
	}
	if r.ConnectionID == 0 {
		return nil, nil // a node-level payment: no budget, no own balance
	}
	if !found {
		return nil, fmt.Errorf("%w: connection %d", wallet.ErrNotFound, r.ConnectionID)
	}
	if r.Budget.Enabled() {
		if ws := sinceArg(r.WindowStart); window == nil || *window != ws {
			// A new window (or another instance's idea of it): count it once
			// from the rows; from then on the counter is kept in step.
			if err := tx.QueryRow(ctx, budgetUsedSQL, r.ConnectionID, ws).Scan(&used); err != nil {
				return nil, fmt.Errorf("postgres: budget sum: %w", err)
			}
			if _, err := tx.Exec(ctx, `UPDATE connections SET budget_window_start = $1, budget_used_msat = $2 WHERE id = $3`,
				ws, used, r.ConnectionID); err != nil {
				return nil, fmt.Errorf("postgres: budget window: %w", err)
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
	return s.transition(ctx, wallet.TxOutgoing, paymentHash, func(tx pgx.Tx, t *wallet.Transaction) error {
		switch t.State {
		case wallet.StateSettled:
			return wallet.ErrAlreadySettled
		case wallet.StatePending:
		default:
			return wallet.ErrInvalidState
		}
		if _, err := tx.Exec(ctx, `UPDATE transactions SET state = 'settled', preimage = $1, fees_paid_msat = $2,
			settled_at = $3, updated_at = $3 WHERE id = $4`, preimage, int64(fee), at, t.ID); err != nil {
			return err
		}
		t.State, t.Preimage, t.FeesPaid = wallet.StateSettled, preimage, fee
		t.SettledAt, t.UpdatedAt = time.Unix(at, 0).UTC(), time.Unix(at, 0).UTC()
		// The reserve is released, the fee actually paid is spent.
		return applyDelta(ctx, tx, t, t.FeeReserve-fee, fee-t.FeeReserve)
	})
}

// FailPayment marks the pending payment with paymentHash failed, which
// releases its budget and balance. Settled: (row, wallet.ErrAlreadySettled);
// already failed: (row, wallet.ErrInvalidState).
func (s *Store) FailPayment(ctx context.Context, paymentHash, reason string, at time.Time) (*wallet.Transaction, error) {
	ts := orNow(at).Unix()
	return s.transition(ctx, wallet.TxOutgoing, paymentHash, func(tx pgx.Tx, t *wallet.Transaction) error {
		switch t.State {
		case wallet.StateSettled:
			return wallet.ErrAlreadySettled
		case wallet.StatePending:
		default:
			return wallet.ErrInvalidState
		}
		if _, err := tx.Exec(ctx, `UPDATE transactions SET state = 'failed', failure_reason = $1, updated_at = $2 WHERE id = $3`,
			reason, ts, t.ID); err != nil {
			return err
		}
		t.State, t.FailureReason, t.UpdatedAt = wallet.StateFailed, reason, time.Unix(ts, 0).UTC()
		return applyDelta(ctx, tx, t, t.Amount+t.FeeReserve, -(t.Amount + t.FeeReserve))
	})
}

// PendingPayments returns the outgoing payments still pending, oldest first
// (to reconcile with the backend on start).
func (s *Store) PendingPayments(ctx context.Context) ([]wallet.Transaction, error) {
	return listTx(ctx, s.pool, `SELECT `+txCols+` FROM transactions
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
		return fmt.Errorf("postgres: InsertInvoice with type %q", t.Type)
	}
	if t.PaymentHash == "" {
		return errors.New("postgres: invoice without payment hash")
	}
	switch t.State {
	case wallet.StatePending, wallet.StateAccepted, wallet.StateSettled, wallet.StateFailed:
	default:
		return fmt.Errorf("%w: cannot store an invoice as %q", wallet.ErrInvalidState, t.State)
	}
	t.CreatedAt = orNow(t.CreatedAt).Truncate(time.Second).UTC()
	t.UpdatedAt = t.CreatedAt
	return s.write(ctx, func(tx pgx.Tx) error {
		if err := insertTx(ctx, tx, t); err != nil {
			return err
		}
		if t.State == wallet.StateSettled { // an imported, already paid invoice
			return applyDelta(ctx, tx, t, t.Amount, 0)
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
	return s.transition(ctx, wallet.TxIncoming, paymentHash, func(tx pgx.Tx, t *wallet.Transaction) error {
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
		if _, err := tx.Exec(ctx, `UPDATE transactions SET state = 'settled', preimage = $1, amount_msat = $2,
			settled_at = $3, updated_at = $3 WHERE id = $4`, t.Preimage, int64(t.Amount), at, t.ID); err != nil {
			return err
		}
		t.State, t.SettledAt, t.UpdatedAt = wallet.StateSettled, time.Unix(at, 0).UTC(), time.Unix(at, 0).UTC()
		return applyDelta(ctx, tx, t, t.Amount, 0)
	})
}

// MarkInvoiceAccepted marks a pending hold invoice accepted (the payer locked
// in) with its settle deadline (block height, 0 = unknown). From any other
// state: (row, wallet.ErrInvalidState) — a repeat shows as row.State == accepted.
func (s *Store) MarkInvoiceAccepted(ctx context.Context, paymentHash string, settleDeadline uint32, at time.Time) (*wallet.Transaction, error) {
	ts := orNow(at).Unix()
	return s.transition(ctx, wallet.TxIncoming, paymentHash, func(tx pgx.Tx, t *wallet.Transaction) error {
		if t.State != wallet.StatePending {
			return wallet.ErrInvalidState
		}
		var dl *int64
		if settleDeadline > 0 {
			v := int64(settleDeadline)
			dl = &v
		}
		_, err := tx.Exec(ctx, `UPDATE transactions SET state = 'accepted', settle_deadline = $1, updated_at = $2 WHERE id = $3`,
			dl, ts, t.ID)
		t.State, t.SettleDeadline, t.UpdatedAt = wallet.StateAccepted, settleDeadline, time.Unix(ts, 0).UTC()
		return err
	})
}

// MarkInvoiceCanceled marks a pending or accepted invoice failed (canceled).
// Settled: (row, wallet.ErrAlreadySettled); already failed: (row, wallet.ErrInvalidState).
func (s *Store) MarkInvoiceCanceled(ctx context.Context, paymentHash string, at time.Time) (*wallet.Transaction, error) {
	ts := orNow(at).Unix()
	return s.transition(ctx, wallet.TxIncoming, paymentHash, func(tx pgx.Tx, t *wallet.Transaction) error {
		switch t.State {
		case wallet.StateSettled:
			return wallet.ErrAlreadySettled
		case wallet.StatePending, wallet.StateAccepted:
		default:
			return wallet.ErrInvalidState
		}
		_, err := tx.Exec(ctx, `UPDATE transactions SET state = 'failed', failure_reason = 'canceled', updated_at = $1 WHERE id = $2`,
			ts, t.ID)
		t.State, t.FailureReason, t.UpdatedAt = wallet.StateFailed, "canceled", time.Unix(ts, 0).UTC()
		return err
	})
}

// transition locks the current row of (typ, paymentHash) and lets fn change
// it. Two instances settling the same row queue on the row lock; the second
// sees the first's result, so exactly one of them makes the change (and
// notifies). fn's sentinel errors are returned together with the row.
func (s *Store) transition(ctx context.Context, typ wallet.TxType, paymentHash string, fn func(tx pgx.Tx, t *wallet.Transaction) error) (*wallet.Transaction, error) {
	var (
		t      *wallet.Transaction
		refuse error
	)
	err := s.write(ctx, func(tx pgx.Tx) error {
		refuse = nil
		// For payments, the live (pending, else settled) row wins over
		// earlier failed attempts.
		var err error
		t, err = scanTx(tx.QueryRow(ctx, `SELECT `+txCols+` FROM transactions WHERE payment_hash = $1 AND type = $2
			ORDER BY CASE state WHEN 'pending' THEN 0 WHEN 'accepted' THEN 0 WHEN 'settled' THEN 1 ELSE 2 END, id DESC
			LIMIT 1 FOR NO KEY UPDATE`, paymentHash, string(typ)))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: %s transaction %s", wallet.ErrNotFound, typ, paymentHash)
		}
		if err != nil {
			return err
		}
		err = fn(tx, t)
		if errors.Is(err, wallet.ErrAlreadySettled) || errors.Is(err, wallet.ErrInvalidState) {
			refuse = err
			return nil
		}
		if err != nil {
			return fmt.Errorf("postgres: update transaction: %w", err)
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
	q := `SELECT ` + txCols + ` FROM transactions WHERE payment_hash = $1`
	args := []any{paymentHash}
	if connID != 0 {
		args = append(args, connID)
		q += ` AND connection_id = $` + strconv.Itoa(len(args))
	}
	if typ != "" {
		args = append(args, string(typ))
		q += ` AND type = $` + strconv.Itoa(len(args))
	}
	t, err := scanTx(s.pool.QueryRow(ctx, q+` ORDER BY id DESC LIMIT 1`, args...))
	if errors.Is(err, pgx.ErrNoRows) {
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
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if q.ConnectionID != 0 {
		add("connection_id = ?", q.ConnectionID)
	}
	if !q.From.IsZero() {
		add("created_at >= ?", q.From.Unix())
	}
	if !q.Until.IsZero() {
		add("created_at <= ?", q.Until.Unix())
	}
	if q.Type != "" {
		add("type = ?", string(q.Type))
	}
	if !q.Unpaid {
		where = append(where, "state = 'settled'")
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var limit *int64 // NULL: no limit
	if q.Limit > 0 {
		l := int64(q.Limit)
		limit = &l
	}
	n := len(args)
	page := `SELECT ` + txCols + ` FROM transactions` + cond + ` ORDER BY created_at DESC, id DESC LIMIT $` +
		strconv.Itoa(n+1) + ` OFFSET $` + strconv.Itoa(n+2)
	var (
		total int
		out   []wallet.Transaction
	)
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM transactions`+cond, args...).Scan(&total); err != nil {
			return fmt.Errorf("postgres: count transactions: %w", err)
		}
		var err error
		out, err = listTx(ctx, tx, page, append(args, limit, int64(max(q.Offset, 0)))...)
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
	var n int64
	if err := s.pool.QueryRow(ctx, budgetUsedSQL, connID, sinceArg(since)).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: budget used: %w", err)
	}
	return wallet.MSat(n), nil
}

// IsolatedBalance returns the connection's own balance: settled incoming
// minus settled outgoing (with fees) minus pending outgoing (with reserve).
// wallet.ErrNotFound if there is no such connection.
func (s *Store) IsolatedBalance(ctx context.Context, connID int64) (wallet.MSat, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT balance_msat FROM connections WHERE id = $1`, connID).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("%w: connection %d", wallet.ErrNotFound, connID)
	}
	if err != nil {
		return 0, fmt.Errorf("postgres: balance: %w", err)
	}
	return wallet.MSat(n), nil
}

func sinceArg(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func insertTx(ctx context.Context, q querier, t *wallet.Transaction) error {
	var reqID *string
	if t.RequestEventID != (nostr.EventID{}) {
		id := t.RequestEventID.String()
		reqID = &id
	}
	var dl *int64
	if t.SettleDeadline > 0 {
		v := int64(t.SettleDeadline)
		dl = &v
	}
	err := q.QueryRow(ctx, `INSERT INTO transactions (connection_id, request_event_id, type, state, hold, invoice,
		description, description_hash, preimage, payment_hash, amount_msat, fees_paid_msat, fee_reserve_msat,
		created_at, updated_at, expires_at, settled_at, settle_deadline, metadata, failure_reason)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20) RETURNING id`,
		idArg(t.ConnectionID), reqID, string(t.Type), string(t.State), t.Hold, t.Invoice,
		t.Description, t.DescriptionHash, t.Preimage, t.PaymentHash, int64(t.Amount), int64(t.FeesPaid), int64(t.FeeReserve),
		t.CreatedAt.Unix(), t.UpdatedAt.Unix(), unixArg(t.ExpiresAt), unixArg(t.SettledAt), dl,
		textArg(t.Metadata), t.FailureReason).Scan(&t.ID)
	switch {
	case err == nil:
		return nil
	case isUnique(err):
		return fmt.Errorf("%w: %s transaction %s", wallet.ErrExists, t.Type, t.PaymentHash)
	case isForeignKey(err):
		return fmt.Errorf("%w: connection %d", wallet.ErrNotFound, t.ConnectionID)
	}
	return fmt.Errorf("postgres: insert transaction: %w", err)
}

func listTx(ctx context.Context, q querier, sql string, args ...any) ([]wallet.Transaction, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: list transactions: %w", err)
	}
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
		return nil, fmt.Errorf("postgres: list transactions: %w", err)
	}
	return out, nil
}

func scanTx(row pgx.Row) (*wallet.Transaction, error) {
	var (
		t                      wallet.Transaction
		conn, expires, settled *int64
		deadline               *int64
		reqID, meta            *string
		typ, state             string
		amount, fees, reserve  int64
		created, updated       int64
	)
	err := row.Scan(&t.ID, &conn, &reqID, &typ, &state, &t.Hold, &t.Invoice, &t.Description, &t.DescriptionHash,
		&t.Preimage, &t.PaymentHash, &amount, &fees, &reserve, &created, &updated,
		&expires, &settled, &deadline, &meta, &t.FailureReason)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: scan transaction: %w", err)
	}
	if conn != nil {
		t.ConnectionID = *conn
	}
	if reqID != nil {
		if t.RequestEventID, err = nostr.ParseEventID(*reqID); err != nil {
			return nil, fmt.Errorf("postgres: transaction %d request id: %w", t.ID, err)
		}
	}
	t.Type, t.State = wallet.TxType(typ), wallet.TxState(state)
	t.Amount, t.FeesPaid, t.FeeReserve = wallet.MSat(amount), wallet.MSat(fees), wallet.MSat(reserve)
	t.CreatedAt, t.UpdatedAt = time.Unix(created, 0).UTC(), time.Unix(updated, 0).UTC()
	t.ExpiresAt, t.SettledAt = unixTime(expires), unixTime(settled)
	if deadline != nil {
		t.SettleDeadline = uint32(*deadline)
	}
	if meta != nil {
		t.Metadata = []byte(*meta)
	}
	return &t, nil
}
