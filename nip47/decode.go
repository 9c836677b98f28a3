package nip47

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// DecodeParams decodes and validates the params of a request for method, returning a
// pointer to the method's params struct (*PayInvoiceParams for pay_invoice,
// *GetBalanceParams for get_balance, …). raw may be nil or null. Errors wrap
// ErrUnknownMethod or ErrInvalidParams; a service answers them with NOT_IMPLEMENTED and
// BAD_REQUEST (or OTHER).
//
// Besides checking required fields, DecodeParams normalises: hex fields (hashes,
// preimages, node ids, TLV values) are lowercased, and metadata that is not a JSON
// object or is larger than MaxMetadataSize is dropped, as §4.13 requires. For
// multi_pay_invoice and multi_pay_keysend only the list itself is checked: a service
// answers every element on its own, so it calls each element's Validate.
func DecodeParams(method Method, raw json.RawMessage) (any, error) {
	switch method {
	case MethodPayInvoice:
		return decodeParams[PayInvoiceParams](method, raw)
	case MethodMultiPayInvoice:
		return decodeParams[MultiPayInvoiceParams](method, raw)
	case MethodPayKeysend:
		return decodeParams[PayKeysendParams](method, raw)
	case MethodMultiPayKeysend:
		return decodeParams[MultiPayKeysendParams](method, raw)
	case MethodMakeInvoice:
		return decodeParams[MakeInvoiceParams](method, raw)
	case MethodLookupInvoice:
		return decodeParams[LookupInvoiceParams](method, raw)
	case MethodListTransactions:
		return decodeParams[ListTransactionsParams](method, raw)
	case MethodGetBalance:
		return decodeParams[GetBalanceParams](method, raw)
	case MethodGetInfo:
		return decodeParams[GetInfoParams](method, raw)
	case MethodGetBudget:
		return decodeParams[GetBudgetParams](method, raw)
	case MethodMakeHoldInvoice:
		return decodeParams[MakeHoldInvoiceParams](method, raw)
	case MethodSettleHoldInvoice:
		return decodeParams[SettleHoldInvoiceParams](method, raw)
	case MethodCancelHoldInvoice:
		return decodeParams[CancelHoldInvoiceParams](method, raw)
	case MethodSignMessage:
		return decodeParams[SignMessageParams](method, raw)
	case MethodCreateConnection:
		return decodeParams[CreateConnectionParams](method, raw)
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownMethod, string(method))
}

// Params is implemented by every params struct. Validate checks the required fields and
// normalises in place (see DecodeParams); errors wrap ErrInvalidParams.
type Params interface {
	Validate() error
}

// DecodeResult decodes the result of a successful response to method into a pointer to
// the method's result struct (*PayInvoiceResult, *Transaction, …). It is tolerant and
// does not check required fields. Errors wrap ErrUnknownMethod or ErrInvalidResponse.
func DecodeResult(method Method, raw json.RawMessage) (any, error) {
	switch method {
	case MethodPayInvoice, MethodPayKeysend, MethodMultiPayInvoice, MethodMultiPayKeysend:
		return decodeResult[PayInvoiceResult](method, raw)
	case MethodMakeInvoice, MethodLookupInvoice, MethodMakeHoldInvoice:
		return decodeResult[Transaction](method, raw)
	case MethodListTransactions:
		return decodeResult[ListTransactionsResult](method, raw)
	case MethodGetBalance:
		return decodeResult[GetBalanceResult](method, raw)
	case MethodGetInfo:
		return decodeResult[GetInfoResult](method, raw)
	case MethodSettleHoldInvoice:
		return decodeResult[SettleHoldInvoiceResult](method, raw)
	case MethodCancelHoldInvoice:
		return decodeResult[CancelHoldInvoiceResult](method, raw)
	case MethodSignMessage:
		return decodeResult[SignMessageResult](method, raw)
	case MethodGetBudget:
		return decodeResult[GetBudgetResult](method, raw)
	case MethodCreateConnection:
		return decodeResult[CreateConnectionResult](method, raw)
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownMethod, string(method))
}

