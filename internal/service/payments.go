package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
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

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// spend is one outgoing payment about to be made.
type spend struct {
	hash, invoice, desc, descHash string
	amount                        wallet.MSat
	expiresAt                     time.Time // zero for keysend
	metadata                      json.RawMessage
	pay                           func(ctx context.Context, maxFee int64) (lightning.PayResult, error)
}

func (s *Service) payInvoice(ctx context.Context, r *request, invoice string, amount int64, meta json.RawMessage) reply {
	invoice = strings.ToLower(strings.TrimSpace(invoice))
	inv, err := bolt11.Decode(invoice)
	if err != nil {
		return s.failure(r.method, badRequest("invoice is not a valid BOLT-11 invoice"))
	}
	if inv.Amount > 0 && amount > 0 && amount != inv.Amount {
		return s.failure(r.method, badRequest("amount does not match the invoice amount"))
	}
	if inv.Amount > 0 {
		amount = inv.Amount
	}
	if amount <= 0 {
		return s.failure(r.method, badRequest("the invoice has no amount and none was given"))
	}
	if inv.Expired(s.now()) {
		return s.failure(r.method, lightning.ErrInvoiceExpired)
	}
	sp := spend{
		hash: hex.EncodeToString(inv.PaymentHash[:]), invoice: invoice, desc: inv.Description,
		amount: wallet.MSat(amount), expiresAt: inv.ExpiresAt(), metadata: meta,
	}
	if inv.DescriptionHash != nil {
		sp.descHash = hex.EncodeToString(inv.DescriptionHash[:])
	}
	zeroAmount := inv.Amount == 0
	sp.pay = func(ctx context.Context, maxFee int64) (lightning.PayResult, error) {
		p := lightning.PayParams{Invoice: invoice, MaxFee: maxFee}
		if zeroAmount {
			p.Amount = amount
		}
		return s.cfg.Backend.PayInvoice(ctx, p)
	}
	return s.spend(ctx, r, sp)
}

func (s *Service) payKeysend(ctx context.Context, r *request, p *nip47.PayKeysendParams) reply {
	preimage := strings.ToLower(p.Preimage)
	if preimage == "" {
		var b [32]byte
		if _, err := rand.Read(b[:]); err != nil {
			return s.failure(r.method, err)
		}
		preimage = hex.EncodeToString(b[:])
	}
	pre, err := hex.DecodeString(preimage)
	if err != nil || len(pre) != 32 {
		return s.failure(r.method, badRequest("preimage must be 32 bytes of hex"))
	}
	tlvs := make([]lightning.TLV, 0, len(p.TLVRecords))
	for _, t := range p.TLVRecords {
		v, err := hex.DecodeString(t.Value)
		if err != nil {
			return s.failure(r.method, badRequest("tlv_records value must be hex"))
		}
		tlvs = append(tlvs, lightning.TLV{Type: t.Type, Value: v})
	}
	sp := spend{hash: sha256Hex(pre), amount: wallet.MSat(p.Amount)}
	sp.pay = func(ctx context.Context, maxFee int64) (lightning.PayResult, error) {
		return s.cfg.Backend.PayKeysend(ctx, lightning.KeysendParams{
			Destination: strings.ToLower(p.Pubkey), Amount: p.Amount, Preimage: preimage, TLVs: tlvs, MaxFee: maxFee,
		})
	}
	return s.spend(ctx, r, sp)
}

