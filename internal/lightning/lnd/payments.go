package lnd

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/nwc-go/nwc/internal/lightning"
	"github.com/nwc-go/nwc/internal/lightning/bolt11"
)

// PayInvoice pays a BOLT-11 invoice and waits for the outcome.
func (b *Backend) PayInvoice(ctx context.Context, p lightning.PayParams) (lightning.PayResult, error) {
	dec, err := bolt11.Decode(strings.TrimSpace(p.Invoice))
	if err != nil {
		return lightning.PayResult{}, fmt.Errorf("%w: %w", lightning.ErrInvalidInvoice, err)
	}
	network, err := b.nodeNetwork(ctx)
	if err != nil {
		return lightning.PayResult{}, err
	}
	if dec.Network != network && !(network == lightning.Regtest && dec.Network == bolt11.Simnet) {
		return lightning.PayResult{}, fmt.Errorf("%w: invoice for %s, node on %s", lightning.ErrInvalidInvoice, dec.Network, network)
	}
	if dec.Expired(time.Now()) {
		return lightning.PayResult{}, lightning.ErrInvoiceExpired
	}
	req := sendPaymentRequest{PaymentRequest: p.Invoice, NoInflightUpdates: true}
	amount := dec.Amount
	if amount == 0 {
		if p.Amount <= 0 {
			return lightning.PayResult{}, fmt.Errorf("%w: zero-amount invoice and no amount given", lightning.ErrInvalidInvoice)
		}
		amount = p.Amount
		req.AmtMsat = amount
	}
	req.FeeLimitMsat = p.MaxFee
	if req.FeeLimitMsat <= 0 {
		req.FeeLimitMsat = lightning.DefaultMaxFee(amount)
	}
	return b.send(ctx, hex.EncodeToString(dec.PaymentHash[:]), req)
}

// PayKeysend sends a spontaneous payment carrying its preimage in TLV 5482373484.
func (b *Backend) PayKeysend(ctx context.Context, p lightning.KeysendParams) (lightning.PayResult, error) {
	dest, err := hex.DecodeString(p.Destination)
	if err != nil || len(dest) != 33 {
		return lightning.PayResult{}, fmt.Errorf("%w: destination is not a 33-byte public key", lightning.ErrInvalidParams)
	}
	if _, err := btcec.ParsePubKey(dest); err != nil {
		return lightning.PayResult{}, fmt.Errorf("%w: destination: %w", lightning.ErrInvalidParams, err)
	}
	if p.Amount <= 0 {
		return lightning.PayResult{}, fmt.Errorf("%w: amount must be positive", lightning.ErrInvalidParams)
	}
	var pre []byte
	if p.Preimage != "" {
		if pre, err = decodeHash(p.Preimage); err != nil {
			return lightning.PayResult{}, err
		}
	} else {
		pre = make([]byte, 32)
		if _, err := rand.Read(pre); err != nil {
			return lightning.PayResult{}, err
		}
	}
	recs := map[string]b64{strconv.FormatUint(lightning.KeysendPreimageType, 10): pre}
	for _, t := range p.TLVs {
		// LND only forwards custom records in the custom range.
		if t.Type < 65536 || t.Type == lightning.KeysendPreimageType {
			return lightning.PayResult{}, fmt.Errorf("%w: TLV type %d is reserved", lightning.ErrInvalidParams, t.Type)
		}
		recs[strconv.FormatUint(t.Type, 10)] = t.Value
	}
	hash := sha256.Sum256(pre)
	fee := p.MaxFee
	if fee <= 0 {
		fee = lightning.DefaultMaxFee(p.Amount)
	}
	req := sendPaymentRequest{
		Dest: dest, PaymentHash: hash[:], AmtMsat: p.Amount, FeeLimitMsat: fee,
		DestCustomRecords: recs, NoInflightUpdates: true,
	}
	res, err := b.send(ctx, hex.EncodeToString(hash[:]), req)
	if err == nil && res.Preimage == "" {
		res.Preimage = hex.EncodeToString(pre)
	}
	return res, err
}

