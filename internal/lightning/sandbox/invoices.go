package sandbox

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/nwc-go/nwc/internal/lightning"
	"github.com/nwc-go/nwc/internal/lightning/bolt11"
)

// Features of every invoice: var_onion and payment_secret required,
// basic_mpp optional (what LND writes).
var invoiceFeatures = []int{bolt11.FeatureVarOnionRequired, bolt11.FeaturePaymentSecretRequired, bolt11.FeatureBasicMPPOptional}

// change is one ledger transaction: its events are published and its
// waiters woken only after it commits.
type change struct {
	ctx    context.Context
	tx     *sql.Tx
	now    time.Time
	events []lightning.Event
	wake   []string
}

func (c *change) emit(ev lightning.Event) { c.events = append(c.events, ev) }
func (c *change) touch(hash string)       { c.wake = append(c.wake, hash) }

// update runs fn in a transaction with s.mu held. fn's error rolls back.
func (s *Sandbox) update(ctx context.Context, fn func(c *change) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.alive(ctx); err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.dbErr(err)
	}
	c := &change{ctx: ctx, tx: tx, now: s.clock()}
	s.balance.Store(nil) // whatever fn does, the next Balance reads the ledger again
	if err := fn(c); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return s.dbErr(err)
	}
	for _, ev := range c.events {
		s.publishLocked(ev)
	}
	for _, h := range c.wake {
		s.wakeLocked(h)
	}
	return nil
}

// MakeInvoice implements lightning.Backend.
func (s *Sandbox) MakeInvoice(ctx context.Context, p lightning.InvoiceParams) (lightning.Invoice, error) {
	if p.Amount < 0 || p.Expiry < 0 {
		return lightning.Invoice{}, fmt.Errorf("%w: negative amount or expiry", lightning.ErrInvalidParams)
	}
	var descHash *[32]byte
	if p.DescriptionHash != "" {
		b, err := parseHash(p.DescriptionHash)
		if err != nil {
			return lightning.Invoice{}, fmt.Errorf("description hash: %w", err)
		}
		descHash = &b
	}
	hold := p.PaymentHash != ""
	var holdHash [32]byte
	if hold {
		b, err := parseHash(p.PaymentHash)
		if err != nil {
			return lightning.Invoice{}, fmt.Errorf("payment hash: %w", err)
		}
		holdHash = b
	}
	expiry := p.Expiry
	if expiry == 0 {
		expiry = lightning.DefaultExpiry
	}
	expiry = (expiry + time.Second - 1).Truncate(time.Second)
	cltv := p.MinCLTVExpiryDelta
	if cltv == 0 {
		cltv = lightning.DefaultCLTVDelta
		if hold {
			cltv = lightning.DefaultHoldCLTVDelta
		}
	}

	var out lightning.Invoice
	err := s.update(ctx, func(c *change) error {
		hash, preimage := holdHash, ""
		if !hold {
			seq, err := nextSeq(c.ctx, c.tx)
			if err != nil {
				return s.dbErr(err)
			}
			pre := s.derive("preimage", seqBytes(seq))
			hash, preimage = sha256.Sum256(pre[:]), hex.EncodeToString(pre[:])
		}
		hashHex := hex.EncodeToString(hash[:])
		if _, err := getInvoice(c.ctx, c.tx, hashHex); err == nil {
			return fmt.Errorf("%w: an invoice with payment hash %s exists", lightning.ErrInvalidParams, hashHex)
		} else if !errors.Is(err, lightning.ErrNotFound) {
			return s.dbErr(err)
		}
		secret := s.derive("payment secret", hash[:])
		ts := c.now.Truncate(time.Second)
		inv := bolt11.Invoice{
			Network:            s.network,
			Amount:             p.Amount,
			Timestamp:          ts,
			PaymentHash:        hash,
			PaymentSecret:      &secret,
			Description:        p.Description,
			DescriptionHash:    descHash,
			Expiry:             expiry,
			MinFinalCLTVExpiry: uint64(cltv),
			Features:           invoiceFeatures,
		}
		if descHash != nil {
			inv.Description = "" // only one of d and h goes into the invoice
		}
		str, err := bolt11.Encode(&inv, s.key)
		if err != nil {
			return fmt.Errorf("%w: %w", lightning.ErrInvalidParams, err)
		}
		row := &invoiceRow{
			hash: hashHex, bolt11: str, preimage: preimage, amount: p.Amount,
			description: p.Description, descriptionHash: p.DescriptionHash,
			createdAt: ts.Unix(), expiresAt: ts.Add(expiry).Unix(),
			state: string(lightning.InvoiceOpen), isHold: hold, cltv: int64(cltv),
		}
		if err := insertInvoice(c.ctx, c.tx, row); err != nil {
			return s.dbErr(err)
		}
		out = row.invoice(c.now)
		return nil
	})
	if err != nil {
		return lightning.Invoice{}, err
	}
	s.log.Debug("invoice created", "payment_hash", out.PaymentHash, "amount_msat", out.Amount, "hold", hold)
	return out, nil
}