// spend reserves budget and balance and records the pending payment in one store
// transaction, pays, then settles or fails the row. A payment whose outcome is unknown
// (timeout) stays pending and reserved until Reconcile or the backend resolves it.
func (s *Service) spend(ctx context.Context, r *request, sp spend) reply {
	now := s.now()
	reserve := wallet.FeeReserve(sp.amount)
	// Paying an invoice of this same wallet settles internally without routing fees.
	if sp.invoice != "" {
		if _, err := s.cfg.Store.Transaction(ctx, 0, wallet.TxIncoming, sp.hash); err == nil {
			reserve = 0
		}
	}
	res := wallet.PaymentReservation{
		ConnectionID: r.conn.ID, RequestEventID: r.ev.ID, PaymentHash: sp.hash, Invoice: sp.invoice,
		Description: sp.desc, DescriptionHash: sp.descHash, Amount: sp.amount, FeeReserve: reserve,
		Budget: r.conn.Budget, WindowStart: r.conn.Budget.WindowStart(now, s.cfg.Location),
		Isolated: r.conn.Isolated, CreatedAt: now, ExpiresAt: sp.expiresAt, Metadata: sp.metadata,
		Request: r.begin, // a single payment: recorded in the reservation's transaction
	}
	if _, err := s.cfg.Store.ReservePayment(ctx, res); err != nil {
		if errors.Is(err, wallet.ErrDuplicateRequest) || errors.Is(err, wallet.ErrRevoked) {
			return reply{duplicate: true}
		}
		if res.Request != nil && refusal(err) {
			r.begin = nil // recorded together with the refusal
		}
		if errors.Is(err, wallet.ErrQuotaExceeded) {
			s.cfg.Metrics.BudgetRefused()
		}
		return s.failure(r.method, err)
	}
	if res.Request != nil {
		r.begin = nil // recorded
	}
	payCtx, cancel := context.WithTimeout(ctx, s.cfg.PaymentTimeout)
	defer cancel()
	maxFee := int64(reserve)
	if maxFee == 0 {
		maxFee = int64(wallet.MinFeeReserve)
	}
	result, err := sp.pay(payCtx, maxFee)
	if err != nil {
		if errors.Is(err, lightning.ErrPaymentPending) || payCtx.Err() != nil && !errors.Is(err, lightning.ErrPaymentFailed) {
			r.log.Warn("payment outcome unknown, left pending", "hash", sp.hash, "err", err)
			return s.failure(r.method, lightning.ErrPaymentPending)
		}
		if _, ferr := s.cfg.Store.FailPayment(ctx, sp.hash, err.Error(), s.now()); ferr != nil {
			r.log.Error("record failed payment", "hash", sp.hash, "err", ferr)
		}
		r.log.Info("payment failed", "hash", sp.hash, "err", err)
		return s.failure(r.method, err)
	}
	tx, err := s.cfg.Store.SettlePayment(ctx, sp.hash, result.Preimage, wallet.MSat(result.FeePaid), s.now())
	switch {
	case err == nil:
		// Only the caller whose SettlePayment made the change notifies: another instance's
		// Reconcile may have settled the row first (and notified).
		s.notifyPayment(ctx, wallet.NotificationPaymentSent, tx)
	case !errors.Is(err, wallet.ErrAlreadySettled):
		r.log.Error("record settled payment", "hash", sp.hash, "err", err)
	}
	return s.success(r.method, &nip47.PayInvoiceResult{Preimage: result.Preimage, FeesPaid: result.FeePaid}, sp.amount+wallet.MSat(result.FeePaid))
}

// refusal reports whether ReservePayment refused (and so recorded the request it carried).
func refusal(err error) bool {
	return errors.Is(err, wallet.ErrAlreadyPaid) || errors.Is(err, wallet.ErrPaymentPending) ||
		errors.Is(err, wallet.ErrQuotaExceeded) || errors.Is(err, wallet.ErrInsufficientBalance)
}

// multiPayInvoice pays each element and answers once per element with a d tag: the
// element's id, else its payment hash (NIP47.md §4.3).
func (s *Service) multiPayInvoice(ctx context.Context, r *request, p *nip47.MultiPayInvoiceParams) []reply {
	return s.multi(len(p.Invoices), func(i int) reply {
		item := p.Invoices[i]
		d := item.ID
		if d == "" {
			if inv, err := bolt11.Decode(strings.ToLower(item.Invoice)); err == nil {
				d = hex.EncodeToString(inv.PaymentHash[:])
			}
		}
		rep := s.payInvoice(ctx, r, item.Invoice, item.Amount, item.Metadata)
		rep.dTag, rep.hasD = d, true
		return rep
	})
}

