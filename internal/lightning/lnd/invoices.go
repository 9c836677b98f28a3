package lnd

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nwc-go/nwc/internal/lightning"
	"github.com/nwc-go/nwc/internal/lightning/bolt11"
)

// HoldExpiryDelta is how many blocks before an accepted HTLC's expiry LND cancels a
// hold invoice on its own (lnd's default --invoices.holdexpirydelta): SettleDeadline
// reports that height, the last one at which settling still works.
const HoldExpiryDelta = 12

// MakeInvoice creates an invoice, or a hold invoice when p.PaymentHash is set.
func (b *Backend) MakeInvoice(ctx context.Context, p lightning.InvoiceParams) (lightning.Invoice, error) {
	if p.Amount < 0 {
		return lightning.Invoice{}, fmt.Errorf("%w: negative amount", lightning.ErrInvalidParams)
	}
	var descHash []byte
	if p.DescriptionHash != "" {
		var err error
		if descHash, err = decodeHash(p.DescriptionHash); err != nil {
			return lightning.Invoice{}, err
		}
	}
	expiry := p.Expiry
	if expiry == 0 {
		expiry = lightning.DefaultExpiry
	}
	if expiry < time.Second {
		return lightning.Invoice{}, fmt.Errorf("%w: expiry under a second", lightning.ErrInvalidParams)
	}
	var bolt string
	hold := p.PaymentHash != ""
	if hold {
		hash, err := decodeHash(p.PaymentHash)
		if err != nil {
			return lightning.Invoice{}, err
		}
		cltv := uint64(p.MinCLTVExpiryDelta)
		if cltv == 0 {
			cltv = lightning.DefaultHoldCLTVDelta
		}
		var r struct {
			PaymentRequest string `json:"payment_request"`
		}
		req := addHoldInvoiceRequest{Memo: p.Description, Hash: hash, ValueMsat: p.Amount, DescriptionHash: descHash,
			Expiry: int64(expiry / time.Second), CltvExpiry: cltv}
		if err := b.call(ctx, request{method: "POST", path: "/v2/invoices/hodl", body: req}, &r); err != nil {
			return lightning.Invoice{}, invoiceError(err)
		}
		bolt = r.PaymentRequest
	} else {
		var r addInvoiceResponse
		req := addInvoiceRequest{Memo: p.Description, ValueMsat: p.Amount, DescriptionHash: descHash,
			Expiry: int64(expiry / time.Second), CltvExpiry: uint64(p.MinCLTVExpiryDelta)}
		if err := b.call(ctx, request{method: "POST", path: "/v1/invoices", body: req}, &r); err != nil {
			return lightning.Invoice{}, invoiceError(err)
		}
		bolt = r.PaymentRequest
	}
	// The invoice itself carries everything the caller needs: no second round trip.
	dec, err := bolt11.Decode(bolt)
	if err != nil {
		return lightning.Invoice{}, fmt.Errorf("lnd: node made an invoice that does not decode: %w", err)
	}
	inv := lightning.Invoice{
		Bolt11: bolt, PaymentHash: hex.EncodeToString(dec.PaymentHash[:]), Amount: dec.Amount,
		Description: p.Description, DescriptionHash: p.DescriptionHash,
		CreatedAt: dec.Timestamp, ExpiresAt: dec.ExpiresAt(), State: lightning.InvoiceOpen, IsHold: hold,
	}
	if hold {
		b.mu.Lock()
		b.createdHold[inv.PaymentHash] = true
		b.mu.Unlock()
		b.watchHold(inv.PaymentHash)
	}
	return inv, nil
}

func invoiceError(err error) error {
	var re *rpcError
	if errors.As(err, &re) && re.Code == codeUnknown {
		msg := strings.ToLower(re.Message)
		// LND's validation errors of our own parameters.
		if strings.Contains(msg, "invoice with payment hash already exists") || strings.Contains(msg, "memo too large") ||
			strings.Contains(msg, "exceeds maximum") || strings.Contains(msg, "invalid") {
			return fmt.Errorf("%w: %w", lightning.ErrInvalidParams, err)
		}
	}
	return err
}

