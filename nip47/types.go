package nip47

import (
	"encoding/json"

	"github.com/nwc-go/nwc/nostr"
)

// All amounts are millisatoshis and all times unix seconds, as on the wire. Optional
// strings are "" when absent (a received "" or null also means absent); optional
// timestamps are nil pointers. Metadata fields hold a raw JSON object; a received null
// becomes nil.

// Transaction is the transaction object of §4.1, used by make_invoice, lookup_invoice,
// list_transactions, make_hold_invoice and notifications.
type Transaction struct {
	Type            TransactionType  `json:"type"`
	State           TransactionState `json:"state,omitempty"` // optional; old services omit it
	Invoice         string           `json:"invoice,omitempty"`
	Description     string           `json:"description,omitempty"`
	DescriptionHash string           `json:"description_hash,omitempty"`
	Preimage        string           `json:"preimage,omitempty"`
	PaymentHash     string           `json:"payment_hash"`
	Amount          int64            `json:"amount"`    // msats
	FeesPaid        int64            `json:"fees_paid"` // msats
	CreatedAt       int64            `json:"created_at"`
	ExpiresAt       *int64           `json:"expires_at,omitempty"`
	SettledAt       *int64           `json:"settled_at,omitempty"`
	// SettleDeadline is a block height; set in hold_invoice_accepted notifications.
	SettleDeadline *int64          `json:"settle_deadline,omitempty"`
	Metadata       json.RawMessage `json:"metadata,omitempty"`
}

// UnmarshalJSON implements json.Unmarshaler (null metadata becomes nil).
func (t *Transaction) UnmarshalJSON(b []byte) error {
	type plain Transaction
	if err := json.Unmarshal(b, (*plain)(t)); err != nil {
		return err
	}
	t.Metadata = nullToNil(t.Metadata)
	return nil
}

// PayInvoiceParams are the params of pay_invoice.
type PayInvoiceParams struct {
	Invoice  string          `json:"invoice"`
	Amount   int64           `json:"amount,omitempty"` // msats; for invoices without an amount
	Metadata json.RawMessage `json:"metadata,omitempty"`
}

// UnmarshalJSON implements json.Unmarshaler (null metadata becomes nil).
func (p *PayInvoiceParams) UnmarshalJSON(b []byte) error {
	type plain PayInvoiceParams
	if err := json.Unmarshal(b, (*plain)(p)); err != nil {
		return err
	}
	p.Metadata = nullToNil(p.Metadata)
	return nil
}

// PayInvoiceResult is the result of pay_invoice, pay_keysend and of every element of
// multi_pay_invoice and multi_pay_keysend.
type PayInvoiceResult struct {
	Preimage string `json:"preimage"`
	FeesPaid int64  `json:"fees_paid"` // msats; optional on input
}

// PayKeysendResult is the result of pay_keysend.
type PayKeysendResult = PayInvoiceResult

// MultiPayInvoiceParams are the params of multi_pay_invoice (removed from the spec,
// still deployed).
type MultiPayInvoiceParams struct {
	Invoices []MultiPayInvoiceItem `json:"invoices"`
}

// MultiPayInvoiceItem is one element of multi_pay_invoice. Its response carries
// ["d", ID], or ["d", <payment hash>] when ID is "".
type MultiPayInvoiceItem struct {
	ID       string          `json:"id,omitempty"`
	Invoice  string          `json:"invoice"`
	Amount   int64           `json:"amount,omitempty"` // msats
	Metadata json.RawMessage `json:"metadata,omitempty"`
}

// UnmarshalJSON implements json.Unmarshaler (null metadata becomes nil).
func (p *MultiPayInvoiceItem) UnmarshalJSON(b []byte) error {
	type plain MultiPayInvoiceItem
	if err := json.Unmarshal(b, (*plain)(p)); err != nil {
		return err
	}
	p.Metadata = nullToNil(p.Metadata)
	return nil
}

// TLVRecord is a custom keysend TLV record. Type is a u64 (podcasting types exceed 2^32).
type TLVRecord struct {
	Type  uint64 `json:"type"`
	Value string `json:"value"` // hex
}

// PayKeysendParams are the params of pay_keysend.
type PayKeysendParams struct {
	Amount     int64       `json:"amount"`             // msats
	Pubkey     string      `json:"pubkey"`             // payee node id, 33-byte compressed hex
	Preimage   string      `json:"preimage,omitempty"` // hex; the service picks one if absent
	TLVRecords []TLVRecord `json:"tlv_records,omitempty"`
}

// MultiPayKeysendParams are the params of multi_pay_keysend (removed, still deployed).
type MultiPayKeysendParams struct {
	Keysends []MultiPayKeysendItem `json:"keysends"`
}

