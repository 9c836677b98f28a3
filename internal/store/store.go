// Package store declares the store API that both implementations provide:
// sqlite (the default, one file) and postgres (several service instances on
// one database). Callers that must work with either (the server assembly,
// the CLI) use this interface; the service declares its own smaller one.
package store

import (
	"context"
	"time"

	"github.com/nwc-go/nwc/internal/wallet"
	"github.com/nwc-go/nwc/nostr"
)

// Store is the full store API, implemented by sqlite.Store and
// postgres.Store. Times are stored with second precision. Every method that
// looks a row up returns wallet.ErrNotFound when there is none.
type Store interface {
	Close() error

	// Connections.
	CreateConnection(ctx context.Context, c *wallet.Connection, serviceKey func(index uint32) (nostr.PublicKey, error)) error
	ConnectionByID(ctx context.Context, id int64) (*wallet.Connection, error)
	ConnectionByClientKey(ctx context.Context, pk nostr.PublicKey) (*wallet.Connection, error)
	ConnectionByServiceKey(ctx context.Context, pk nostr.PublicKey) (*wallet.Connection, error)
	ListConnections(ctx context.Context) ([]wallet.Connection, error)
	ConnectionsVersion(ctx context.Context) (string, error)
	RevokeConnection(ctx context.Context, id int64, at time.Time) error
	TouchConnection(ctx context.Context, id int64, at time.Time) error
	NextKeyIndex(ctx context.Context) (uint32, error)

	// Requests (exactly once).
	BeginRequest(ctx context.Context, eventID nostr.EventID, connID int64, method string, receivedAt time.Time) error
	FinishRequest(ctx context.Context, eventID nostr.EventID, outcome string, amount wallet.MSat, duration time.Duration, finishedAt time.Time) error
	FinishRequestLater(ctx context.Context, eventID nostr.EventID, outcome string, amount wallet.MSat, duration time.Duration, finishedAt time.Time) error
	RecentRequests(ctx context.Context, connID int64, limit int) ([]wallet.Request, error)
	RequestStats(ctx context.Context, connID int64) (wallet.RequestStats, error)
	PruneRequests(ctx context.Context, before time.Time, limit int) (int64, error)

	// Outgoing payments.
	ReservePayment(ctx context.Context, r wallet.PaymentReservation) (*wallet.Transaction, error)
	SettlePayment(ctx context.Context, paymentHash, preimage string, fee wallet.MSat, settledAt time.Time) (*wallet.Transaction, error)
	FailPayment(ctx context.Context, paymentHash, reason string, at time.Time) (*wallet.Transaction, error)
	PendingPayments(ctx context.Context) ([]wallet.Transaction, error)

	// Incoming invoices.
	InsertInvoice(ctx context.Context, t *wallet.Transaction) error
	SettleInvoice(ctx context.Context, paymentHash, preimage string, amountReceived wallet.MSat, settledAt time.Time) (*wallet.Transaction, error)
	MarkInvoiceAccepted(ctx context.Context, paymentHash string, settleDeadline uint32, at time.Time) (*wallet.Transaction, error)
	MarkInvoiceCanceled(ctx context.Context, paymentHash string, at time.Time) (*wallet.Transaction, error)

	// Queries.
	Transaction(ctx context.Context, connID int64, typ wallet.TxType, paymentHash string) (*wallet.Transaction, error)
	ListTransactions(ctx context.Context, q wallet.TxQuery) ([]wallet.Transaction, int, error)
	BudgetUsed(ctx context.Context, connID int64, since time.Time) (wallet.MSat, error)
	IsolatedBalance(ctx context.Context, connID int64) (wallet.MSat, error)

	// Settings.
	GetSetting(ctx context.Context, key string) (string, error)
	PutSetting(ctx context.Context, key, value string) error
}