// SettleHoldInvoice settles an accepted hold invoice.
func (b *Backend) SettleHoldInvoice(ctx context.Context, preimage string) error {
	pre, err := decodeHash(preimage)
	if err != nil {
		return err
	}
	err = b.call(ctx, request{method: "POST", path: "/v2/invoices/settle", body: map[string]any{"preimage": b64(pre)}}, nil)
	var re *rpcError
	if err == nil || !errors.As(err, &re) {
		return err
	}
	switch msg := strings.ToLower(re.Message); {
	case strings.Contains(msg, "invoice already settled"):
		return nil
	case strings.Contains(msg, "invoice still open"), strings.Contains(msg, "invoice already canceled"),
		strings.Contains(msg, "preimage does not match"):
		return fmt.Errorf("%w: %w", lightning.ErrInvoiceState, err)
	}
	return err
}

// CancelHoldInvoice cancels an open or accepted invoice; canceling twice is fine.
func (b *Backend) CancelHoldInvoice(ctx context.Context, paymentHash string) error {
	hash, err := decodeHash(paymentHash)
	if err != nil {
		return err
	}
	err = b.call(ctx, request{method: "POST", path: "/v2/invoices/cancel", body: map[string]any{"payment_hash": b64(hash)}}, nil)
	var re *rpcError
	if err == nil || !errors.As(err, &re) {
		return err
	}
	switch msg := strings.ToLower(re.Message); {
	case strings.Contains(msg, "invoice already canceled"):
		return nil
	case strings.Contains(msg, "invoice already settled"):
		return fmt.Errorf("%w: %w", lightning.ErrInvoiceState, err)
	}
	return err
}

// LookupInvoice returns an incoming invoice or keysend by payment hash.
func (b *Backend) LookupInvoice(ctx context.Context, paymentHash string) (lightning.Invoice, error) {
	hash, err := decodeHash(paymentHash)
	if err != nil {
		return lightning.Invoice{}, err
	}
	var r rpcInvoice
	path := "/v2/invoices/lookup?payment_hash=" + url.QueryEscape(base64.URLEncoding.EncodeToString(hash))
	if err := b.call(ctx, request{method: "GET", path: path}, &r); err != nil {
		return lightning.Invoice{}, err
	}
	return b.invoiceFromRPC(&r, time.Now()), nil
}

// InvoiceQuery selects invoices for ListInvoices.
type InvoiceQuery struct {
	PendingOnly bool   // only open and accepted invoices
	IndexOffset uint64 // add index to start after (or before, with Reversed)
	Max         int    // 0 = 100
	Reversed    bool   // newest first, seeking back from IndexOffset (0 = the newest)
	From, Until time.Time
}

// ListInvoices lists invoices, returning the add index to continue from.
func (b *Backend) ListInvoices(ctx context.Context, q InvoiceQuery) ([]lightning.Invoice, uint64, error) {
	if q.Max <= 0 {
		q.Max = 100
	}
	v := url.Values{}
	v.Set("pending_only", strconv.FormatBool(q.PendingOnly))
	v.Set("index_offset", strconv.FormatUint(q.IndexOffset, 10))
	v.Set("num_max_invoices", strconv.Itoa(q.Max))
	v.Set("reversed", strconv.FormatBool(q.Reversed))
	if !q.From.IsZero() {
		v.Set("creation_date_start", strconv.FormatInt(q.From.Unix(), 10))
	}
	if !q.Until.IsZero() {
		v.Set("creation_date_end", strconv.FormatInt(q.Until.Unix(), 10))
	}
	r, err := b.listInvoices(ctx, v)
	if err != nil {
		return nil, 0, err
	}
	now := time.Now()
	out := make([]lightning.Invoice, 0, len(r.Invoices))
	for i := range r.Invoices {
		out = append(out, b.invoiceFromRPC(&r.Invoices[i], now))
	}
	if q.Reversed {
		sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.After(out[j].CreatedAt) })
		return out, uint64(r.FirstIndexOffset), nil
	}
	return out, uint64(r.LastIndexOffset), nil
}