// LookupInvoice implements lightning.Backend.
func (s *Sandbox) LookupInvoice(ctx context.Context, paymentHash string) (lightning.Invoice, error) {
	paymentHash, err := normHash(paymentHash)
	if err != nil {
		return lightning.Invoice{}, err
	}
	if err := s.alive(ctx); err != nil {
		return lightning.Invoice{}, err
	}
	row, err := getInvoice(ctx, s.db, paymentHash)
	if err != nil {
		if errors.Is(err, lightning.ErrNotFound) {
			return lightning.Invoice{}, err
		}
		return lightning.Invoice{}, s.dbErr(err)
	}
	return row.invoice(s.clock()), nil
}

// SettleHoldInvoice implements lightning.Backend. Settling an invoice that
// is already settled with the same preimage succeeds (safe to retry).
func (s *Sandbox) SettleHoldInvoice(ctx context.Context, preimage string) error {
	pre, err := parseHash(preimage)
	if err != nil {
		return fmt.Errorf("preimage: %w", err)
	}
	h := sha256.Sum256(pre[:])
	hash := hex.EncodeToString(h[:])
	return s.update(ctx, func(c *change) error {
		row, err := getInvoice(c.ctx, c.tx, hash)
		if err != nil {
			if errors.Is(err, lightning.ErrNotFound) {
				return err
			}
			return s.dbErr(err)
		}
		switch {
		case !row.isHold:
			return fmt.Errorf("%w: not a hold invoice", lightning.ErrInvoiceState)
		case row.state == string(lightning.InvoiceSettled):
			return nil
		case row.state != string(lightning.InvoiceAccepted):
			return fmt.Errorf("%w: hold invoice is %s, not accepted", lightning.ErrInvoiceState, row.invoice(c.now).State)
		}
		row.state = string(lightning.InvoiceSettled)
		row.preimage = hex.EncodeToString(pre[:])
		row.settledAt = c.now.Unix()
		if err := updateInvoice(c.ctx, c.tx, row); err != nil {
			return s.dbErr(err)
		}
		if err := addBalance(c.ctx, c.tx, row.received); err != nil {
			return s.dbErr(err)
		}
		c.emit(invoiceEvent(lightning.EventInvoiceSettled, row.invoice(c.now)))
		// A payer inside this sandbox is resolved in the same transaction.
		if err := s.resolveSelfPayment(c, hash, row.preimage, ""); err != nil {
			return err
		}
		c.touch(hash)
		return nil
	})
}

// CancelHoldInvoice implements lightning.Backend. It also cancels ordinary
// open invoices; canceling twice succeeds.
func (s *Sandbox) CancelHoldInvoice(ctx context.Context, paymentHash string) error {
	paymentHash, err := normHash(paymentHash)
	if err != nil {
		return err
	}
	return s.update(ctx, func(c *change) error {
		row, err := getInvoice(c.ctx, c.tx, paymentHash)
		if err != nil {
			if errors.Is(err, lightning.ErrNotFound) {
				return err
			}
			return s.dbErr(err)
		}
		switch row.state {
		case string(lightning.InvoiceCanceled):
			return nil
		case string(lightning.InvoiceSettled):
			return fmt.Errorf("%w: invoice is settled", lightning.ErrInvoiceState)
		}
		row.state = string(lightning.InvoiceCanceled)
		row.received = 0
		row.settleDeadline = 0
		if err := updateInvoice(c.ctx, c.tx, row); err != nil {
			return s.dbErr(err)
		}
		if err := s.resolveSelfPayment(c, paymentHash, "", "invoice canceled by payee"); err != nil {
			return err
		}
		c.touch(paymentHash)
		return nil
	})
}

// acceptIncoming applies an incoming payment of amount to one of our
// invoices: a normal invoice settles (balance credited), a hold invoice
// becomes accepted. It returns the updated row.
func (s *Sandbox) acceptIncoming(c *change, hash string, amount int64) (*invoiceRow, error) {
	row, err := getInvoice(c.ctx, c.tx, hash)
	if err != nil {
		if errors.Is(err, lightning.ErrNotFound) {
			return nil, fmt.Errorf("unknown payment hash: %w", lightning.ErrNotFound)
		}
		return nil, s.dbErr(err)
	}
	switch {
	case row.isKeysend:
		return nil, fmt.Errorf("unknown payment hash: %w", lightning.ErrNotFound)
	case row.state == string(lightning.InvoiceSettled):
		return nil, lightning.ErrAlreadyPaid
	case row.state == string(lightning.InvoiceAccepted):
		return nil, lightning.ErrPaymentInFlight
	case row.state == string(lightning.InvoiceCanceled):
		return nil, fmt.Errorf("%w: invoice canceled", lightning.ErrInvoiceState)
	case row.expired(c.now):
		return nil, lightning.ErrInvoiceExpired
	case amount <= 0 || amount < row.amount:
		return nil, fmt.Errorf("%w: amount %d msat below invoice amount %d", lightning.ErrInvalidParams, amount, row.amount)
	}
	row.received = amount
	if row.isHold {
		row.state = string(lightning.InvoiceAccepted)
		row.settleDeadline = int64(s.heightAt(c.now)) + row.cltv
		if err := updateInvoice(c.ctx, c.tx, row); err != nil {
			return nil, s.dbErr(err)
		}
		c.emit(invoiceEvent(lightning.EventHoldInvoiceAccepted, row.invoice(c.now)))
	} else {
		row.state = string(lightning.InvoiceSettled)
		row.settledAt = c.now.Unix()
		if err := updateInvoice(c.ctx, c.tx, row); err != nil {
			return nil, s.dbErr(err)
		}
		if err := addBalance(c.ctx, c.tx, amount); err != nil {
			return nil, s.dbErr(err)
		}
		c.emit(invoiceEvent(lightning.EventInvoiceSettled, row.invoice(c.now)))
	}
	c.touch(hash)
	return row, nil
}