// send runs SendPaymentV2 and waits for its final update.
func (b *Backend) send(ctx context.Context, hash string, req sendPaymentRequest) (lightning.PayResult, error) {
	if err := b.alive(ctx); err != nil {
		return lightning.PayResult{}, err
	}
	// LND stops trying new routes after timeout_seconds and then reports FAILED; keep
	// that inside the caller's deadline so a clean failure arrives before it gives up.
	timeout := b.cfg.PaymentTimeout
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl) - 2*time.Second; left < timeout {
			timeout = left
		}
	}
	req.TimeoutSeconds = int32(max(timeout/time.Second, 1))

	s, sent, err := b.openStream(ctx, request{method: "POST", path: "/v2/router/send", body: req})
	if err != nil {
		return lightning.PayResult{}, sendError(ctx, err, sent)
	}
	defer s.close()
	for {
		var p rpcPayment
		if err := s.next(ctx, &p); err != nil {
			// The payment had started: whatever broke, its outcome is unknown.
			if ctx.Err() != nil {
				return lightning.PayResult{}, fmt.Errorf("%w: %w", lightning.ErrPaymentPending, ctx.Err())
			}
			return lightning.PayResult{}, fmt.Errorf("%w: %w: %w", lightning.ErrPaymentPending, lightning.ErrUnavailable, err)
		}
		switch p.Status {
		case "SUCCEEDED":
			pay := b.paymentFromRPC(&p)
			b.emitPaymentSent(pay)
			return lightning.PayResult{PaymentHash: pay.PaymentHash, Preimage: pay.Preimage, Amount: pay.Amount, FeePaid: pay.FeePaid}, nil
		case "FAILED":
			return lightning.PayResult{}, failure(p.FailureReason)
		}
		// In-flight updates are suppressed (no_inflight_updates); skip any that come.
	}
}

// failure maps LND's failure reason; the payment is final and no money left.
func failure(reason string) error {
	switch reason {
	case "FAILURE_REASON_INSUFFICIENT_BALANCE":
		return fmt.Errorf("%w: %w", lightning.ErrPaymentFailed, lightning.ErrInsufficientBalance)
	case "FAILURE_REASON_NO_ROUTE":
		return fmt.Errorf("%w: no route", lightning.ErrPaymentFailed)
	case "FAILURE_REASON_TIMEOUT":
		return fmt.Errorf("%w: timed out finding a route", lightning.ErrPaymentFailed)
	case "FAILURE_REASON_INCORRECT_PAYMENT_DETAILS":
		return fmt.Errorf("%w: the payee refused the payment details", lightning.ErrPaymentFailed)
	case "FAILURE_REASON_CANCELED":
		return fmt.Errorf("%w: canceled", lightning.ErrPaymentFailed)
	}
	return fmt.Errorf("%w: %s", lightning.ErrPaymentFailed, strings.ToLower(strings.TrimPrefix(reason, "FAILURE_REASON_")))
}

// sendError maps an error of SendPaymentV2. Errors answered before the payment
// started (LND validates first) are final; losing the connection after the request
// went out leaves the outcome unknown.
func sendError(ctx context.Context, err error, sent bool) error {
	if sent && ctx.Err() != nil {
		// The caller gave up after the request went out. LND may still answer, e.g.
		// "context canceled" (HTTP 408) for our own cancellation while the payment it had
		// started goes on: the outcome is unknown, not a refusal (found again by hash).
		return fmt.Errorf("%w: %w", lightning.ErrPaymentPending, errors.Join(ctx.Err(), err))
	}
	var re *rpcError
	if errors.As(err, &re) {
		msg := strings.ToLower(re.Message)
		switch {
		case strings.Contains(msg, "invoice is already paid"):
			return fmt.Errorf("%w: %w", lightning.ErrAlreadyPaid, err)
		case strings.Contains(msg, "payment is in transition"), strings.Contains(msg, "payment already exists"):
			return fmt.Errorf("%w: %w", lightning.ErrPaymentInFlight, err)
		case strings.Contains(msg, "invoice expired"):
			return fmt.Errorf("%w: %w", lightning.ErrInvoiceExpired, err)
		case errors.Is(err, lightning.ErrUnavailable):
			// LND not ready: it refused before starting anything.
			return err
		}
		// Any other refusal (self-payment, bad fee limit, unknown features…) happened
		// before an HTLC left.
		return fmt.Errorf("%w: %w", lightning.ErrPaymentFailed, err)
	}
	if !sent {
		return err // never reached LND: nothing started
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%w: %w", lightning.ErrPaymentPending, ctx.Err())
	}
	return fmt.Errorf("%w: %w", lightning.ErrPaymentPending, err) // err wraps ErrUnavailable
}

