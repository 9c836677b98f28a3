// Package nip47 is the NIP-47 (Nostr Wallet Connect) wire protocol: event kinds, methods,
// error codes, the params and result of every method, connection URIs, and Seal/Open,
// which turn requests, responses and notifications into signed, encrypted events and
// back. It does no I/O.
//
// Decoding is deliberately tolerant of what deployed wallets and clients send: a missing
// key and JSON null mean the same, "" means absent for optional strings, unknown error
// codes and capabilities are kept verbatim. Encoding follows the spec to the letter.
package nip47

import (
	"errors"
	"strings"
)

// Event kinds of NIP-47.
const (
	KindInfo              = 13194 // replaceable; plaintext capability list
	KindRequest           = 23194 // client -> wallet service
	KindResponse          = 23195 // wallet service -> client
	KindNotificationNIP04 = 23196 // legacy notification, NIP-04 encrypted
	KindNotification      = 23197 // notification, NIP-44 encrypted
)

// Method is a NIP-47 request method name.
type Method string

// Methods. Unknown names are kept verbatim so a service can answer NOT_IMPLEMENTED.
const (
	// Core methods.
	MethodPayInvoice        Method = "pay_invoice"
	MethodPayKeysend        Method = "pay_keysend"
	MethodMakeInvoice       Method = "make_invoice"
	MethodLookupInvoice     Method = "lookup_invoice"
	MethodListTransactions  Method = "list_transactions"
	MethodGetBalance        Method = "get_balance"
	MethodGetInfo           Method = "get_info"
	MethodMakeHoldInvoice   Method = "make_hold_invoice"
	MethodSettleHoldInvoice Method = "settle_hold_invoice"
	MethodCancelHoldInvoice Method = "cancel_hold_invoice"

	// Removed from the spec in 2026-02 but still deployed (Alby Hub, js-sdk): one
	// response per element, each tagged ["d", id].
	MethodMultiPayInvoice Method = "multi_pay_invoice"
	MethodMultiPayKeysend Method = "multi_pay_keysend"

	// Alby extensions.
	MethodSignMessage      Method = "sign_message"
	MethodGetBudget        Method = "get_budget"
	MethodCreateConnection Method = "create_connection"
)

// Methods lists every method this package knows, core first.
var Methods = []Method{
	MethodPayInvoice, MethodPayKeysend, MethodMakeInvoice, MethodLookupInvoice,
	MethodListTransactions, MethodGetBalance, MethodGetInfo, MethodMakeHoldInvoice,
	MethodSettleHoldInvoice, MethodCancelHoldInvoice, MethodMultiPayInvoice,
	MethodMultiPayKeysend, MethodSignMessage, MethodGetBudget, MethodCreateConnection,
}

// Known reports whether m is one of the Methods.
func (m Method) Known() bool {
	switch m {
	case MethodPayInvoice, MethodPayKeysend, MethodMakeInvoice, MethodLookupInvoice,
		MethodListTransactions, MethodGetBalance, MethodGetInfo, MethodMakeHoldInvoice,
		MethodSettleHoldInvoice, MethodCancelHoldInvoice, MethodMultiPayInvoice,
		MethodMultiPayKeysend, MethodSignMessage, MethodGetBudget, MethodCreateConnection:
		return true
	}
	return false
}

// CapabilityNotifications is the word in an info event's content that says the service
// pushes notifications. It is not a method.
const CapabilityNotifications = "notifications"

// ErrorCode is the code of a NIP-47 error response. It implements error so that the
// codes work with errors.Is: a *Error matches the ErrorCode it carries.
type ErrorCode string

// Error codes (§5). Codes received from a wallet that are not listed here are kept
// verbatim; errors.Is treats them as CodeOther.
const (
	CodeRateLimited           ErrorCode = "RATE_LIMITED"
	CodeNotImplemented        ErrorCode = "NOT_IMPLEMENTED"
	CodeInsufficientBalance   ErrorCode = "INSUFFICIENT_BALANCE"
	CodeQuotaExceeded         ErrorCode = "QUOTA_EXCEEDED"
	CodeRestricted            ErrorCode = "RESTRICTED"
	CodeUnauthorized          ErrorCode = "UNAUTHORIZED"
	CodeInternal              ErrorCode = "INTERNAL"
	CodeUnsupportedEncryption ErrorCode = "UNSUPPORTED_ENCRYPTION"
	CodeOther                 ErrorCode = "OTHER"
	CodePaymentFailed         ErrorCode = "PAYMENT_FAILED" // pay_invoice, pay_keysend, multi_*
	CodeNotFound              ErrorCode = "NOT_FOUND"      // lookup_invoice

	CodeBadRequest ErrorCode = "BAD_REQUEST" // Alby extension: undecodable params, bad invoice, failed decryption
	CodeExpired    ErrorCode = "EXPIRED"     // Alby extension: the connection has expired
)

