// Package lightning declares the Lightning node interface the wallet service
// drives (Backend) and the types shared by every implementation: the sandbox
// ledger (sandbox/), LND (lnd/) and the conformance suite (lightningtest/).
//
// Conventions: amounts are int64 millisatoshis, hashes, preimages and public
// keys are lowercase hex strings, times are time.Time (zero = absent).
package lightning

import (
	"context"
	"errors"
	"time"
)

// Backend is a Lightning node as seen by the wallet service.
//
// Every method that talks to the node takes a context; a backend that cannot
// reach its node returns an error wrapping ErrUnavailable.
type Backend interface {
	// Info describes the node.
	Info(ctx context.Context) (NodeInfo, error)
	// Balance is the node's spendable Lightning balance in msat.
	Balance(ctx context.Context) (int64, error)

	// MakeInvoice creates an invoice. With p.PaymentHash set it creates a
	// hold invoice: a payment is accepted but not settled until
	// SettleHoldInvoice (or refused by CancelHoldInvoice).
	MakeInvoice(ctx context.Context, p InvoiceParams) (Invoice, error)
	// SettleHoldInvoice settles an accepted hold invoice with its preimage
	// (hex). ErrNotFound if no invoice has sha256(preimage) as hash,
	// ErrInvoiceState if it is not accepted.
	SettleHoldInvoice(ctx context.Context, preimage string) error
	// CancelHoldInvoice cancels an open or accepted hold invoice; a locked-in
	// payment is returned to the payer. ErrNotFound, ErrInvoiceState.
	CancelHoldInvoice(ctx context.Context, paymentHash string) error
	// LookupInvoice returns an incoming invoice (or an incoming keysend)
	// by payment hash, or ErrNotFound.
	LookupInvoice(ctx context.Context, paymentHash string) (Invoice, error)

	// PayInvoice pays a BOLT-11 invoice and blocks until the payment has
	// succeeded or failed, or ctx is done.
	//
	// Errors: ErrInvalidInvoice (cannot decode, wrong network, no amount and
	// none given), ErrInvoiceExpired, ErrAlreadyPaid (a succeeded payment
	// with this hash exists), ErrPaymentInFlight (one is pending),
	// ErrPaymentFailed wrapping the reason (ErrInsufficientBalance, no route,
	// fee limit…): the payment is definitely failed and no money left.
	// ErrPaymentPending (wrapping ctx.Err()) when ctx ends first: the outcome
	// is unknown, the payment may still succeed — reconcile with
	// LookupPayment, never treat it as failed. ErrUnavailable likewise
	// leaves the outcome unknown. A bare ctx error (not wrapped in
	// ErrPaymentPending) means the payment was never started.
	PayInvoice(ctx context.Context, p PayParams) (PayResult, error)
	// PayKeysend sends a spontaneous payment to a node; errors as PayInvoice.
	PayKeysend(ctx context.Context, p KeysendParams) (PayResult, error)
	// LookupPayment returns an outgoing payment by payment hash, or
	// ErrNotFound. Used to reconcile in-flight payments after a crash.
	LookupPayment(ctx context.Context, paymentHash string) (Payment, error)

	// SignMessage signs message with the node key in LND's signmessage
	// format (see SignMessage in this package) and returns the zbase32
	// signature.
	SignMessage(ctx context.Context, message string) (string, error)

	// Subscribe streams invoice and payment events that happen after the
	// call. The channel is closed when ctx is done or the backend closes.
	// Each subscriber gets every event, in order; slow subscribers do not
	// lose events.
	Subscribe(ctx context.Context) (<-chan Event, error)

	// Capabilities lists what this backend can serve.
	Capabilities() Capabilities
}

// Sentinel errors; backends wrap them with %w and callers test with errors.Is.
var (
	ErrNotFound            = errors.New("lightning: not found")
	ErrPaymentFailed       = errors.New("lightning: payment failed")
	ErrPaymentPending      = errors.New("lightning: payment outcome not known yet")
	ErrPaymentInFlight     = errors.New("lightning: a payment for this hash is already in flight")
	ErrInvoiceExpired      = errors.New("lightning: invoice expired")
	ErrAlreadyPaid         = errors.New("lightning: invoice already paid")
	ErrInsufficientBalance = errors.New("lightning: insufficient balance")
	ErrInvalidInvoice      = errors.New("lightning: invalid invoice")
	ErrInvalidParams       = errors.New("lightning: invalid parameters")
	ErrInvoiceState        = errors.New("lightning: invoice is not in a state that allows this")
	ErrUnavailable         = errors.New("lightning: node unavailable")
	ErrNotSupported        = errors.New("lightning: not supported by this backend")
)

// Network names as used by NIP-47 get_info.
const (
	Mainnet = "mainnet"
	Testnet = "testnet"
	Signet  = "signet"
	Regtest = "regtest"
)

// NodeInfo describes the node (NIP-47 get_info).
type NodeInfo struct {
	Alias       string
	Color       string // "#rrggbb"
	PubKey      string // 33-byte compressed, hex
	Network     string // Mainnet, Testnet, Signet or Regtest
	BlockHeight uint32
	BlockHash   string // hex, display order
}

