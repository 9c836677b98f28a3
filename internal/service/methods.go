package service

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/nwc-go/nwc/internal/lightning"
	"github.com/nwc-go/nwc/internal/lightning/bolt11"
	"github.com/nwc-go/nwc/internal/wallet"
	"github.com/nwc-go/nwc/nip47"
)

// serve runs one admitted request and returns its replies.
func (s *Service) serve(ctx context.Context, r *request) []reply {
	params, err := nip47.DecodeParams(r.method, r.params)
	if err != nil {
		return []reply{s.failure(r.method, err)}
	}
	switch p := params.(type) {
	case *nip47.PayInvoiceParams:
		return []reply{s.payInvoice(ctx, r, p.Invoice, p.Amount, p.Metadata)}
	case *nip47.PayKeysendParams:
		return []reply{s.payKeysend(ctx, r, p)}
	case *nip47.MultiPayInvoiceParams:
		return s.multiPayInvoice(ctx, r, p)
	case *nip47.MultiPayKeysendParams:
		return s.multiPayKeysend(ctx, r, p)
	}
	res, moved, err := s.call(ctx, r, params)
	if err != nil {
		return []reply{s.failure(r.method, err)}
	}
	return []reply{s.success(r.method, res, moved)}
}

// call serves the methods that answer once and do not spend.
func (s *Service) call(ctx context.Context, r *request, params any) (any, wallet.MSat, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	switch p := params.(type) {
	case *nip47.MakeInvoiceParams:
		return s.makeInvoice(ctx, r, p.Amount, p.Description, p.DescriptionHash, p.Expiry, "", 0, p.Metadata)
	case *nip47.MakeHoldInvoiceParams:
		return s.makeInvoice(ctx, r, p.Amount, p.Description, p.DescriptionHash, p.Expiry, p.PaymentHash, p.MinCLTVExpiryDelta, p.Metadata)
	case *nip47.SettleHoldInvoiceParams:
		return s.settleHold(ctx, r, p.Preimage)
	case *nip47.CancelHoldInvoiceParams:
		return s.cancelHold(ctx, r, p.PaymentHash)
	case *nip47.LookupInvoiceParams:
		t, err := s.lookup(ctx, r, p)
		return t, 0, err
	case *nip47.ListTransactionsParams:
		t, err := s.listTransactions(ctx, r, p)
		return t, 0, err
	case *nip47.GetBalanceParams:
		b, err := s.balance(ctx, r.conn)
		return &nip47.GetBalanceResult{Balance: int64(b)}, 0, err
	case *nip47.GetInfoParams:
		info, err := s.getInfo(ctx, r.conn)
		return info, 0, err
	case *nip47.GetBudgetParams:
		b, err := s.getBudget(ctx, r.conn)
		return b, 0, err
	case *nip47.SignMessageParams:
		sig, err := s.cfg.Backend.SignMessage(ctx, p.Message)
		return &nip47.SignMessageResult{Message: p.Message, Signature: sig}, 0, err
	}
	return nil, 0, wallet.ErrUnknownMethod
}

func (s *Service) makeInvoice(ctx context.Context, r *request, amount int64, desc, descHash string, expiry int64, hash string, cltv int64, meta json.RawMessage) (any, wallet.MSat, error) {
	if cltv < 0 || cltv > 2016 {
		return nil, 0, badRequest("min_cltv_expiry_delta out of range")
	}
	inv, err := s.cfg.Backend.MakeInvoice(ctx, lightning.InvoiceParams{
		Amount: amount, Description: desc, DescriptionHash: descHash,
		Expiry: time.Duration(expiry) * time.Second, PaymentHash: hash, MinCLTVExpiryDelta: uint32(cltv),
	})
	if err != nil {
		return nil, 0, err
	}
	tx := &wallet.Transaction{
		ConnectionID: r.conn.ID, RequestEventID: r.ev.ID, Type: wallet.TxIncoming, State: wallet.StatePending,
		Hold: hash != "", Invoice: inv.Bolt11, Description: inv.Description, DescriptionHash: inv.DescriptionHash,
		PaymentHash: inv.PaymentHash, Amount: wallet.MSat(inv.Amount), CreatedAt: inv.CreatedAt, ExpiresAt: inv.ExpiresAt,
		Metadata: meta,
	}
	if err := s.cfg.Store.InsertInvoice(ctx, tx); err != nil {
		return nil, 0, err
	}
	return toNIP47(tx, s.now()), 0, nil
}

// ownInvoice finds an incoming invoice that this connection may act on.
func (s *Service) ownInvoice(ctx context.Context, r *request, hash string) (*wallet.Transaction, error) {
	return s.cfg.Store.Transaction(ctx, s.scope(r.conn), wallet.TxIncoming, hash)
}

