package client

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/nwc-go/nwc/nip47"
)

// PayOption sets an optional param of PayInvoice.
type PayOption func(*nip47.PayInvoiceParams)

// WithAmount sets the amount to pay in msat, for invoices that carry none.
func WithAmount(msat int64) PayOption {
	return func(p *nip47.PayInvoiceParams) { p.Amount = msat }
}

// WithMetadata attaches a metadata object (NIP-47 §4.13: comment, payer_data, nostr zap
// request, ...) to the payment. Wallets drop or refuse objects over 4096 bytes.
func WithMetadata(m json.RawMessage) PayOption {
	return func(p *nip47.PayInvoiceParams) { p.Metadata = m }
}

// typed validates params locally, then calls method and decodes its result into an R.
func typed[R any](ctx context.Context, c *Client, method nip47.Method, params nip47.Params) (*R, error) {
	if err := params.Validate(); err != nil {
		return nil, fmt.Errorf("client: %s: %w", method, err)
	}
	var r R
	if err := c.Call(ctx, method, params, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// PayInvoice pays a BOLT-11 invoice and returns the preimage and the fee paid. If it
// returns ErrTimeout the payment may still succeed: use LookupInvoiceByInvoice before
// paying again.
func (c *Client) PayInvoice(ctx context.Context, invoice string, opts ...PayOption) (*nip47.PayInvoiceResult, error) {
	p := nip47.PayInvoiceParams{Invoice: invoice}
	for _, o := range opts {
		o(&p)
	}
	return typed[nip47.PayInvoiceResult](ctx, c, nip47.MethodPayInvoice, &p)
}

// PayKeysend sends p.Amount msat to the node p.Pubkey without an invoice.
func (c *Client) PayKeysend(ctx context.Context, p nip47.PayKeysendParams) (*nip47.PayInvoiceResult, error) {
	return typed[nip47.PayInvoiceResult](ctx, c, nip47.MethodPayKeysend, &p)
}

// MakeInvoice asks the wallet for an invoice of p.Amount msat.
func (c *Client) MakeInvoice(ctx context.Context, p nip47.MakeInvoiceParams) (*nip47.Transaction, error) {
	tx, err := typed[nip47.Transaction](ctx, c, nip47.MethodMakeInvoice, &p)
	if err == nil && tx.Invoice == "" {
		return nil, fmt.Errorf("client: make_invoice: %w: no invoice in the result", nip47.ErrInvalidResponse)
	}
	return tx, err
}

// MakeHoldInvoice asks for a hold invoice for p.PaymentHash, whose preimage only the app
// knows; settle it with SettleHoldInvoice or cancel it with CancelHoldInvoice once the
// hold_invoice_accepted notification came.
func (c *Client) MakeHoldInvoice(ctx context.Context, p nip47.MakeHoldInvoiceParams) (*nip47.Transaction, error) {
	tx, err := typed[nip47.Transaction](ctx, c, nip47.MethodMakeHoldInvoice, &p)
	if err == nil && tx.Invoice == "" {
		return nil, fmt.Errorf("client: make_hold_invoice: %w: no invoice in the result", nip47.ErrInvalidResponse)
	}
	return tx, err
}

// SettleHoldInvoice releases the preimage of an accepted hold invoice (hex).
func (c *Client) SettleHoldInvoice(ctx context.Context, preimage string) error {
	_, err := typed[nip47.SettleHoldInvoiceResult](ctx, c, nip47.MethodSettleHoldInvoice, &nip47.SettleHoldInvoiceParams{Preimage: preimage})
	return err
}

// CancelHoldInvoice cancels a hold invoice by its payment hash (hex).
func (c *Client) CancelHoldInvoice(ctx context.Context, paymentHash string) error {
	_, err := typed[nip47.CancelHoldInvoiceResult](ctx, c, nip47.MethodCancelHoldInvoice, &nip47.CancelHoldInvoiceParams{PaymentHash: paymentHash})
	return err
}

// LookupInvoice finds an incoming or outgoing transaction by p.PaymentHash or p.Invoice.
// Nothing found is a *nip47.Error matching nip47.ErrNotFound.
func (c *Client) LookupInvoice(ctx context.Context, p nip47.LookupInvoiceParams) (*nip47.Transaction, error) {
	return typed[nip47.Transaction](ctx, c, nip47.MethodLookupInvoice, &p)
}

// LookupInvoiceByHash is LookupInvoice by payment hash (hex).
func (c *Client) LookupInvoiceByHash(ctx context.Context, paymentHash string) (*nip47.Transaction, error) {
	return c.LookupInvoice(ctx, nip47.LookupInvoiceParams{PaymentHash: paymentHash})
}

// LookupInvoiceByInvoice is LookupInvoice by BOLT-11 invoice.
func (c *Client) LookupInvoiceByInvoice(ctx context.Context, invoice string) (*nip47.Transaction, error) {
	return c.LookupInvoice(ctx, nip47.LookupInvoiceParams{Invoice: invoice})
}

// ListTransactions lists transactions, newest first. Keep p.Limit small (the spec
// advises at most 20): relays refuse large events.
func (c *Client) ListTransactions(ctx context.Context, p nip47.ListTransactionsParams) (*nip47.ListTransactionsResult, error) {
	return typed[nip47.ListTransactionsResult](ctx, c, nip47.MethodListTransactions, &p)
}

// GetBalance returns the balance (msat) the connection may spend from.
func (c *Client) GetBalance(ctx context.Context) (*nip47.GetBalanceResult, error) {
	return typed[nip47.GetBalanceResult](ctx, c, nip47.MethodGetBalance, &nip47.GetBalanceParams{})
}

// GetInfo returns the node's details and the methods and notifications this connection
// may use (prefer its Methods over the info event's, NIP47.md §10.25).
func (c *Client) GetInfo(ctx context.Context) (*nip47.GetInfoResult, error) {
	return typed[nip47.GetInfoResult](ctx, c, nip47.MethodGetInfo, &nip47.GetInfoParams{})
}

// GetBudget returns the connection's spending budget (Alby extension); HasBudget is false
// when the connection has none.
func (c *Client) GetBudget(ctx context.Context) (*nip47.GetBudgetResult, error) {
	return typed[nip47.GetBudgetResult](ctx, c, nip47.MethodGetBudget, &nip47.GetBudgetParams{})
}

// SignMessage has the wallet's node sign message (Alby extension).
func (c *Client) SignMessage(ctx context.Context, message string) (*nip47.SignMessageResult, error) {
	return typed[nip47.SignMessageResult](ctx, c, nip47.MethodSignMessage, &nip47.SignMessageParams{Message: message})
}