// multiPayKeysend is multiPayInvoice for keysends; the d tag falls back to the payee.
func (s *Service) multiPayKeysend(ctx context.Context, r *request, p *nip47.MultiPayKeysendParams) []reply {
	return s.multi(len(p.Keysends), func(i int) reply {
		item := p.Keysends[i]
		d := item.ID
		if d == "" {
			d = item.Pubkey
		}
		rep := s.payKeysend(ctx, r, &nip47.PayKeysendParams{Amount: item.Amount, Pubkey: item.Pubkey, Preimage: item.Preimage, TLVRecords: item.TLVRecords})
		rep.dTag, rep.hasD = d, true
		return rep
	})
}

// multi runs n items concurrently (each reserves in its own store transaction, so the
// budget holds across them) and returns the replies in item order.
func (s *Service) multi(n int, one func(i int) reply) []reply {
	out := make([]reply, n)
	done := make(chan struct{}, n)
	for i := 0; i < n; i++ {
		go func() {
			out[i] = one(i)
			done <- struct{}{}
		}()
	}
	for i := 0; i < n; i++ {
		<-done
	}
	return out
}

// Reconcile settles or fails every payment left pending by a crash or a timeout, by asking
// the backend about its payment hash. It runs before new requests are taken.
func (s *Service) Reconcile(ctx context.Context) error {
	pending, err := s.cfg.Store.PendingPayments(ctx)
	if err != nil {
		return err
	}
	for i := range pending {
		s.reconcileOne(ctx, &pending[i])
	}
	return nil
}

// orphaned reports whether a pending payment is old enough that whoever reserved it has
// stopped trying to send it: the pay call that follows a reservation is bounded by
// PaymentTimeout (plus a second, as CreatedAt has whole seconds).
func (s *Service) orphaned(p *wallet.Transaction) bool {
	return s.now().Sub(p.CreatedAt) > s.cfg.PaymentTimeout+time.Second
}

func (s *Service) reconcileOne(parent context.Context, p *wallet.Transaction) {
	ctx, cancel := context.WithTimeout(parent, s.cfg.CallTimeout)
	defer cancel()
	log := s.log.With("hash", p.PaymentHash, "conn", p.ConnectionID)
	pay, err := s.cfg.Backend.LookupPayment(ctx, p.PaymentHash)
	switch {
	case errors.Is(err, lightning.ErrNotFound) && !s.orphaned(p):
		// Reserved moments ago: the instance that reserved it (another one on the same
		// database, or this one just before a crash) may still be about to send it, so the
		// backend not knowing it proves nothing yet. Look again until it is orphaned.
		log.Info("reconcile: not at the backend yet; waiting")
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.awaitPayment(parent, p)
		}()
	case errors.Is(err, lightning.ErrNotFound):
		// The backend never saw it: the crash came before the payment left. Release it.
		_, err = s.cfg.Store.FailPayment(ctx, p.PaymentHash, "not found at the backend after restart", s.now())
		log.Info("reconciled: never sent", "err", err)
	case err != nil:
		log.Warn("reconcile lookup failed; left pending", "err", err)
	case pay.State == lightning.PaymentSucceeded:
		tx, err := s.cfg.Store.SettlePayment(ctx, p.PaymentHash, pay.Preimage, wallet.MSat(pay.FeePaid), s.now())
		log.Info("reconciled: succeeded", "err", err)
		if err == nil {
			s.notifyPayment(ctx, wallet.NotificationPaymentSent, tx)
		}
	case pay.State == lightning.PaymentFailed:
		_, err = s.cfg.Store.FailPayment(ctx, p.PaymentHash, pay.FailureReason, s.now())
		log.Info("reconciled: failed", "err", err)
	default:
		log.Info("reconcile: still in flight; left pending")
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.awaitPayment(parent, p)
		}()
	}
}
