package service

import (
	"time"

	"github.com/nwc-go/nwc/internal/wallet"
)

// Metrics receives what the service does, for monitoring (internal/metrics exports it in
// the Prometheus text format). Implementations must be cheap and safe for concurrent use:
// they are called on the request path. Config.Metrics nil records nothing.
type Metrics interface {
	// Request: one request was answered; outcome is wallet.OutcomeOK or the NIP-47 code
	// ("" method: the request could not be decrypted).
	Request(method, outcome string, took time.Duration)
	// PublishFailed: no relay accepted an event of this kind (response, notification, info).
	PublishFailed(kind int)
	// Payment: a payment settled; direction is "incoming" or "outgoing", amounts in msat.
	Payment(direction string, amount, fee int64)
	// BudgetRefused: a payment was refused because the connection's budget is used up.
	BudgetRefused()
	// NotificationSent: a relay accepted a notification event of this type.
	NotificationSent(typ string)
}

type nopMetrics struct{}

func (nopMetrics) Request(string, string, time.Duration) {}
func (nopMetrics) PublishFailed(int)                     {}
func (nopMetrics) Payment(string, int64, int64)          {}
func (nopMetrics) BudgetRefused()                        {}
func (nopMetrics) NotificationSent(string)               {}

// countPayment records a settled payment once: notifyPayment runs exactly once per
// settlement (only the caller whose store update made the change calls it).
func (s *Service) countPayment(typ string, tx *wallet.Transaction) {
	switch typ {
	case wallet.NotificationPaymentReceived:
		s.cfg.Metrics.Payment(string(wallet.TxIncoming), int64(tx.Amount), 0)
	case wallet.NotificationPaymentSent:
		s.cfg.Metrics.Payment(string(wallet.TxOutgoing), int64(tx.Amount), int64(tx.FeesPaid))
	}
}
