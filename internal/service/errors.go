package service

import (
	"errors"

	"github.com/nwc-go/nwc/internal/lightning"
	"github.com/nwc-go/nwc/internal/wallet"
	"github.com/nwc-go/nwc/nip47"
)

// publicError carries a message that is safe to show to the app (it was written by this
// service about the app's own input, never by a backend or database).
type publicError struct {
	err error
	msg string
}

func (e *publicError) Error() string { return e.msg }
func (e *publicError) Unwrap() error { return e.err }

// badRequest builds a BAD_REQUEST error with a message for the app.
func badRequest(msg string) error { return &publicError{err: nip47.ErrBadRequest, msg: msg} }

// errorResponse is THE mapping from internal errors to NIP-47 error codes (NIP47.md §5).
// Messages are fixed per code unless the error is a publicError or a params validation
// error of nip47 (which describes only the app's own input): internal text never leaves.
func errorResponse(err error) (nip47.ErrorCode, string) {
	var pub *publicError
	safe := ""
	if errors.As(err, &pub) {
		safe = pub.msg
	}
	pick := func(code nip47.ErrorCode, msg string) (nip47.ErrorCode, string) {
		if safe != "" {
			return code, safe
		}
		return code, msg
	}
	switch {
	case errors.Is(err, nip47.ErrUnsupportedEncryption):
		return pick(nip47.CodeUnsupportedEncryption, "unsupported encryption")
	case errors.Is(err, wallet.ErrRateLimited):
		return pick(nip47.CodeRateLimited, "too many requests, retry in a few seconds")
	case errors.Is(err, wallet.ErrExpired):
		return pick(nip47.CodeExpired, "this connection has expired")
	case errors.Is(err, wallet.ErrRevoked):
		return pick(nip47.CodeUnauthorized, "no wallet is connected to this key")
	case errors.Is(err, wallet.ErrRestricted):
		return pick(nip47.CodeRestricted, "this connection may not use this method")
	case errors.Is(err, wallet.ErrUnknownMethod), errors.Is(err, nip47.ErrUnknownMethod),
		errors.Is(err, lightning.ErrNotSupported):
		return pick(nip47.CodeNotImplemented, "method not implemented")
	case errors.Is(err, wallet.ErrQuotaExceeded):
		return pick(nip47.CodeQuotaExceeded, "the spending budget of this connection is exhausted")
	case errors.Is(err, wallet.ErrInsufficientBalance), errors.Is(err, lightning.ErrInsufficientBalance):
		return pick(nip47.CodeInsufficientBalance, "not enough funds for the amount and the fee reserve")
	case errors.Is(err, wallet.ErrNotFound), errors.Is(err, lightning.ErrNotFound):
		return pick(nip47.CodeNotFound, "not found")
	case errors.Is(err, nip47.ErrInvalidParams):
		return nip47.CodeBadRequest, paramsMessage(err)
	case errors.Is(err, nip47.ErrBadRequest), errors.Is(err, lightning.ErrInvalidInvoice),
		errors.Is(err, lightning.ErrInvalidParams):
		return pick(nip47.CodeBadRequest, "invalid request parameters")
	case errors.Is(err, wallet.ErrAlreadyPaid), errors.Is(err, lightning.ErrAlreadyPaid):
		return pick(nip47.CodeOther, "this invoice has already been paid")
	case errors.Is(err, wallet.ErrPaymentPending), errors.Is(err, lightning.ErrPaymentInFlight):
		return pick(nip47.CodeOther, "a payment for this invoice is already in flight; use lookup_invoice")
	case errors.Is(err, lightning.ErrInvoiceExpired):
		return pick(nip47.CodePaymentFailed, "the invoice has expired")
	case errors.Is(err, lightning.ErrPaymentFailed):
		return pick(nip47.CodePaymentFailed, "the payment failed")
	case errors.Is(err, lightning.ErrPaymentPending):
		return pick(nip47.CodeInternal, "the payment is still in flight; use lookup_invoice to learn its outcome")
	case errors.Is(err, lightning.ErrInvoiceState), errors.Is(err, wallet.ErrInvalidState),
		errors.Is(err, wallet.ErrAlreadySettled):
		return pick(nip47.CodeOther, "the invoice is not in a state that allows this")
	case errors.Is(err, lightning.ErrUnavailable):
		return pick(nip47.CodeInternal, "the wallet's node is unavailable")
	}
	return pick(nip47.CodeInternal, "internal error")
}

// paramsMessage keeps nip47's validation text, which only describes the app's own params.
func paramsMessage(err error) string {
	msg := err.Error()
	const prefix = "nip47: "
	if len(msg) > len(prefix) && msg[:len(prefix)] == prefix {
		msg = msg[len(prefix):]
	}
	if len(msg) > 200 {
		msg = msg[:200]
	}
	return msg
}
