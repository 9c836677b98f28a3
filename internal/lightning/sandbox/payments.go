package sandbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"

	"github.com/nwc-go/nwc/internal/lightning"
	"github.com/nwc-go/nwc/internal/lightning/bolt11"
)

// Routes a payment can take.
const (
	routeSelf     = "self"     // one of our own invoices / our own node
	routePeer     = "peer"     // another sandbox on the same Net
	routeExternal = "external" // anyone else: scripted outcome
)

// MinCustomTLVType is the lowest keysend custom record type accepted (the
// range below is reserved by the protocol; LND refuses it too).
const MinCustomTLVType = 65536

type payRequest struct {
	hash, bolt11, dest string
	amount, maxFee     int64
	keysend            bool
	preimage           string // keysend only: known to the payer
	tlvs               []lightning.TLV
}

// PayInvoice implements lightning.Backend. Paying one of this sandbox's
// invoices settles it at once (or locks in a hold invoice and waits);
// paying another sandbox on the same Net delivers to it; anything else
// follows the scripted outcome.
func (s *Sandbox) PayInvoice(ctx context.Context, p lightning.PayParams) (lightning.PayResult, error) {
	inv, err := bolt11.Decode(p.Invoice)
	if err != nil {
		return lightning.PayResult{}, fmt.Errorf("%w: %w", lightning.ErrInvalidInvoice, err)
	}
	if inv.Network != s.network {
		return lightning.PayResult{}, fmt.Errorf("%w: invoice for %s, node on %s", lightning.ErrInvalidInvoice, inv.Network, s.network)
	}
	if p.Amount < 0 {
		return lightning.PayResult{}, fmt.Errorf("%w: negative amount", lightning.ErrInvalidParams)
	}
	amount := inv.Amount
	if amount == 0 {
		amount = p.Amount
	}
	if amount <= 0 {
		return lightning.PayResult{}, fmt.Errorf("%w: zero-amount invoice and no amount given", lightning.ErrInvalidInvoice)
	}
	if inv.Expired(s.clock()) {
		return lightning.PayResult{}, fmt.Errorf("%w: expired at %s", lightning.ErrInvoiceExpired, inv.ExpiresAt().UTC().Format("2006-01-02T15:04:05Z"))
	}
	return s.pay(ctx, payRequest{
		hash:   hex.EncodeToString(inv.PaymentHash[:]),
		bolt11: p.Invoice,
		dest:   hex.EncodeToString(inv.Payee.SerializeCompressed()),
		amount: amount,
		maxFee: p.MaxFee,
	})
}

// PayKeysend implements lightning.Backend. A keysend to this sandbox's own
// key is received as an incoming keysend.
func (s *Sandbox) PayKeysend(ctx context.Context, p lightning.KeysendParams) (lightning.PayResult, error) {
	destBytes, err := hex.DecodeString(p.Destination)
	if err != nil || len(destBytes) != 33 {
		return lightning.PayResult{}, fmt.Errorf("%w: destination must be a 33-byte hex public key", lightning.ErrInvalidParams)
	}
	if _, err := btcec.ParsePubKey(destBytes); err != nil {
		return lightning.PayResult{}, fmt.Errorf("%w: destination: %w", lightning.ErrInvalidParams, err)
	}
	if p.Amount <= 0 {
		return lightning.PayResult{}, fmt.Errorf("%w: amount must be positive", lightning.ErrInvalidParams)
	}
	seen := make(map[uint64]bool, len(p.TLVs))
	for _, t := range p.TLVs {
		if t.Type < MinCustomTLVType || t.Type == lightning.KeysendPreimageType || seen[t.Type] {
			return lightning.PayResult{}, fmt.Errorf("%w: TLV type %d reserved or repeated", lightning.ErrInvalidParams, t.Type)
		}
		seen[t.Type] = true
	}
	var pre [32]byte
	if p.Preimage != "" {
		if pre, err = parseHash(p.Preimage); err != nil {
			return lightning.PayResult{}, fmt.Errorf("preimage: %w", err)
		}
	} else {
		err := s.update(ctx, func(c *change) error {
			seq, err := nextSeq(c.ctx, c.tx)
			if err != nil {
				return s.dbErr(err)
			}
			pre = s.derive("keysend preimage", seqBytes(seq))
			return nil
		})
		if err != nil {
			return lightning.PayResult{}, err
		}
	}
	hash := sha256.Sum256(pre[:])
	return s.pay(ctx, payRequest{
		hash:     hex.EncodeToString(hash[:]),
		dest:     hex.EncodeToString(destBytes),
		amount:   p.Amount,
		maxFee:   p.MaxFee,
		keysend:  true,
		preimage: hex.EncodeToString(pre[:]),
		tlvs:     p.TLVs,
	})
}