func (b *Backend) listInvoices(ctx context.Context, v url.Values) (*listInvoicesResponse, error) {
	var r listInvoicesResponse
	if err := b.call(ctx, request{method: "GET", path: "/v1/invoices?" + v.Encode()}, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// isHoldCandidate reports an unsettled invoice that LND holds no preimage for: a hold
// invoice (LND does not mark them otherwise).
func isHoldCandidate(r *rpcInvoice) bool {
	return (r.State == "OPEN" || r.State == "ACCEPTED") && len(r.RPreimage) == 0 && !r.IsKeysend && !r.IsAMP
}

// invoiceFromRPC maps LND's invoice. Hold-ness is known for unsettled invoices (no
// preimage) and for those made through this backend.
func (b *Backend) invoiceFromRPC(r *rpcInvoice, now time.Time) lightning.Invoice {
	inv := lightning.Invoice{
		Bolt11: r.PaymentRequest, PaymentHash: hex.EncodeToString(r.RHash), Amount: int64(r.ValueMsat),
		AmountReceived: int64(r.AmtPaidMsat), Description: r.Memo, CreatedAt: unixTime(int64(r.CreationDate)),
		IsKeysend: r.IsKeysend,
	}
	if len(r.DescriptionHash) > 0 {
		inv.DescriptionHash = hex.EncodeToString(r.DescriptionHash)
	}
	if r.Expiry > 0 {
		inv.ExpiresAt = inv.CreatedAt.Add(time.Duration(r.Expiry) * time.Second)
	}
	b.mu.Lock()
	inv.IsHold = b.createdHold[inv.PaymentHash] || isHoldCandidate(r)
	b.mu.Unlock()
	switch r.State {
	case "SETTLED":
		inv.State = lightning.InvoiceSettled
		inv.Preimage = hex.EncodeToString(r.RPreimage)
		inv.SettledAt = unixTime(int64(r.SettleDate))
	case "ACCEPTED":
		inv.State = lightning.InvoiceAccepted
		inv.SettleDeadline = settleDeadline(r)
	case "CANCELED":
		inv.State = lightning.InvoiceCanceled
		// LND cancels unpaid invoices when they expire: report those as expired.
		if len(r.HTLCs) == 0 && !inv.ExpiresAt.IsZero() && !now.Before(inv.ExpiresAt) {
			inv.State = lightning.InvoiceExpired
		}
	default:
		inv.State = lightning.InvoiceOpen
		if !inv.ExpiresAt.IsZero() && !now.Before(inv.ExpiresAt) {
			inv.State = lightning.InvoiceExpired
		}
	}
	if inv.State != lightning.InvoiceSettled && inv.State != lightning.InvoiceAccepted {
		inv.AmountReceived = 0
	}
	if r.IsKeysend {
		inv.TLVs = invoiceTLVs(r)
	}
	return inv
}

// settleDeadline is the last block at which an accepted hold invoice can be settled
// before LND cancels it: the earliest HTLC expiry minus HoldExpiryDelta.
func settleDeadline(r *rpcInvoice) uint32 {
	var lowest int32
	for _, h := range r.HTLCs {
		if h.State == "ACCEPTED" && (lowest == 0 || h.ExpiryHeight < lowest) {
			lowest = h.ExpiryHeight
		}
	}
	if lowest <= HoldExpiryDelta {
		return 0
	}
	return uint32(lowest - HoldExpiryDelta)
}

// invoiceTLVs are the custom records of an incoming keysend (the preimage record and
// types under 65536 are protocol fields, not the sender's data).
func invoiceTLVs(r *rpcInvoice) []lightning.TLV {
	for _, h := range r.HTLCs {
		if h.State == "SETTLED" || h.State == "ACCEPTED" {
			return customTLVs(h.CustomRecords)
		}
	}
	return nil
}

func customTLVs(recs map[string]b64) []lightning.TLV {
	var out []lightning.TLV
	for k, v := range recs {
		t, err := strconv.ParseUint(k, 10, 64)
		if err != nil || t < 65536 || t == lightning.KeysendPreimageType {
			continue
		}
		out = append(out, lightning.TLV{Type: t, Value: append([]byte(nil), v...)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Type < out[j].Type })
	return out
}

func unixTime(s int64) time.Time {
	if s <= 0 {
		return time.Time{}
	}
	return time.Unix(s, 0)
}
