package wallet

import (
	"encoding/json"
	"time"

	"github.com/nwc-go/nwc/nostr"
)

// TxType is the direction of a transaction.
type TxType string

// Transaction types (NIP-47 §4.1).
const (
	TxIncoming TxType = "incoming" // an invoice we issued
	TxOutgoing TxType = "outgoing" // a payment we made
)

// TxState is the state of a transaction (NIP-47 §4.1).
type TxState string

// Transaction states. A canceled hold invoice is stored as StateFailed (as
// Alby Hub does); StateExpired is computed by StateAt, never stored.
const (
	StatePending  TxState = "pending"
	StateSettled  TxState = "settled"
	StateAccepted TxState = "accepted" // hold invoice locked in by the payer
	StateExpired  TxState = "expired"
	StateFailed   TxState = "failed"
)

// Transaction is the domain form of the NIP-47 transaction object, plus
// what the service needs for bookkeeping.
type Transaction struct {
	ID              int64
	ConnectionID    int64         // owning connection; 0 = none (node-level)
	RequestEventID  nostr.EventID // request that created it; zero if none
	Type            TxType
	State           TxState
	Hold            bool   // a hold invoice (incoming)
	Invoice         string // BOLT-11; empty for keysend
	Description     string
	DescriptionHash string // hex
	Preimage        string // hex; empty until settled
	PaymentHash     string // hex, lowercase
	Amount          MSat
	FeesPaid        MSat
	FeeReserve      MSat // held while an outgoing payment is pending
	CreatedAt       time.Time
	UpdatedAt       time.Time
	ExpiresAt       time.Time // zero = none
	SettledAt       time.Time // zero = not settled
	SettleDeadline  uint32    // block height (hold invoices); 0 = none
	Metadata        json.RawMessage
	FailureReason   string // internal; never sent to apps
}

// StateAt returns the state as reported at now: an unpaid incoming invoice
// past its expiry is StateExpired.
func (t *Transaction) StateAt(now time.Time) TxState {
	if t.Type == TxIncoming && t.State == StatePending && !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt) {
		return StateExpired
	}
	return t.State
}

// TxQuery selects transactions for list_transactions (NIP-47 §4.8).
type TxQuery struct {
	ConnectionID int64     // 0 = all connections
	From, Until  time.Time // inclusive bounds on CreatedAt (second precision); zero = unbounded
	Limit        int       // <= 0 = no limit (the service caps it)
	Offset       int
	Unpaid       bool   // false: settled only; true: every state
	Type         TxType // "" = both
}

// PaymentReservation is everything ReservePayment needs to check and record
// a payment atomically. The caller computes WindowStart with its clock.
type PaymentReservation struct {
	ConnectionID    int64
	RequestEventID  nostr.EventID
	PaymentHash     string
	Invoice         string // empty for keysend
	Description     string
	DescriptionHash string
	Amount          MSat
	FeeReserve      MSat      // FeeReserve(Amount), or 0 for self-payments
	Budget          Budget    // the connection's budget (Limit 0 = none)
	WindowStart     time.Time // Budget.WindowStart(now, loc); zero = all history
	Isolated        bool      // check the connection's own balance too
	CreatedAt       time.Time // now
	ExpiresAt       time.Time // invoice expiry, zero = none
	Metadata        json.RawMessage
	// Request, if set, is recorded (as BeginRequest would) in the reservation's own
	// transaction, before the checks: ErrDuplicateRequest if its event id is already
	// recorded, and then nothing else happens. It stays recorded when the reservation
	// succeeds or is refused (ErrAlreadyPaid, ErrPaymentPending, ErrQuotaExceeded,
	// ErrInsufficientBalance); on any other error nothing is recorded. So a service
	// instance that dies before reserving leaves no trace, and another instance's copy
	// of the request runs instead.
	Request *Request
}

// Outcome of a request recorded by FinishRequest: OutcomeOK or a NIP-47 error code.
const OutcomeOK = "ok"

// Request is one received request event, recorded before it is executed.
type Request struct {
	EventID      nostr.EventID
	ConnectionID int64
	Method       string
	ReceivedAt   time.Time
	FinishedAt   time.Time     // zero while running (or after a crash)
	Outcome      string        // "" while running, OutcomeOK or an error code
	Amount       MSat          // amount moved, if any
	Duration     time.Duration // as measured by the service
}

// RequestStats are a connection's request counts (for `nwc connect show`).
type RequestStats struct {
	Total    int64
	OK       int64            // Outcome == OutcomeOK
	Failed   int64            // finished with an error code
	Running  int64            // not finished (in flight, or interrupted by a crash)
	ByMethod map[string]int64 // all requests by method
	LastAt   time.Time        // latest ReceivedAt; zero if none
}