// pay records the payment as pending (money reserved) and resolves it: at
// once when possible, else by waiting for a hold invoice, a peer or Release.
func (s *Sandbox) pay(ctx context.Context, r payRequest) (lightning.PayResult, error) {
	route := routeExternal
	var peer *Sandbox
	switch {
	case r.dest == s.pubKey:
		route = routeSelf
	case s.net != nil:
		if peer = s.net.lookup(r.dest); peer != nil {
			route = routePeer
		}
	}
	maxFee := r.maxFee
	if maxFee <= 0 {
		maxFee = lightning.DefaultMaxFee(r.amount)
	}
	fee := int64(0)
	if route != routeSelf {
		fee = min(BaseFee+r.amount/1000, maxFee)
	}

	var (
		row       *paymentRow
		failure   error // a definite failure, committed as such
		wait      <-chan struct{}
		startPeer bool
	)
	err := s.update(ctx, func(c *change) error {
		switch old, err := getPayment(c.ctx, c.tx, r.hash); {
		case err == nil && old.state == string(lightning.PaymentSucceeded):
			return lightning.ErrAlreadyPaid
		case err == nil && old.state == string(lightning.PaymentPending):
			return lightning.ErrPaymentInFlight
		case err != nil && !errors.Is(err, lightning.ErrNotFound):
			return s.dbErr(err)
		}
		row = &paymentRow{
			hash: r.hash, bolt11: r.bolt11, destination: r.dest, route: route,
			amount: r.amount, fee: fee, state: string(lightning.PaymentPending),
			preimage: r.preimage, createdAt: c.now.Unix(), isKeysend: r.keysend, tlvs: encodeTLVs(r.tlvs),
		}
		balance, err := getMetaInt(c.ctx, c.tx, metaBalance)
		if err != nil {
			return s.dbErr(err)
		}
		if balance < r.amount+fee {
			row.state, row.failure, row.resolvedAt = string(lightning.PaymentFailed), "insufficient balance", c.now.Unix()
			failure = fmt.Errorf("%w: %w: %d msat needed, %d available", lightning.ErrPaymentFailed, lightning.ErrInsufficientBalance, r.amount+fee, balance)
			return s.dbErrOrNil(upsertPayment(c.ctx, c.tx, row))
		}
		if err := upsertPayment(c.ctx, c.tx, row); err != nil {
			return s.dbErr(err)
		}
		if err := addBalance(c.ctx, c.tx, -(r.amount + fee)); err != nil {
			return s.dbErr(err)
		}

		switch route {
		case routeSelf:
			if r.keysend {
				if err := s.insertKeysend(c, r.preimage, r.amount, r.tlvs); err != nil {
					if !errors.Is(err, lightning.ErrAlreadyPaid) {
						return err
					}
					failure = fmt.Errorf("%w: %w", lightning.ErrPaymentFailed, err)
					return s.failPayment(c, row, err.Error())
				}
				return s.succeedPayment(c, row, r.preimage)
			}
			in, err := s.acceptIncoming(c, r.hash, r.amount)
			if err != nil {
				if errors.Is(err, lightning.ErrUnavailable) {
					return err
				}
				failure = fmt.Errorf("%w: %w", lightning.ErrPaymentFailed, err)
				return s.failPayment(c, row, err.Error())
			}
			if in.isHold {
				wait = s.waitLocked(r.hash) // until settled or canceled
				return nil
			}
			return s.succeedPayment(c, row, in.preimage)
		case routePeer:
			wait = s.waitLocked(r.hash)
			s.wg.Add(1) // under mu, after update checked that we are open
			startPeer = true
			return nil
		default:
			outcome, err := s.outcomeFor(c, r.hash)
			if err != nil {
				return err
			}
			switch outcome {
			case OutcomeSucceed:
				return s.succeedPayment(c, row, s.externalPreimage(row))
			case OutcomeFail:
				failure = fmt.Errorf("%w: no route", lightning.ErrPaymentFailed)
				return s.failPayment(c, row, "no route")
			default:
				wait = s.waitLocked(r.hash) // until Release
				return nil
			}
		}
	})
	if startPeer {
		if err != nil {
			s.wg.Done() // the commit failed: nothing to deliver
		} else {
			go s.deliverToPeer(peer, r)
		}
	}
	if err != nil {
		return lightning.PayResult{}, err
	}
	if failure != nil {
		s.log.Debug("payment failed", "payment_hash", r.hash, "route", route, "err", failure)
		return lightning.PayResult{}, failure
	}
	if wait != nil {
		err = s.await(ctx, r.hash, wait, func() (bool, error) {
			cur, err := getPayment(s.stopCtx, s.db, r.hash)
			if err != nil {
				return true, s.dbErr(err)
			}
			row = cur
			return cur.state != string(lightning.PaymentPending), nil
		})
		if err != nil {
			return lightning.PayResult{}, err
		}
		if row.state == string(lightning.PaymentFailed) {
			return lightning.PayResult{}, fmt.Errorf("%w: %s", lightning.ErrPaymentFailed, row.failure)
		}
	}
	s.log.Debug("payment succeeded", "payment_hash", r.hash, "route", route, "amount_msat", row.amount, "fee_msat", row.fee)
	return lightning.PayResult{PaymentHash: row.hash, Preimage: row.preimage, Amount: row.amount, FeePaid: row.fee}, nil
}

