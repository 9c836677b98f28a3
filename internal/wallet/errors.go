package wallet

import "errors"

// Sentinel errors shared by the domain, the stores and the service. The
// service maps them to NIP-47 error codes in one place; wrap them with %w.
var (
	// ErrRestricted: the connection lacks the scope for the method (RESTRICTED).
	ErrRestricted = errors.New("wallet: restricted")
	// ErrExpired: the connection has passed its expiry (EXPIRED).
	ErrExpired = errors.New("wallet: connection expired")
	// ErrRevoked: the connection was revoked; the service sends no answer.
	ErrRevoked = errors.New("wallet: connection revoked")
	// ErrUnknownMethod: the method is not known (NOT_IMPLEMENTED).
	ErrUnknownMethod = errors.New("wallet: unknown method")
	// ErrQuotaExceeded: amount + fee reserve exceed the remaining budget (QUOTA_EXCEEDED).
	ErrQuotaExceeded = errors.New("wallet: budget exceeded")
	// ErrInsufficientBalance: an isolated connection's own balance is too low (INSUFFICIENT_BALANCE).
	ErrInsufficientBalance = errors.New("wallet: insufficient balance")
	// ErrRateLimited: the connection sends requests too fast (RATE_LIMITED).
	ErrRateLimited = errors.New("wallet: rate limited")
	// ErrNotFound: no such connection, transaction, request or setting (NOT_FOUND).
	ErrNotFound = errors.New("wallet: not found")
	// ErrExists: a unique row already exists (same client key, same invoice payment hash).
	ErrExists = errors.New("wallet: already exists")
	// ErrAlreadyPaid: an outgoing payment for this payment hash has settled.
	ErrAlreadyPaid = errors.New("wallet: invoice already paid")
	// ErrPaymentPending: an outgoing payment for this payment hash is in flight.
	ErrPaymentPending = errors.New("wallet: payment already pending")
	// ErrAlreadySettled: the transaction was settled before; nothing changed
	// (returned together with the stored row, so nothing is credited or notified twice).
	ErrAlreadySettled = errors.New("wallet: already settled")
	// ErrInvalidState: the state transition is not allowed from the row's
	// current state (returned together with the stored row).
	ErrInvalidState = errors.New("wallet: invalid state transition")
	// ErrDuplicateRequest: the request event id was seen before; do not execute it again.
	ErrDuplicateRequest = errors.New("wallet: duplicate request")
	// ErrInvalidAmount: an amount string or value is malformed or out of range.
	ErrInvalidAmount = errors.New("wallet: invalid amount")
	// ErrInvalidBudget: a budget or renewal string is malformed.
	ErrInvalidBudget = errors.New("wallet: invalid budget")
	// ErrInvalidScope: an unknown scope or method name was given.
	ErrInvalidScope = errors.New("wallet: invalid scope")
)
