package lnd

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// LND's REST gateway speaks protobuf JSON (protojson with proto field names): 64-bit
// integers travel as decimal strings, bytes as base64, enums as their names. The
// types below decode exactly the fields this backend reads.

// i64 is a protojson int64: a quoted or bare decimal number.
type i64 int64

func (v *i64) UnmarshalJSON(b []byte) error {
	s := string(bytes.Trim(b, `"`))
	if s == "" || s == "null" {
		*v = 0
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("int64 %q: %w", s, err)
	}
	*v = i64(n)
	return nil
}

// u64 is a protojson uint64.
type u64 uint64

func (v *u64) UnmarshalJSON(b []byte) error {
	s := string(bytes.Trim(b, `"`))
	if s == "" || s == "null" {
		*v = 0
		return nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return fmt.Errorf("uint64 %q: %w", s, err)
	}
	*v = u64(n)
	return nil
}

// b64 is a protojson bytes field: standard base64 out; standard or URL-safe, padded or
// not, in.
type b64 []byte

func (v b64) MarshalJSON() ([]byte, error) {
	return json.Marshal(base64.StdEncoding.EncodeToString(v))
}

func (v *b64) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*v = nil
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if d, err := enc.DecodeString(s); err == nil {
			*v = d
			return nil
		}
	}
	return errors.New("bytes field is not base64")
}

// rpcStatus is a gRPC status as the gateway writes it, alone for a unary call and under
// "error" in a stream.
type rpcStatus struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type getInfoResponse struct {
	IdentityPubkey string `json:"identity_pubkey"`
	Alias          string `json:"alias"`
	Color          string `json:"color"`
	BlockHeight    uint32 `json:"block_height"`
	BlockHash      string `json:"block_hash"`
	SyncedToChain  bool   `json:"synced_to_chain"`
	Testnet        bool   `json:"testnet"`
	Chains         []struct {
		Chain   string `json:"chain"`
		Network string `json:"network"`
	} `json:"chains"`
	Version string `json:"version"`
}

type amount struct {
	Sat  u64 `json:"sat"`
	Msat u64 `json:"msat"`
}

type channelBalanceResponse struct {
	LocalBalance           amount `json:"local_balance"`
	RemoteBalance          amount `json:"remote_balance"`
	UnsettledLocalBalance  amount `json:"unsettled_local_balance"`
	UnsettledRemoteBalance amount `json:"unsettled_remote_balance"`
}

type rpcHTLC struct {
	Incoming bool   `json:"incoming"`
	Amount   i64    `json:"amount"`
	HashLock b64    `json:"hash_lock"`
	Expiry   uint32 `json:"expiration_height"`
}

type rpcChannel struct {
	Active        bool      `json:"active"`
	RemotePubkey  string    `json:"remote_pubkey"`
	ChannelPoint  string    `json:"channel_point"`
	ChanID        u64       `json:"chan_id"`
	Capacity      i64       `json:"capacity"`
	LocalBalance  i64       `json:"local_balance"`
	RemoteBalance i64       `json:"remote_balance"`
	Initiator     bool      `json:"initiator"`
	PendingHTLCs  []rpcHTLC `json:"pending_htlcs"`
}

type listChannelsResponse struct {
	Channels []rpcChannel `json:"channels"`
}

type invoiceHTLC struct {
	AmtMsat       u64            `json:"amt_msat"`
	AcceptHeight  int32          `json:"accept_height"`
	ExpiryHeight  int32          `json:"expiry_height"`
	State         string         `json:"state"` // ACCEPTED, SETTLED, CANCELED
	CustomRecords map[string]b64 `json:"custom_records"`
}