func (s *Service) settleHold(ctx context.Context, r *request, preimage string) (any, wallet.MSat, error) {
	pre, err := hex.DecodeString(preimage)
	if err != nil || len(pre) != 32 {
		return nil, 0, badRequest("preimage must be 32 bytes of hex")
	}
	hash := sha256Hex(pre)
	if _, err := s.ownInvoice(ctx, r, hash); err != nil {
		return nil, 0, err
	}
	if err := s.cfg.Backend.SettleHoldInvoice(ctx, preimage); err != nil {
		return nil, 0, err
	}
	tx := s.settleIncoming(ctx, hash, preimage, 0)
	var moved wallet.MSat
	if tx != nil {
		moved = tx.Amount
	}
	return &nip47.SettleHoldInvoiceResult{}, moved, nil
}

func (s *Service) cancelHold(ctx context.Context, r *request, hash string) (any, wallet.MSat, error) {
	if _, err := s.ownInvoice(ctx, r, hash); err != nil {
		return nil, 0, err
	}
	if err := s.cfg.Backend.CancelHoldInvoice(ctx, hash); err != nil {
		return nil, 0, err
	}
	if _, err := s.cfg.Store.MarkInvoiceCanceled(ctx, hash, s.now()); err != nil && !errors.Is(err, wallet.ErrInvalidState) {
		return nil, 0, err
	}
	return &nip47.CancelHoldInvoiceResult{}, 0, nil
}

// scope is the connection filter for queries: isolated connections see only their own rows.
func (s *Service) scope(c *wallet.Connection) int64 {
	if c.Isolated {
		return c.ID
	}
	return 0
}

func (s *Service) lookup(ctx context.Context, r *request, p *nip47.LookupInvoiceParams) (*nip47.Transaction, error) {
	hash := strings.ToLower(p.PaymentHash)
	if hash == "" {
		inv, err := bolt11.Decode(p.Invoice)
		if err != nil {
			return nil, badRequest("invoice is not a valid BOLT-11 invoice")
		}
		hash = hex.EncodeToString(inv.PaymentHash[:])
	}
	tx, err := s.lookupRow(ctx, r.conn, hash)
	if err != nil {
		return nil, err
	}
	if tx.Type == wallet.TxIncoming && (tx.State == wallet.StatePending || tx.State == wallet.StateAccepted) {
		tx = s.catchUpInvoice(ctx, tx)
	}
	return toNIP47(tx, s.now()), nil
}

// catchUpInvoice asks the node about an invoice the store still shows unpaid or held: its
// settlement event may not have been processed yet (the payer has its preimage and looks
// the invoice up at once), and a hold invoice may have been canceled by the node itself
// (LND cancels one whose HTLC is about to expire) or outside the service, which no event
// reports. A settled invoice is recorded, and announced, right here; a canceled one is
// marked failed.
func (s *Service) catchUpInvoice(ctx context.Context, tx *wallet.Transaction) *wallet.Transaction {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	inv, err := s.cfg.Backend.LookupInvoice(ctx, tx.PaymentHash)
	if err != nil {
		return tx
	}
	switch inv.State {
	case lightning.InvoiceSettled:
		s.settleIncoming(ctx, tx.PaymentHash, inv.Preimage, wallet.MSat(inv.AmountReceived))
	case lightning.InvoiceCanceled:
		if _, err := s.cfg.Store.MarkInvoiceCanceled(ctx, tx.PaymentHash, s.now()); err != nil &&
			!errors.Is(err, wallet.ErrInvalidState) && !errors.Is(err, wallet.ErrNotFound) {
			s.log.Warn("record canceled invoice", "hash", tx.PaymentHash, "err", err)
		}
	default:
		return tx
	}
	if fresh, err := s.cfg.Store.Transaction(ctx, tx.ConnectionID, wallet.TxIncoming, tx.PaymentHash); err == nil {
		return fresh
	}
	return tx
}

// lookupRow picks the row a connection means by a payment hash. A payment between two
// connections of this wallet has an incoming and an outgoing row with the same hash: the
// asking connection's own row wins, then the incoming one (the invoice being looked up).
func (s *Service) lookupRow(ctx context.Context, c *wallet.Connection, hash string) (*wallet.Transaction, error) {
	in, inErr := s.cfg.Store.Transaction(ctx, s.scope(c), wallet.TxIncoming, hash)
	if inErr == nil && in.ConnectionID == c.ID {
		return in, nil
	}
	out, outErr := s.cfg.Store.Transaction(ctx, s.scope(c), wallet.TxOutgoing, hash)
	switch {
	case outErr == nil && (out.ConnectionID == c.ID || inErr != nil):
		return out, nil
	case inErr == nil:
		return in, nil
	case !errors.Is(inErr, wallet.ErrNotFound):
		return nil, inErr
	}
	return nil, outErr
}

// maxPage caps list_transactions pages: relays reject big events (spec advises small pages).
const maxPage = 50

