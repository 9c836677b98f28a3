package service

import (
	"context"
	"errors"
	"time"

	"github.com/nwc-go/nwc/internal/lightning"
	"github.com/nwc-go/nwc/internal/wallet"
	"github.com/nwc-go/nwc/nip47"
)

// notifyLoop turns backend events into store updates and notifications.
func (s *Service) notifyLoop(ctx context.Context, events <-chan lightning.Event) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			s.onBackendEvent(ctx, ev)
		}
	}
}

func (s *Service) onBackendEvent(ctx context.Context, ev lightning.Event) {
	if ev.Invoice == nil {
		return // payments are recorded and announced by the pay path itself
	}
	inv := ev.Invoice
	switch ev.Type {
	case lightning.EventInvoiceSettled:
		s.settleIncoming(ctx, inv.PaymentHash, inv.Preimage, wallet.MSat(inv.AmountReceived))
	case lightning.EventHoldInvoiceAccepted:
		tx, err := s.cfg.Store.MarkInvoiceAccepted(ctx, inv.PaymentHash, inv.SettleDeadline, s.now())
		if err != nil {
			if !errors.Is(err, wallet.ErrNotFound) && !errors.Is(err, wallet.ErrInvalidState) {
				s.log.Warn("record accepted hold invoice", "hash", inv.PaymentHash, "err", err)
			}
			return
		}
		s.notifyPayment(ctx, wallet.NotificationHoldInvoiceAccepted, tx)
	}
}

// settleIncoming marks an invoice settled and announces it; whichever path (backend event
// or settle_hold_invoice) gets there first announces, the other finds it already settled.
func (s *Service) settleIncoming(ctx context.Context, hash, preimage string, received wallet.MSat) *wallet.Transaction {
	tx, err := s.cfg.Store.SettleInvoice(ctx, hash, preimage, received, s.now())
	switch {
	case err == nil:
		s.notifyPayment(ctx, wallet.NotificationPaymentReceived, tx)
	case errors.Is(err, wallet.ErrAlreadySettled):
	case errors.Is(err, wallet.ErrNotFound):
		// An invoice made outside nwc (CLI, faucet): nothing to credit to a connection.
		return nil
	default:
		s.log.Warn("record settled invoice", "hash", hash, "err", err)
	}
	return tx
}

// notifyPayment pushes a notification to every connection allowed to see tx: its owner,
// and every non-isolated connection (they see the whole wallet). Both kinds are sent,
// 23197 (NIP-44) and 23196 (NIP-04), because clients listen to one or the other.
func (s *Service) notifyPayment(ctx context.Context, typ string, tx *wallet.Transaction) {
	s.countPayment(typ, tx)
	n := &nip47.Notification{NotificationType: typ, Notification: *toNIP47(tx, s.now())}
	s.mu.RLock()
	var targets []*wallet.Connection
	for pk, l := range s.conns {
		if l.id != tx.ConnectionID && l.isolated {
			continue
		}
		probe := wallet.Connection{Scopes: l.scopes, NotificationTypes: l.notifs} // no copy per connection
		if probe.WantsNotification(typ) {
			targets = append(targets, l.connection(pk))
		}
	}
	s.mu.RUnlock()
	for _, c := range targets {
		key := s.cfg.Keys.Derive(c.KeyIndex)
		for _, scheme := range []nip47.Encryption{nip47.EncryptionNIP44, nip47.EncryptionNIP04} {
			ev, err := s.cipher.SealNotification(key, c.ClientPubKey, scheme, n, s.now())
			if err != nil {
				s.log.Error("seal notification", "conn", c.ID, "err", err)
				continue
			}
			if s.publish(ctx, ev, s.log.With("conn", c.ID, "notification", typ)) == nil {
				s.cfg.Metrics.NotificationSent(typ)
			}
		}
	}
}

// awaitPayment polls the backend for a payment left in flight by a restart (or reserved
// moments ago, possibly by another instance) until it resolves, or is orphaned without
// ever reaching the backend, or the service stops.
func (s *Service) awaitPayment(ctx context.Context, p *wallet.Transaction) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pay, err := s.cfg.Backend.LookupPayment(ctx, p.PaymentHash)
		switch {
		case errors.Is(err, lightning.ErrNotFound):
			if !s.orphaned(p) {
				continue // its owner may still send it
			}
		case err != nil, pay.State == lightning.PaymentPending:
			continue
		}
		s.reconcileOne(ctx, p)
		return
	}
}