// The error codes as error values, for errors.Is(err, nip47.ErrQuotaExceeded).
var (
	ErrRateLimited           error = CodeRateLimited
	ErrNotImplemented        error = CodeNotImplemented
	ErrInsufficientBalance   error = CodeInsufficientBalance
	ErrQuotaExceeded         error = CodeQuotaExceeded
	ErrRestricted            error = CodeRestricted
	ErrUnauthorized          error = CodeUnauthorized
	ErrInternal              error = CodeInternal
	ErrUnsupportedEncryption error = CodeUnsupportedEncryption // also returned by Open for an unknown scheme
	ErrOther                 error = CodeOther
	ErrPaymentFailed         error = CodePaymentFailed
	ErrNotFound              error = CodeNotFound
	ErrBadRequest            error = CodeBadRequest
	ErrExpired               error = CodeExpired
)

// Error returns the code itself.
func (c ErrorCode) Error() string { return string(c) }

// Known reports whether c is one of the codes listed in this package.
func (c ErrorCode) Known() bool {
	switch c {
	case CodeRateLimited, CodeNotImplemented, CodeInsufficientBalance, CodeQuotaExceeded,
		CodeRestricted, CodeUnauthorized, CodeInternal, CodeUnsupportedEncryption, CodeOther,
		CodePaymentFailed, CodeNotFound, CodeBadRequest, CodeExpired:
		return true
	}
	return false
}

// Notification types (§6).
const (
	NotificationPaymentReceived     = "payment_received"
	NotificationPaymentSent         = "payment_sent"
	NotificationHoldInvoiceAccepted = "hold_invoice_accepted"
)

// Encryption is an encryption scheme name as used in the "encryption" tags.
type Encryption string

// Encryption schemes (§3).
const (
	EncryptionNIP44 Encryption = "nip44_v2" // preferred
	EncryptionNIP04 Encryption = "nip04"    // deprecated; the default when no tag is present
)

// Supported reports whether Seal and Open can handle e.
func (e Encryption) Supported() bool { return e == EncryptionNIP44 || e == EncryptionNIP04 }

// BudgetRenewal is the period after which a connection's budget resets.
type BudgetRenewal string

// Budget renewal periods (NWA draft, Alby get_budget).
const (
	BudgetRenewalNever   BudgetRenewal = "never" // the default
	BudgetRenewalDaily   BudgetRenewal = "daily"
	BudgetRenewalWeekly  BudgetRenewal = "weekly"
	BudgetRenewalMonthly BudgetRenewal = "monthly"
	BudgetRenewalYearly  BudgetRenewal = "yearly"
)

// Valid reports whether r is one of the renewal periods.
func (r BudgetRenewal) Valid() bool {
	switch r {
	case BudgetRenewalNever, BudgetRenewalDaily, BudgetRenewalWeekly, BudgetRenewalMonthly, BudgetRenewalYearly:
		return true
	}
	return false
}

// TransactionType is the direction of a Transaction.
type TransactionType string

// Transaction types.
const (
	TransactionIncoming TransactionType = "incoming"
	TransactionOutgoing TransactionType = "outgoing"
)

// TransactionState is the optional state of a Transaction (old services omit it).
type TransactionState string

// Transaction states.
const (
	StatePending  TransactionState = "pending"
	StateSettled  TransactionState = "settled"
	StateAccepted TransactionState = "accepted" // hold invoice locked in, not yet settled
	StateExpired  TransactionState = "expired"  // invoices
	StateFailed   TransactionState = "failed"   // payments
)

// MaxMetadataSize is the largest serialised metadata object a service keeps (§4.13);
// DecodeParams drops larger ones, as the spec requires.
const MaxMetadataSize = 4096

// Package errors. Error responses from a wallet are *Error values; see ErrorCode.
var (
	ErrUnknownMethod       = errors.New("nip47: unknown method")
	ErrInvalidParams       = errors.New("nip47: invalid params")
	ErrInvalidRequest      = errors.New("nip47: invalid request")
	ErrInvalidResponse     = errors.New("nip47: invalid response")
	ErrInvalidNotification = errors.New("nip47: invalid notification")
	ErrInvalidURI          = errors.New("nip47: invalid connection URI")
	ErrDecrypt             = errors.New("nip47: cannot decrypt content")
	ErrUnexpectedKind      = errors.New("nip47: unexpected event kind")
	ErrWrongRecipient      = errors.New("nip47: event is addressed to another key")
)

// ParseCapabilities splits a capability or type list on spaces and commas (very old
// Alby versions used commas), dropping empty items. It returns nil for an empty list.
func ParseCapabilities(s string) []string {
	return splitList(s, " ,\t\r\n")
}

func splitList(s, seps string) []string {
	var out []string
	for {
		s = strings.TrimLeft(s, seps)
		if s == "" {
			return out
		}
		i := strings.IndexAny(s, seps)
		if i < 0 {
			return append(out, s)
		}
		out = append(out, s[:i])
		s = s[i:]
	}
}