func (s *Sandbox) dbErrOrNil(err error) error {
	if err != nil {
		return s.dbErr(err)
	}
	return nil
}

func (s *Sandbox) succeedPayment(c *change, row *paymentRow, preimage string) error {
	row.state, row.preimage, row.resolvedAt = string(lightning.PaymentSucceeded), preimage, c.now.Unix()
	if err := upsertPayment(c.ctx, c.tx, row); err != nil {
		return s.dbErr(err)
	}
	c.emit(paymentEvent(row.payment()))
	c.touch(row.hash)
	return nil
}

// failPayment marks row failed and returns the reserved amount and fee.
func (s *Sandbox) failPayment(c *change, row *paymentRow, reason string) error {
	row.state, row.failure, row.resolvedAt = string(lightning.PaymentFailed), reason, c.now.Unix()
	if err := upsertPayment(c.ctx, c.tx, row); err != nil {
		return s.dbErr(err)
	}
	if err := addBalance(c.ctx, c.tx, row.amount+row.fee); err != nil {
		return s.dbErr(err)
	}
	c.touch(row.hash)
	return nil
}

// resolveSelfPayment settles (preimage set) or fails our own pending
// payment to our own hold invoice, if there is one.
func (s *Sandbox) resolveSelfPayment(c *change, hash, preimage, failure string) error {
	row, err := getPayment(c.ctx, c.tx, hash)
	if errors.Is(err, lightning.ErrNotFound) {
		return nil
	}
	if err != nil {
		return s.dbErr(err)
	}
	if row.route != routeSelf || row.state != string(lightning.PaymentPending) {
		return nil
	}
	if preimage != "" {
		return s.succeedPayment(c, row, preimage)
	}
	return s.failPayment(c, row, failure)
}

// externalPreimage is what a succeeded payment to an unknown node returns.
// The real preimage is unknowable, so it is a deterministic fake
// (HMAC of the payment hash under the node key) — except for keysend,
// where the payer chose the preimage.
func (s *Sandbox) externalPreimage(row *paymentRow) string {
	if row.preimage != "" {
		return row.preimage
	}
	h, _ := hex.DecodeString(row.hash)
	fake := s.derive("external preimage", h)
	return hex.EncodeToString(fake[:])
}

func (s *Sandbox) outcomeFor(c *change, hash string) (Outcome, error) {
	var o string
	err := c.tx.QueryRowContext(c.ctx, `SELECT outcome FROM outcomes WHERE payment_hash = ?`, hash).Scan(&o)
	if err != nil {
		if errors.Is(err, errNoRows) {
			return s.outcome, nil
		}
		return "", s.dbErr(err)
	}
	return Outcome(o), nil
}

// insertKeysend records an incoming keysend as a settled invoice-less
// payment and credits the balance.
func (s *Sandbox) insertKeysend(c *change, preimage string, amount int64, tlvs []lightning.TLV) error {
	pre, _ := hex.DecodeString(preimage)
	h := sha256.Sum256(pre)
	hash := hex.EncodeToString(h[:])
	if _, err := getInvoice(c.ctx, c.tx, hash); err == nil {
		return fmt.Errorf("%w: payment hash %s already received", lightning.ErrAlreadyPaid, hash)
	} else if !errors.Is(err, lightning.ErrNotFound) {
		return s.dbErr(err)
	}
	row := &invoiceRow{
		hash: hash, preimage: preimage, amount: amount, received: amount,
		createdAt: c.now.Unix(), settledAt: c.now.Unix(), state: string(lightning.InvoiceSettled),
		isKeysend: true, tlvs: encodeTLVs(tlvs),
	}
	if err := insertInvoice(c.ctx, c.tx, row); err != nil {
		return s.dbErr(err)
	}
	if err := addBalance(c.ctx, c.tx, amount); err != nil {
		return s.dbErr(err)
	}
	c.emit(invoiceEvent(lightning.EventInvoiceSettled, row.invoice(c.now)))
	c.touch(hash)
	return nil
}