func (s *Service) listTransactions(ctx context.Context, r *request, p *nip47.ListTransactionsParams) (*nip47.ListTransactionsResult, error) {
	q := wallet.TxQuery{
		ConnectionID: s.scope(r.conn),
		Limit:        int(p.Limit),
		Offset:       int(p.Offset),
		Unpaid:       p.Unpaid || p.UnpaidIncoming || p.UnpaidOutgoing,
		Type:         wallet.TxType(p.Type),
	}
	if q.Limit <= 0 || q.Limit > maxPage {
		q.Limit = maxPage
	}
	if p.From > 0 {
		q.From = time.Unix(p.From, 0)
	}
	if p.Until > 0 {
		q.Until = time.Unix(p.Until, 0)
	}
	rows, total, err := s.cfg.Store.ListTransactions(ctx, q)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := &nip47.ListTransactionsResult{Transactions: make([]nip47.Transaction, 0, len(rows)), TotalCount: int64(total)}
	for i := range rows {
		out.Transactions = append(out.Transactions, *toNIP47(&rows[i], now))
	}
	return out, nil
}

func (s *Service) balance(ctx context.Context, c *wallet.Connection) (wallet.MSat, error) {
	if c.Isolated {
		return s.cfg.Store.IsolatedBalance(ctx, c.ID)
	}
	b, err := s.cfg.Backend.Balance(ctx)
	return wallet.MSat(b), err
}

// methodsFor lists what a connection may call, limited to what the backend can serve.
func (s *Service) methodsFor(c *wallet.Connection) []nip47.Method {
	caps := s.cfg.Backend.Capabilities()
	var out []nip47.Method
	for _, m := range c.Methods() {
		if caps.Has(m) || m == wallet.MethodGetBudget || m == wallet.MethodGetInfo {
			out = append(out, nip47.Method(m))
		}
	}
	return out
}

// notificationsFor lists the notification types a connection receives and the backend emits.
func (s *Service) notificationsFor(c *wallet.Connection) []string {
	caps := s.cfg.Backend.Capabilities()
	var out []string
	for _, n := range c.Notifications() {
		for _, have := range caps.Notifications {
			if n == have {
				out = append(out, n)
			}
		}
	}
	return out
}

func (s *Service) getInfo(ctx context.Context, c *wallet.Connection) (*nip47.GetInfoResult, error) {
	res := &nip47.GetInfoResult{Methods: s.methodsFor(c), Notifications: s.notificationsFor(c)}
	// Node details only for connections with the get_info scope, as Alby Hub does.
	if c.HasScope(wallet.ScopeGetInfo) {
		info, err := s.cfg.Backend.Info(ctx)
		if err != nil {
			return nil, err
		}
		res.Alias, res.Color, res.Pubkey, res.Network = info.Alias, info.Color, info.PubKey, info.Network
		res.BlockHeight, res.BlockHash = int64(info.BlockHeight), info.BlockHash
	}
	return res, nil
}

func (s *Service) getBudget(ctx context.Context, c *wallet.Connection) (*nip47.GetBudgetResult, error) {
	if !c.Budget.Enabled() {
		return &nip47.GetBudgetResult{}, nil
	}
	now := s.now()
	used, err := s.cfg.Store.BudgetUsed(ctx, c.ID, c.Budget.WindowStart(now, s.cfg.Location))
	if err != nil {
		return nil, err
	}
	res := &nip47.GetBudgetResult{
		UsedBudget: int64(used), TotalBudget: int64(c.Budget.Limit), RenewalPeriod: nip47.BudgetRenewal(c.Budget.Renewal),
	}
	if c.Budget.Renewal != wallet.RenewalNever {
		at := wallet.NextRenewal(c.Budget.Renewal, now, s.cfg.Location).Unix()
		res.RenewsAt = &at
	}
	return res, nil
}

// toNIP47 turns a stored transaction into its wire form.
func toNIP47(t *wallet.Transaction, now time.Time) *nip47.Transaction {
	out := &nip47.Transaction{
		Type: nip47.TransactionType(t.Type), State: nip47.TransactionState(t.StateAt(now)),
		Invoice: t.Invoice, Description: t.Description, DescriptionHash: t.DescriptionHash,
		Preimage: t.Preimage, PaymentHash: t.PaymentHash, Amount: int64(t.Amount), FeesPaid: int64(t.FeesPaid),
		CreatedAt: t.CreatedAt.Unix(), Metadata: t.Metadata,
	}
	if !t.ExpiresAt.IsZero() {
		v := t.ExpiresAt.Unix()
		out.ExpiresAt = &v
	}
	if !t.SettledAt.IsZero() {
		v := t.SettledAt.Unix()
		out.SettledAt = &v
	}
	if t.SettleDeadline > 0 {
		v := int64(t.SettleDeadline)
		out.SettleDeadline = &v
	}
	return out
}