func decodeParams[T any, PT interface {
	*T
	Params
}](method Method, raw json.RawMessage) (any, error) {
	v := PT(new(T))
	if !isNull(raw) {
		if err := json.Unmarshal(raw, v); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrInvalidParams, method, err)
		}
	}
	if err := v.Validate(); err != nil {
		return nil, err
	}
	return v, nil
}

func decodeResult[T any](method Method, raw json.RawMessage) (*T, error) {
	v := new(T)
	if !isNull(raw) {
		if err := json.Unmarshal(raw, v); err != nil {
			return nil, fmt.Errorf("%w: %s result: %v", ErrInvalidResponse, method, err)
		}
	}
	return v, nil
}

func invalid(method Method, msg string) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalidParams, method, msg)
}

// Validate requires an invoice and a non-negative amount.
func (p *PayInvoiceParams) Validate() error {
	return checkPayInvoice(MethodPayInvoice, &p.Invoice, p.Amount, &p.Metadata)
}

// Validate requires at least one element. It does not validate the elements: a service
// answers each element separately (with its d tag), so it calls their Validate itself.
func (p *MultiPayInvoiceParams) Validate() error {
	if len(p.Invoices) == 0 {
		return invalid(MethodMultiPayInvoice, "invoices missing")
	}
	return nil
}

// Validate checks one multi_pay_invoice element like pay_invoice params.
func (p *MultiPayInvoiceItem) Validate() error {
	return checkPayInvoice(MethodMultiPayInvoice, &p.Invoice, p.Amount, &p.Metadata)
}

func checkPayInvoice(method Method, invoice *string, amount int64, meta *json.RawMessage) error {
	*invoice = strings.TrimSpace(*invoice)
	if *invoice == "" {
		return invalid(method, "invoice required")
	}
	if amount < 0 {
		return invalid(method, "amount must not be negative")
	}
	sanitizeMetadata(meta)
	return nil
}

// Validate requires a positive amount and a compressed node id; preimage and TLV values
// must be hex.
func (p *PayKeysendParams) Validate() error {
	return checkKeysend(MethodPayKeysend, p.Amount, &p.Pubkey, &p.Preimage, p.TLVRecords)
}

// Validate requires at least one element; see MultiPayInvoiceParams.Validate.
func (p *MultiPayKeysendParams) Validate() error {
	if len(p.Keysends) == 0 {
		return invalid(MethodMultiPayKeysend, "keysends missing")
	}
	return nil
}

// Validate checks one multi_pay_keysend element like pay_keysend params.
func (p *MultiPayKeysendItem) Validate() error {
	return checkKeysend(MethodMultiPayKeysend, p.Amount, &p.Pubkey, &p.Preimage, p.TLVRecords)
}

func checkKeysend(method Method, amount int64, pubkey, preimage *string, tlvs []TLVRecord) error {
	if amount <= 0 {
		return invalid(method, "amount must be positive")
	}
	if !normHex(pubkey, 33) || (*pubkey)[:2] != "02" && (*pubkey)[:2] != "03" {
		return invalid(method, "pubkey must be a 33-byte compressed node id in hex")
	}
	if *preimage != "" && !normHex(preimage, 32) {
		return invalid(method, "preimage must be 64 hex characters")
	}
	for i := range tlvs {
		if !normHex(&tlvs[i].Value, -1) {
			return invalid(method, fmt.Sprintf("tlv_records[%d].value must be hex", i))
		}
	}
	return nil
}

// Validate requires a positive amount.
func (p *MakeInvoiceParams) Validate() error {
	const method = MethodMakeInvoice
	if p.Amount <= 0 {
		return invalid(method, "amount must be positive")
	}
	if p.Expiry < 0 {
		return invalid(method, "expiry must not be negative")
	}
	if p.DescriptionHash != "" && !normHex(&p.DescriptionHash, 32) {
		return invalid(method, "description_hash must be 64 hex characters")
	}
	sanitizeMetadata(&p.Metadata)
	return nil
}