// receiveKeysend is called by a peer sandbox sending us a keysend.
func (s *Sandbox) receiveKeysend(ctx context.Context, preimage string, amount int64, tlvs []lightning.TLV) error {
	return s.update(ctx, func(c *change) error { return s.insertKeysend(c, preimage, amount, tlvs) })
}

// deliverToPeer hands a payment to another sandbox and records the result.
// If the outcome stays unknown (peer closed, we are closing), the payment
// stays pending, as it would with a real HTLC in flight.
func (s *Sandbox) deliverToPeer(peer *Sandbox, r payRequest) {
	defer s.wg.Done()
	var preimage string
	var err error
	if r.keysend {
		err = peer.receiveKeysend(s.stopCtx, r.preimage, r.amount, r.tlvs)
		preimage = r.preimage
	} else {
		preimage, err = peer.receive(s.stopCtx, r.hash, r.amount)
	}
	if s.stopCtx.Err() != nil || errors.Is(err, lightning.ErrPaymentPending) || errors.Is(err, lightning.ErrUnavailable) {
		s.log.Warn("payment to peer left pending", "payment_hash", r.hash, "err", err)
		return
	}
	uerr := s.update(s.stopCtx, func(c *change) error {
		row, gerr := getPayment(c.ctx, c.tx, r.hash)
		if gerr != nil {
			return s.dbErr(gerr)
		}
		if row.state != string(lightning.PaymentPending) {
			return nil // resolved meanwhile by Release
		}
		if err != nil {
			return s.failPayment(c, row, err.Error())
		}
		return s.succeedPayment(c, row, preimage)
	})
	if uerr != nil {
		s.log.Warn("recording peer payment result", "payment_hash", r.hash, "err", uerr)
	}
}

// LookupPayment implements lightning.Backend.
func (s *Sandbox) LookupPayment(ctx context.Context, paymentHash string) (lightning.Payment, error) {
	paymentHash, err := normHash(paymentHash)
	if err != nil {
		return lightning.Payment{}, err
	}
	if err := s.alive(ctx); err != nil {
		return lightning.Payment{}, err
	}
	row, err := getPayment(ctx, s.db, paymentHash)
	if err != nil {
		if errors.Is(err, lightning.ErrNotFound) {
			return lightning.Payment{}, err
		}
		return lightning.Payment{}, s.dbErr(err)
	}
	return row.payment(), nil
}

// SetOutcome scripts the outcome of a future payment to paymentHash sent
// to a node outside the sandbox (and outside its Net). It persists.
func (s *Sandbox) SetOutcome(ctx context.Context, paymentHash string, o Outcome) error {
	paymentHash, err := normHash(paymentHash)
	if err != nil {
		return err
	}
	if !o.valid() {
		return fmt.Errorf("%w: unknown outcome %q", lightning.ErrInvalidParams, o)
	}
	return s.update(ctx, func(c *change) error {
		_, err := c.tx.ExecContext(c.ctx, `INSERT INTO outcomes(payment_hash, outcome) VALUES(?, ?)
			ON CONFLICT(payment_hash) DO UPDATE SET outcome = excluded.outcome`, paymentHash, string(o))
		return s.dbErrOrNil(err)
	})
}

// Release resolves a pending (hung) payment: OutcomeSucceed settles it
// (PaymentSent fires, the blocked payer if any returns the preimage),
// OutcomeFail fails it and refunds, OutcomeHang leaves it. It works after a
// restart too. Payments to the sandbox's own hold invoices are resolved by
// settling or canceling the invoice instead.
func (s *Sandbox) Release(ctx context.Context, paymentHash string, o Outcome) error {
	paymentHash, err := normHash(paymentHash)
	if err != nil {
		return err
	}
	if !o.valid() {
		return fmt.Errorf("%w: unknown outcome %q", lightning.ErrInvalidParams, o)
	}
	return s.update(ctx, func(c *change) error {
		row, err := getPayment(c.ctx, c.tx, paymentHash)
		if err != nil {
			if errors.Is(err, lightning.ErrNotFound) {
				return err
			}
			return s.dbErr(err)
		}
		switch {
		case row.state != string(lightning.PaymentPending):
			return fmt.Errorf("%w: payment is %s", lightning.ErrInvoiceState, row.state)
		case row.route == routeSelf:
			return fmt.Errorf("%w: payment to our own hold invoice: settle or cancel the invoice", lightning.ErrInvalidParams)
		}
		switch o {
		case OutcomeSucceed:
			return s.succeedPayment(c, row, s.externalPreimage(row))
		case OutcomeFail:
			return s.failPayment(c, row, "no route")
		}
		return nil
	})
}