type rpcInvoice struct {
	Memo            string        `json:"memo"`
	RPreimage       b64           `json:"r_preimage"`
	RHash           b64           `json:"r_hash"`
	ValueMsat       i64           `json:"value_msat"`
	CreationDate    i64           `json:"creation_date"`
	SettleDate      i64           `json:"settle_date"`
	PaymentRequest  string        `json:"payment_request"`
	DescriptionHash b64           `json:"description_hash"`
	Expiry          i64           `json:"expiry"`
	CltvExpiry      u64           `json:"cltv_expiry"`
	AddIndex        u64           `json:"add_index"`
	SettleIndex     u64           `json:"settle_index"`
	AmtPaidMsat     i64           `json:"amt_paid_msat"`
	State           string        `json:"state"` // OPEN, SETTLED, CANCELED, ACCEPTED
	HTLCs           []invoiceHTLC `json:"htlcs"`
	IsKeysend       bool          `json:"is_keysend"`
	IsAMP           bool          `json:"is_amp"`
}

type listInvoicesResponse struct {
	Invoices         []rpcInvoice `json:"invoices"`
	LastIndexOffset  u64          `json:"last_index_offset"`
	FirstIndexOffset u64          `json:"first_index_offset"`
}

type addInvoiceRequest struct {
	Memo            string `json:"memo,omitempty"`
	ValueMsat       int64  `json:"value_msat,string,omitempty"`
	DescriptionHash b64    `json:"description_hash,omitempty"`
	Expiry          int64  `json:"expiry,string,omitempty"`
	CltvExpiry      uint64 `json:"cltv_expiry,string,omitempty"`
}

type addHoldInvoiceRequest struct {
	Memo            string `json:"memo,omitempty"`
	Hash            b64    `json:"hash"`
	ValueMsat       int64  `json:"value_msat,string,omitempty"`
	DescriptionHash b64    `json:"description_hash,omitempty"`
	Expiry          int64  `json:"expiry,string,omitempty"`
	CltvExpiry      uint64 `json:"cltv_expiry,string,omitempty"`
}

type addInvoiceResponse struct {
	RHash          b64    `json:"r_hash"`
	PaymentRequest string `json:"payment_request"`
	AddIndex       u64    `json:"add_index"`
}

type hop struct {
	PubKey        string         `json:"pub_key"`
	AmtToForward  i64            `json:"amt_to_forward_msat"`
	CustomRecords map[string]b64 `json:"custom_records"`
}

type htlcAttempt struct {
	Status        string `json:"status"` // IN_FLIGHT, SUCCEEDED, FAILED
	ResolveTimeNs i64    `json:"resolve_time_ns"`
	Route         *struct {
		Hops []hop `json:"hops"`
	} `json:"route"`
}

type rpcPayment struct {
	PaymentHash     string        `json:"payment_hash"`
	PaymentPreimage string        `json:"payment_preimage"`
	ValueMsat       i64           `json:"value_msat"`
	PaymentRequest  string        `json:"payment_request"`
	Status          string        `json:"status"` // INITIATED, IN_FLIGHT, SUCCEEDED, FAILED
	FeeMsat         i64           `json:"fee_msat"`
	CreationTimeNs  i64           `json:"creation_time_ns"`
	HTLCs           []htlcAttempt `json:"htlcs"`
	PaymentIndex    u64           `json:"payment_index"`
	FailureReason   string        `json:"failure_reason"`
}

type listPaymentsResponse struct {
	Payments         []rpcPayment `json:"payments"`
	FirstIndexOffset u64          `json:"first_index_offset"`
	LastIndexOffset  u64          `json:"last_index_offset"`
}

type sendPaymentRequest struct {
	PaymentRequest    string         `json:"payment_request,omitempty"`
	Dest              b64            `json:"dest,omitempty"`
	PaymentHash       b64            `json:"payment_hash,omitempty"`
	AmtMsat           int64          `json:"amt_msat,string,omitempty"`
	FeeLimitMsat      int64          `json:"fee_limit_msat,string"`
	TimeoutSeconds    int32          `json:"timeout_seconds"`
	DestCustomRecords map[string]b64 `json:"dest_custom_records,omitempty"`
	NoInflightUpdates bool           `json:"no_inflight_updates"`
}
