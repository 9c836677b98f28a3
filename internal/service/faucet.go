package service

import (
	"context"
	"fmt"
	"time"

	"github.com/nwc-go/nwc/internal/lightning"
	"github.com/nwc-go/nwc/internal/wallet"
)

// Receive makes an invoice owned by connection connID (0 = the wallet itself, no
// connection) and has payer pay it from outside the wallet; the settlement then flows like
// any incoming payment: the owner is credited and notified. The sandbox's faucet uses it.
func (s *Service) Receive(ctx context.Context, connID int64, amount wallet.MSat, description string, payer func(ctx context.Context, bolt11 string) error) (*wallet.Transaction, error) {
	if amount <= 0 {
		return nil, wallet.ErrInvalidAmount
	}
	if connID != 0 {
		c, err := s.cfg.Store.ConnectionByID(ctx, connID)
		if err != nil {
			return nil, err
		}
		if c.Revoked() {
			return nil, wallet.ErrRevoked
		}
	}
	inv, err := s.cfg.Backend.MakeInvoice(ctx, lightning.InvoiceParams{Amount: int64(amount), Description: description, Expiry: 10 * time.Minute})
	if err != nil {
		return nil, err
	}
	tx := &wallet.Transaction{
		ConnectionID: connID, Type: wallet.TxIncoming, State: wallet.StatePending, Invoice: inv.Bolt11,
		Description: inv.Description, PaymentHash: inv.PaymentHash, Amount: amount, CreatedAt: inv.CreatedAt, ExpiresAt: inv.ExpiresAt,
	}
	if err := s.cfg.Store.InsertInvoice(ctx, tx); err != nil {
		return nil, err
	}
	if err := payer(ctx, inv.Bolt11); err != nil {
		return nil, err
	}
	// The backend event settles the row; wait for it so the caller sees the credit.
	for i := 0; i < 100; i++ {
		t, err := s.cfg.Store.Transaction(ctx, connID, wallet.TxIncoming, inv.PaymentHash)
		if err == nil && t.State == wallet.StateSettled {
			return t, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil, fmt.Errorf("service: invoice %s paid but not settled yet", inv.PaymentHash)
}