// MultiPayKeysendItem is one element of multi_pay_keysend. Its response carries
// ["d", ID], or ["d", Pubkey] when ID is "".
type MultiPayKeysendItem struct {
	ID         string      `json:"id,omitempty"`
	Amount     int64       `json:"amount"` // msats
	Pubkey     string      `json:"pubkey"`
	Preimage   string      `json:"preimage,omitempty"`
	TLVRecords []TLVRecord `json:"tlv_records,omitempty"`
}

// MakeInvoiceParams are the params of make_invoice.
type MakeInvoiceParams struct {
	Amount          int64           `json:"amount"` // msats, required
	Description     string          `json:"description,omitempty"`
	DescriptionHash string          `json:"description_hash,omitempty"` // hex
	Expiry          int64           `json:"expiry,omitempty"`           // seconds from creation
	Metadata        json.RawMessage `json:"metadata,omitempty"`
}

// UnmarshalJSON implements json.Unmarshaler (null metadata becomes nil).
func (p *MakeInvoiceParams) UnmarshalJSON(b []byte) error {
	type plain MakeInvoiceParams
	if err := json.Unmarshal(b, (*plain)(p)); err != nil {
		return err
	}
	p.Metadata = nullToNil(p.Metadata)
	return nil
}

// MakeInvoiceResult is the result of make_invoice.
type MakeInvoiceResult = Transaction

// LookupInvoiceParams are the params of lookup_invoice: one of the two is required
// (Alby: PaymentHash wins when both are given).
type LookupInvoiceParams struct {
	PaymentHash string `json:"payment_hash,omitempty"`
	Invoice     string `json:"invoice,omitempty"`
}

// LookupInvoiceResult is the result of lookup_invoice.
type LookupInvoiceResult = Transaction

// ListTransactionsParams are the params of list_transactions; all optional.
type ListTransactionsParams struct {
	From   int64           `json:"from,omitempty"`  // inclusive, unix s
	Until  int64           `json:"until,omitempty"` // inclusive, unix s; 0 = now
	Limit  int64           `json:"limit,omitempty"`
	Offset int64           `json:"offset,omitempty"`
	Unpaid bool            `json:"unpaid,omitempty"` // include unpaid invoices/payments
	Type   TransactionType `json:"type,omitempty"`   // "" = both
	// Alby extensions.
	UnpaidOutgoing bool `json:"unpaid_outgoing,omitempty"`
	UnpaidIncoming bool `json:"unpaid_incoming,omitempty"`
}

// ListTransactionsResult is the result of list_transactions, newest first.
type ListTransactionsResult struct {
	Transactions []Transaction `json:"transactions"`
	TotalCount   int64         `json:"total_count,omitempty"` // Alby extension
}

// MarshalJSON writes an empty list as [] (JS clients iterate it without a null check).
func (r ListTransactionsResult) MarshalJSON() ([]byte, error) {
	type plain ListTransactionsResult
	if r.Transactions == nil {
		r.Transactions = []Transaction{}
	}
	return json.Marshal(plain(r))
}

// GetBalanceResult is the result of get_balance.
type GetBalanceResult struct {
	Balance int64 `json:"balance"` // msats
}

// GetInfoResult is the result of get_info. The node fields are empty when the
// connection may not see them (Alby sends null, which decodes the same).
type GetInfoResult struct {
	Alias       string `json:"alias,omitempty"`
	Color       string `json:"color,omitempty"`
	Pubkey      string `json:"pubkey,omitempty"`
	Network     string `json:"network,omitempty"` // mainnet | testnet | signet | regtest
	BlockHeight int64  `json:"block_height,omitempty"`
	BlockHash   string `json:"block_hash,omitempty"`
	// Methods are the methods this connection may call.
	Methods []Method `json:"methods"`
	// Notifications are the notification types this connection receives.
	Notifications []string `json:"notifications"`
	LUD16         string   `json:"lud16,omitempty"` // NWA draft
	// Metadata is the connection's metadata (Alby extension).
	Metadata json.RawMessage `json:"metadata,omitempty"`
}

// MarshalJSON writes empty lists as [].
func (r GetInfoResult) MarshalJSON() ([]byte, error) {
	type plain GetInfoResult
	if r.Methods == nil {
		r.Methods = []Method{}
	}
	if r.Notifications == nil {
		r.Notifications = []string{}
	}
	return json.Marshal(plain(r))
}

// UnmarshalJSON implements json.Unmarshaler (null metadata becomes nil).
func (r *GetInfoResult) UnmarshalJSON(b []byte) error {
	type plain GetInfoResult
	if err := json.Unmarshal(b, (*plain)(r)); err != nil {
		return err
	}
	r.Metadata = nullToNil(r.Metadata)
	return nil
}