// Validate requires a payment hash or an invoice.
func (p *LookupInvoiceParams) Validate() error {
	const method = MethodLookupInvoice
	p.Invoice = strings.TrimSpace(p.Invoice)
	if p.PaymentHash == "" && p.Invoice == "" {
		return invalid(method, "payment_hash or invoice required")
	}
	if p.PaymentHash != "" && !normHex(&p.PaymentHash, 32) {
		return invalid(method, "payment_hash must be 64 hex characters")
	}
	return nil
}

// Validate rejects negative numbers and unknown types.
func (p *ListTransactionsParams) Validate() error {
	const method = MethodListTransactions
	if p.From < 0 || p.Until < 0 || p.Limit < 0 || p.Offset < 0 {
		return invalid(method, "from, until, limit and offset must not be negative")
	}
	if p.Type != "" && p.Type != TransactionIncoming && p.Type != TransactionOutgoing {
		return invalid(method, "type must be incoming or outgoing")
	}
	return nil
}

// Validate accepts everything.
func (*GetBalanceParams) Validate() error { return nil }

// Validate accepts everything.
func (*GetInfoParams) Validate() error { return nil }

// Validate accepts everything.
func (*GetBudgetParams) Validate() error { return nil }

// Validate requires a positive amount and a payment hash.
func (p *MakeHoldInvoiceParams) Validate() error {
	const method = MethodMakeHoldInvoice
	if p.Amount <= 0 {
		return invalid(method, "amount must be positive")
	}
	if !normHex(&p.PaymentHash, 32) {
		return invalid(method, "payment_hash must be 64 hex characters")
	}
	if p.Expiry < 0 || p.MinCLTVExpiryDelta < 0 {
		return invalid(method, "expiry and min_cltv_expiry_delta must not be negative")
	}
	if p.DescriptionHash != "" && !normHex(&p.DescriptionHash, 32) {
		return invalid(method, "description_hash must be 64 hex characters")
	}
	sanitizeMetadata(&p.Metadata)
	return nil
}

// Validate requires a 32-byte hex preimage.
func (p *SettleHoldInvoiceParams) Validate() error {
	if !normHex(&p.Preimage, 32) {
		return invalid(MethodSettleHoldInvoice, "preimage must be 64 hex characters")
	}
	return nil
}

// Validate requires a 32-byte hex payment hash.
func (p *CancelHoldInvoiceParams) Validate() error {
	if !normHex(&p.PaymentHash, 32) {
		return invalid(MethodCancelHoldInvoice, "payment_hash must be 64 hex characters")
	}
	return nil
}

// Validate requires a message.
func (p *SignMessageParams) Validate() error {
	if p.Message == "" {
		return invalid(MethodSignMessage, "message required")
	}
	return nil
}

// Validate requires a pubkey and at least one method. Policy (which methods may be
// granted, reserved names) is the service's business.
func (p *CreateConnectionParams) Validate() error {
	const method = MethodCreateConnection
	if p.Pubkey.IsZero() {
		return invalid(method, "pubkey required")
	}
	if len(p.RequestMethods) == 0 {
		return invalid(method, "request_methods required")
	}
	if p.BudgetRenewal != "" && !p.BudgetRenewal.Valid() {
		return invalid(method, "budget_renewal must be never, daily, weekly, monthly or yearly")
	}
	if p.MaxAmount < 0 || p.ExpiresAt < 0 {
		return invalid(method, "max_amount and expires_at must not be negative")
	}
	sanitizeMetadata(&p.Metadata)
	return nil
}

// sanitizeMetadata drops metadata that is not an object or is too large (§4.13: the
// request proceeds without it).
func sanitizeMetadata(m *json.RawMessage) {
	t := bytes.TrimSpace(*m)
	if len(t) == 0 || len(t) > MaxMetadataSize || t[0] != '{' {
		*m = nil
	}
}

// normHex lowercases *s in place and reports whether it is hex of n bytes (n < 0: any
// whole number of bytes, including none).
func normHex(s *string, n int) bool {
	v := *s
	if n >= 0 && len(v) != 2*n || len(v)%2 != 0 {
		return false
	}
	upper := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f':
		case c >= 'A' && c <= 'F':
			upper = true
		default:
			return false
		}
	}
	if upper {
		*s = strings.ToLower(v)
	}
	return true
}