// PayFromOutside simulates an outside node paying one of this sandbox's
// invoices (the faucet): the balance is credited and InvoiceSettled fires.
// For a hold invoice it blocks until the invoice is settled (nil) or
// canceled (ErrPaymentFailed), or ctx ends (ErrPaymentPending; the invoice
// stays accepted). Zero-amount invoices need PayFromOutsideAmount.
func (s *Sandbox) PayFromOutside(ctx context.Context, invoice string) error {
	return s.PayFromOutsideAmount(ctx, invoice, 0)
}

// PayFromOutsideAmount is PayFromOutside paying amount msat (0 = the
// invoice amount; at least the invoice amount otherwise).
func (s *Sandbox) PayFromOutsideAmount(ctx context.Context, invoice string, amount int64) error {
	inv, err := bolt11.Decode(invoice)
	if err != nil {
		return fmt.Errorf("%w: %w", lightning.ErrInvalidInvoice, err)
	}
	if !inv.Payee.IsEqual(s.key.PubKey()) {
		return fmt.Errorf("%w: not an invoice of this node", lightning.ErrInvalidInvoice)
	}
	if amount == 0 {
		amount = inv.Amount
	}
	if amount <= 0 {
		return fmt.Errorf("%w: zero-amount invoice needs an amount", lightning.ErrInvalidParams)
	}
	_, err = s.receive(ctx, hex.EncodeToString(inv.PaymentHash[:]), amount)
	return err
}

// receive takes an incoming payment from outside or from a peer sandbox
// and returns the preimage once the invoice is settled.
func (s *Sandbox) receive(ctx context.Context, hash string, amount int64) (string, error) {
	var wait <-chan struct{}
	var row *invoiceRow
	err := s.update(ctx, func(c *change) error {
		var err error
		if row, err = s.acceptIncoming(c, hash, amount); err != nil {
			return err
		}
		if row.isHold {
			wait = s.waitLocked(hash)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	s.log.Debug("incoming payment", "payment_hash", hash, "amount_msat", amount, "state", row.state)
	if !row.isHold {
		return row.preimage, nil
	}
	var preimage string
	err = s.await(ctx, hash, wait, func() (bool, error) {
		r, err := getInvoice(s.stopCtx, s.db, hash)
		if err != nil {
			return true, s.dbErr(err)
		}
		switch r.state {
		case string(lightning.InvoiceSettled):
			preimage = r.preimage
			return true, nil
		case string(lightning.InvoiceCanceled):
			return true, fmt.Errorf("%w: hold invoice canceled", lightning.ErrPaymentFailed)
		}
		return false, nil
	})
	return preimage, err
}

// await blocks until check (run with s.mu held after each change of hash)
// reports done, ctx ends (ErrPaymentPending) or the sandbox closes.
func (s *Sandbox) await(ctx context.Context, hash string, ch <-chan struct{}, check func() (bool, error)) error {
	if s.testPending != nil {
		s.testPending(hash)
	}
	for {
		select {
		case <-ch:
		case <-ctx.Done():
			s.unwait(hash, ch)
			return fmt.Errorf("%w: %w", lightning.ErrPaymentPending, ctx.Err())
		case <-s.closed:
			return fmt.Errorf("%w: sandbox closed while waiting", lightning.ErrUnavailable)
		}
		s.mu.Lock()
		done, err := check()
		if !done {
			ch = s.waitLocked(hash)
		}
		s.mu.Unlock()
		if done {
			return err
		}
	}
}

func (s *Sandbox) unwait(hash string, ch <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ws := s.waiters[hash]
	for i, w := range ws {
		if w == ch {
			s.waiters[hash] = append(ws[:i], ws[i+1:]...)
			break
		}
	}
	if len(s.waiters[hash]) == 0 {
		delete(s.waiters, hash)
	}
}

// parseHash parses a 32-byte hex string (hash or preimage).
func parseHash(s string) ([32]byte, error) {
	var out [32]byte
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		return out, fmt.Errorf("%w: want 32-byte hex, got %q", lightning.ErrInvalidParams, truncate(s, 70))
	}
	copy(out[:], b)
	return out, nil
}

// normHash validates a 32-byte hex hash and returns it in lower case.
func normHash(s string) (string, error) {
	b, err := parseHash(s)
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