// MakeHoldInvoiceParams are the params of make_hold_invoice.
type MakeHoldInvoiceParams struct {
	Amount             int64           `json:"amount"`       // msats, required
	PaymentHash        string          `json:"payment_hash"` // hex, required: the client holds the preimage
	Description        string          `json:"description,omitempty"`
	DescriptionHash    string          `json:"description_hash,omitempty"`
	Expiry             int64           `json:"expiry,omitempty"` // seconds the payer has to start paying
	MinCLTVExpiryDelta int64           `json:"min_cltv_expiry_delta,omitempty"`
	Metadata           json.RawMessage `json:"metadata,omitempty"` // Alby extension
}

// UnmarshalJSON implements json.Unmarshaler (null metadata becomes nil).
func (p *MakeHoldInvoiceParams) UnmarshalJSON(b []byte) error {
	type plain MakeHoldInvoiceParams
	if err := json.Unmarshal(b, (*plain)(p)); err != nil {
		return err
	}
	p.Metadata = nullToNil(p.Metadata)
	return nil
}

// MakeHoldInvoiceResult is the result of make_hold_invoice.
type MakeHoldInvoiceResult = Transaction

// SettleHoldInvoiceParams are the params of settle_hold_invoice.
type SettleHoldInvoiceParams struct {
	Preimage string `json:"preimage"` // hex
}

// SettleHoldInvoiceResult is the (empty) result of settle_hold_invoice.
type SettleHoldInvoiceResult struct{}

// CancelHoldInvoiceParams are the params of cancel_hold_invoice.
type CancelHoldInvoiceParams struct {
	PaymentHash string `json:"payment_hash"` // hex
}

// CancelHoldInvoiceResult is the (empty) result of cancel_hold_invoice.
type CancelHoldInvoiceResult struct{}

// GetBalanceParams, GetInfoParams and GetBudgetParams are empty.
type (
	GetBalanceParams struct{}
	GetInfoParams    struct{}
	GetBudgetParams  struct{}
)

// SignMessageParams are the params of sign_message (Alby extension).
type SignMessageParams struct {
	Message string `json:"message"`
}

// SignMessageResult is the result of sign_message: the node's signmessage output.
type SignMessageResult struct {
	Message   string `json:"message"`
	Signature string `json:"signature"`
}

// GetBudgetResult is the result of get_budget (Alby extension). The zero value means
// "no budget" and is written as {}.
type GetBudgetResult struct {
	UsedBudget    int64         `json:"used_budget"`         // msats
	TotalBudget   int64         `json:"total_budget"`        // msats
	RenewsAt      *int64        `json:"renews_at,omitempty"` // nil for "never"
	RenewalPeriod BudgetRenewal `json:"renewal_period"`
}

// HasBudget reports whether r describes a budget (false for the {} answer).
func (r *GetBudgetResult) HasBudget() bool { return *r != GetBudgetResult{} }

// MarshalJSON writes {} for the zero value.
func (r GetBudgetResult) MarshalJSON() ([]byte, error) {
	if !r.HasBudget() {
		return []byte("{}"), nil
	}
	type plain GetBudgetResult
	return json.Marshal(plain(r))
}

// CreateConnectionParams are the params of create_connection (Alby extension, needs the
// superuser scope).
type CreateConnectionParams struct {
	Pubkey            nostr.PublicKey `json:"pubkey"` // the new connection's client key
	Name              string          `json:"name"`
	RequestMethods    []Method        `json:"request_methods"`
	NotificationTypes []string        `json:"notification_types,omitempty"`
	MaxAmount         int64           `json:"max_amount,omitempty"` // msats per renewal period
	BudgetRenewal     BudgetRenewal   `json:"budget_renewal,omitempty"`
	ExpiresAt         int64           `json:"expires_at,omitempty"` // unix s; 0 = never
	Isolated          bool            `json:"isolated,omitempty"`
	Metadata          json.RawMessage `json:"metadata,omitempty"`
}

// UnmarshalJSON implements json.Unmarshaler (null metadata becomes nil; a missing,
// null or "" pubkey stays zero so DecodeParams can report it as missing).
func (p *CreateConnectionParams) UnmarshalJSON(b []byte) error {
	type fields CreateConnectionParams // drops the methods, so no recursion
	var w struct {
		fields
		Pubkey *string `json:"pubkey"` // shadows fields.Pubkey
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	out := CreateConnectionParams(w.fields)
	if w.Pubkey != nil && *w.Pubkey != "" {
		pk, err := nostr.ParsePublicKey(*w.Pubkey)
		if err != nil {
			return err
		}
		out.Pubkey = pk
	}
	out.Metadata = nullToNil(out.Metadata)
	*p = out
	return nil
}

// CreateConnectionResult is the result of create_connection.
type CreateConnectionResult struct {
	WalletPubkey nostr.PublicKey `json:"wallet_pubkey"`
}