// LookupPayment returns an outgoing payment by hash: TrackPaymentV2's first update
// is the payment's current state.
func (b *Backend) LookupPayment(ctx context.Context, paymentHash string) (lightning.Payment, error) {
	hash, err := decodeHash(paymentHash)
	if err != nil {
		return lightning.Payment{}, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the stream after the first update
	if _, ok := ctx.Deadline(); !ok {
		ctx, cancel = context.WithTimeout(ctx, b.cfg.CallTimeout)
		defer cancel()
	}
	s, _, err := b.openStream(ctx, request{method: "GET", path: "/v2/router/track/" + base64.URLEncoding.EncodeToString(hash)})
	if err != nil {
		return lightning.Payment{}, err
	}
	defer s.close()
	var p rpcPayment
	if err := s.next(ctx, &p); err != nil {
		if errors.Is(err, errStreamEnd) {
			return lightning.Payment{}, fmt.Errorf("%w: track ended without state", lightning.ErrUnavailable)
		}
		return lightning.Payment{}, err
	}
	return b.paymentFromRPC(&p), nil
}

// PaymentQuery selects payments for ListPayments.
type PaymentQuery struct {
	IncludeIncomplete bool   // also in-flight and failed payments
	IndexOffset       uint64 // payment index to start after (before, with Reversed)
	Max               int    // 0 = 100
	Reversed          bool   // seek back from IndexOffset (0 = the newest)
	From, Until       time.Time
}

// ListPayments lists outgoing payments (oldest first, as LND returns them) and the
// payment index to continue from.
func (b *Backend) ListPayments(ctx context.Context, q PaymentQuery) ([]lightning.Payment, uint64, error) {
	if q.Max <= 0 {
		q.Max = 100
	}
	v := url.Values{}
	v.Set("include_incomplete", strconv.FormatBool(q.IncludeIncomplete))
	v.Set("index_offset", strconv.FormatUint(q.IndexOffset, 10))
	v.Set("max_payments", strconv.Itoa(q.Max))
	v.Set("reversed", strconv.FormatBool(q.Reversed))
	if !q.From.IsZero() {
		v.Set("creation_date_start", strconv.FormatInt(q.From.Unix(), 10))
	}
	if !q.Until.IsZero() {
		v.Set("creation_date_end", strconv.FormatInt(q.Until.Unix(), 10))
	}
	var r listPaymentsResponse
	if err := b.call(ctx, request{method: "GET", path: "/v1/payments?" + v.Encode()}, &r); err != nil {
		return nil, 0, err
	}
	out := make([]lightning.Payment, 0, len(r.Payments))
	for i := range r.Payments {
		out = append(out, b.paymentFromRPC(&r.Payments[i]))
	}
	if q.Reversed {
		return out, uint64(r.FirstIndexOffset), nil
	}
	return out, uint64(r.LastIndexOffset), nil
}

func (b *Backend) paymentFromRPC(r *rpcPayment) lightning.Payment {
	p := lightning.Payment{
		PaymentHash: strings.ToLower(r.PaymentHash), Bolt11: r.PaymentRequest, Amount: int64(r.ValueMsat),
		CreatedAt: nanoTime(int64(r.CreationTimeNs)),
	}
	switch r.Status {
	case "SUCCEEDED":
		p.State = lightning.PaymentSucceeded
		p.FeePaid = int64(r.FeeMsat)
		p.Preimage = strings.ToLower(r.PaymentPreimage)
	case "FAILED":
		p.State = lightning.PaymentFailed
		p.FailureReason = strings.ToLower(strings.TrimPrefix(r.FailureReason, "FAILURE_REASON_"))
	default:
		p.State = lightning.PaymentPending
	}
	if p.State != lightning.PaymentPending {
		for _, h := range r.HTLCs {
			if t := nanoTime(int64(h.ResolveTimeNs)); t.After(p.ResolvedAt) {
				p.ResolvedAt = t
			}
		}
		if p.ResolvedAt.IsZero() {
			p.ResolvedAt = p.CreatedAt
		}
	}
	// The last hop of an attempt (the succeeded one if any) names the payee and
	// carries the keysend records.
	var last *hop
	for i := range r.HTLCs {
		h := &r.HTLCs[i]
		if h.Route == nil || len(h.Route.Hops) == 0 {
			continue
		}
		if last == nil || h.Status == "SUCCEEDED" {
			last = &h.Route.Hops[len(h.Route.Hops)-1]
		}
	}
	if p.Bolt11 != "" {
		if dec, err := bolt11.Decode(p.Bolt11); err == nil && dec.Payee != nil {
			p.Destination = hex.EncodeToString(dec.Payee.SerializeCompressed())
		}
	} else if last != nil {
		p.Destination = strings.ToLower(last.PubKey)
	}
	if last != nil && p.Bolt11 == "" {
		if _, ok := last.CustomRecords[strconv.FormatUint(lightning.KeysendPreimageType, 10)]; ok {
			p.IsKeysend = true
		}
		p.TLVs = customTLVs(last.CustomRecords)
	}
	return p
}

func nanoTime(ns int64) time.Time {
	if ns <= 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}