// InvoiceState is the state of an incoming invoice.
type InvoiceState string

// Invoice states.
const (
	InvoiceOpen     InvoiceState = "open"     // waiting for payment
	InvoiceAccepted InvoiceState = "accepted" // hold invoice: payment locked in, not settled
	InvoiceSettled  InvoiceState = "settled"
	InvoiceCanceled InvoiceState = "canceled"
	InvoiceExpired  InvoiceState = "expired" // open and past ExpiresAt
)

// InvoiceParams are the arguments of MakeInvoice.
type InvoiceParams struct {
	Amount          int64         // msat; 0 = any amount
	Description     string        // kept on the Invoice; not written into the BOLT-11 when DescriptionHash is set
	DescriptionHash string        // hex sha256, optional
	Expiry          time.Duration // 0 = DefaultExpiry
	// PaymentHash (hex) makes a hold invoice; the caller keeps the preimage.
	PaymentHash string
	// MinCLTVExpiryDelta is the final CLTV delta; 0 = backend default
	// (DefaultHoldCLTVDelta for hold invoices).
	MinCLTVExpiryDelta uint32
}

// Defaults used by backends when a parameter is zero.
const (
	DefaultExpiry        = time.Hour
	DefaultCLTVDelta     = 40
	DefaultHoldCLTVDelta = 144
)

// Invoice is an incoming invoice, or an incoming keysend payment
// (IsKeysend, no Bolt11).
type Invoice struct {
	Bolt11          string
	PaymentHash     string
	Preimage        string // only once settled
	Amount          int64  // msat requested; 0 = any amount
	AmountReceived  int64  // msat actually received (settled or accepted)
	Description     string
	DescriptionHash string
	CreatedAt       time.Time
	ExpiresAt       time.Time
	SettledAt       time.Time // zero unless settled
	State           InvoiceState
	IsHold          bool
	// SettleDeadline is the block height by which an accepted hold invoice
	// must be settled or canceled; 0 when not accepted.
	SettleDeadline uint32
	IsKeysend      bool
	TLVs           []TLV // custom records of an incoming keysend
}

// PayParams are the arguments of PayInvoice.
type PayParams struct {
	Invoice string // BOLT-11
	Amount  int64  // msat; used only for zero-amount invoices, ignored otherwise (as Alby Hub does)
	MaxFee  int64  // msat; <= 0 means DefaultMaxFee(amount)
}

// KeysendParams are the arguments of PayKeysend.
type KeysendParams struct {
	Destination string // payee node public key, 33-byte compressed hex
	Amount      int64  // msat, > 0
	Preimage    string // hex, optional: generated when empty
	TLVs        []TLV
	MaxFee      int64 // msat; <= 0 means DefaultMaxFee(Amount)
}

// TLV is a custom onion record (keysend). Types are uint64: podcasting
// types exceed 2^32.
type TLV struct {
	Type  uint64
	Value []byte
}

// KeysendPreimageType is the TLV type that carries the keysend preimage.
const KeysendPreimageType = 5482373484

// PayResult is the outcome of a successful payment.
type PayResult struct {
	PaymentHash string
	Preimage    string
	Amount      int64 // msat paid to the payee
	FeePaid     int64 // msat
}

// DefaultMaxFee is the fee limit used when a caller passes none: 1% of the
// amount, at least 10 sat.
func DefaultMaxFee(amount int64) int64 {
	return max(amount/100, 10_000)
}

// PaymentState is the state of an outgoing payment.
type PaymentState string

// Payment states.
const (
	PaymentPending   PaymentState = "pending"
	PaymentSucceeded PaymentState = "succeeded"
	PaymentFailed    PaymentState = "failed"
)

// Payment is an outgoing payment.
type Payment struct {
	PaymentHash   string
	Bolt11        string // empty for keysend
	Destination   string // payee node public key hex
	Amount        int64  // msat paid to the payee
	FeePaid       int64  // msat, when succeeded
	State         PaymentState
	Preimage      string // when succeeded
	FailureReason string // when failed
	CreatedAt     time.Time
	ResolvedAt    time.Time // zero while pending
	IsKeysend     bool
	TLVs          []TLV
}

// EventType says what happened.
type EventType string

// Event types; they map to NIP-47 notifications payment_received,
// hold_invoice_accepted and payment_sent.
const (
	EventInvoiceSettled      EventType = "invoice_settled"
	EventHoldInvoiceAccepted EventType = "hold_invoice_accepted"
	EventPaymentSent         EventType = "payment_sent"
)

// Event is a change pushed by Subscribe. Invoice is set for the invoice
// events, Payment for EventPaymentSent.
type Event struct {
	Type    EventType
	Invoice *Invoice
	Payment *Payment
}

// Capabilities lists the NIP-47 methods and notification types a backend
// can serve (before any per-connection restriction).
type Capabilities struct {
	Methods       []string
	Notifications []string
}

// Has reports whether method is among c.Methods.
func (c Capabilities) Has(method string) bool {
	for _, m := range c.Methods {
		if m == method {
			return true
		}
	}
	return false
}
