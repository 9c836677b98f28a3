package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nwc-go/nwc/internal/wallet"
	"github.com/nwc-go/nwc/nostr"
)

// Factory makes a fresh, empty database for one test and returns a function
// that opens a Store on it. The suite calls open several times on the same
// database: to re-open it, and to run two Store instances side by side the
// way two service processes would. The suite closes what it opens.
type Factory func(t *testing.T) (open func(ctx context.Context) (Store, error))

// Run runs the conformance suite against the implementation made by newDB.
func Run(t *testing.T, newDB Factory) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h *harness)
	}{
		{"Migrations", testMigrations},
		{"Settings", testSettings},
		{"ConnectionCRUD", testConnectionCRUD},
		{"ConnectionRevoke", testConnectionRevoke},
		{"ConnectionTouch", testConnectionTouch},
		{"Requests", testRequests},
		{"PruneRequests", testPruneRequests},
		{"ReserveRefusals", testReserveRefusals},
		{"BudgetWindows", testBudgetWindows},
		{"IsolatedBalance", testIsolatedBalance},
		{"PaymentLifecycle", testPaymentLifecycle},
		{"Invoices", testInvoices},
		{"HoldInvoices", testHoldInvoices},
		{"TransactionLookup", testTransactionLookup},
		{"ListTransactions", testListTransactions},
		{"ConcurrentBudget", testConcurrentBudget},
		{"ConcurrentBalance", testConcurrentBalance},
		{"ConcurrentSameHash", testConcurrentSameHash},
		{"ConcurrentDuplicateRequest", testConcurrentDuplicateRequest},
		{"ConcurrentSettle", testConcurrentSettle},
		{"ReserveRecordsRequest", testReserveRecordsRequest},
		{"ConcurrentReserveSameRequest", testConcurrentReserveSameRequest},
		{"RevokedRefusesRequests", testRevokedRefusesRequests},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			open := newDB(t)
			h := &harness{t: t, ctx: context.Background(), openFn: open}
			h.s = h.open()
			tc.fn(t, h)
		})
	}
}

// t0 is the suite's clock: every time is derived from it.
var t0 = time.Date(2026, time.March, 15, 12, 0, 0, 0, time.UTC)

type harness struct {
	t      *testing.T
	ctx    context.Context
	openFn func(ctx context.Context) (Store, error)
	s      Store
	n      uint64 // counter for unique keys, hashes and ids
}

// open opens another Store on the test's database, closed at cleanup.
func (h *harness) open() Store {
	h.t.Helper()
	s, err := h.openFn(h.ctx)
	if err != nil {
		h.t.Fatalf("open: %v", err)
	}
	h.t.Cleanup(func() {
		if err := s.Close(); err != nil {
			h.t.Errorf("close: %v", err)
		}
	})
	return s
}

func (h *harness) next() uint64 { h.n++; return h.n }

// key returns a fresh, unique (valid) public key.
func (h *harness) key() nostr.PublicKey {
	return keyFrom(binary.BigEndian.AppendUint64([]byte("key"), h.next()))
}

func keyFrom(seed []byte) nostr.PublicKey {
	sum := sha256.Sum256(seed)
	sk, err := nostr.SecretKeyFromBytes(sum[:])
	if err != nil {
		panic(err) // a hash is a valid secret key but with negligible probability
	}
	return sk.Public()
}

func (h *harness) eventID() nostr.EventID {
	return nostr.EventID(sha256.Sum256(binary.BigEndian.AppendUint64([]byte("event"), h.next())))
}

func (h *harness) hash() string {
	sum := sha256.Sum256(binary.BigEndian.AppendUint64([]byte("hash"), h.next()))
	return hex.EncodeToString(sum[:])
}

// derived stands in for the service's key derivation: a pure function of the index.
func derived(index uint32) (nostr.PublicKey, error) {
	return keyFrom(binary.BigEndian.AppendUint32([]byte("service"), index)), nil
}

func (h *harness) conn(mod func(c *wallet.Connection)) *wallet.Connection {
	h.t.Helper()
	c := &wallet.Connection{
		Name:         fmt.Sprintf("app %d", h.n),
		ClientPubKey: h.key(),
		Scopes:       []wallet.Scope{wallet.ScopePayInvoice, wallet.ScopeGetBalance},
		CreatedAt:    t0,
	}
	if mod != nil {
		mod(c)
	}
	if err := h.s.CreateConnection(h.ctx, c, derived); err != nil {
		h.t.Fatalf("CreateConnection: %v", err)
	}
	return c
}

func (h *harness) reservation(c *wallet.Connection, amount wallet.MSat, at time.Time) wallet.PaymentReservation {
	return wallet.PaymentReservation{
		ConnectionID:   c.ID,
		RequestEventID: h.eventID(),
		PaymentHash:    h.hash(),
		Invoice:        "lnbcrt1invoice",
		Amount:         amount,
		FeeReserve:     wallet.FeeReserve(amount),
		Budget:         c.Budget,
		WindowStart:    c.Budget.WindowStart(at, time.UTC),
		Isolated:       c.Isolated,
		CreatedAt:      at,
	}
}

func (h *harness) reserve(r wallet.PaymentReservation) *wallet.Transaction {
	h.t.Helper()
	tx, err := h.s.ReservePayment(h.ctx, r)
	if err != nil {
		h.t.Fatalf("ReservePayment(%d msat): %v", r.Amount, err)
	}
	return tx
}

// credit gives a connection a settled incoming payment of amount.
func (h *harness) credit(c *wallet.Connection, amount wallet.MSat, at time.Time) *wallet.Transaction {
	h.t.Helper()
	inv := &wallet.Transaction{ConnectionID: c.ID, PaymentHash: h.hash(), Amount: amount, Invoice: "lnbcrt1in", CreatedAt: at}
	if err := h.s.InsertInvoice(h.ctx, inv); err != nil {
		h.t.Fatalf("InsertInvoice: %v", err)
	}
	tx, err := h.s.SettleInvoice(h.ctx, inv.PaymentHash, "00", amount, at)
	if err != nil {
		h.t.Fatalf("SettleInvoice: %v", err)
	}
	return tx
}

func (h *harness) budgetUsed(c *wallet.Connection, since time.Time) wallet.MSat {
	h.t.Helper()
	used, err := h.s.BudgetUsed(h.ctx, c.ID, since)
	if err != nil {
		h.t.Fatalf("BudgetUsed: %v", err)
	}
	return used
}

func (h *harness) balance(c *wallet.Connection) wallet.MSat {
	h.t.Helper()
	b, err := h.s.IsolatedBalance(h.ctx, c.ID)
	if err != nil {
		h.t.Fatalf("IsolatedBalance: %v", err)
	}
	return b
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("%s: unexpected error %v", what, err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

func sameTime(a, b time.Time) bool { return a.IsZero() == b.IsZero() && (a.IsZero() || a.Equal(b)) }

func sameJSON(a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return string(a) == string(b)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

func checkConn(t *testing.T, what string, got, want *wallet.Connection) {
	t.Helper()
	switch {
	case got.ID != want.ID, got.Name != want.Name, got.ClientPubKey != want.ClientPubKey,
		got.ServicePubKey != want.ServicePubKey, got.KeyIndex != want.KeyIndex,
		fmt.Sprint(got.Scopes) != fmt.Sprint(want.Scopes),
		fmt.Sprint(got.NotificationTypes) != fmt.Sprint(want.NotificationTypes),
		got.Budget != want.Budget, got.Isolated != want.Isolated,
		!sameTime(got.ExpiresAt, want.ExpiresAt), !sameTime(got.CreatedAt, want.CreatedAt),
		!sameTime(got.RevokedAt, want.RevokedAt), !sameTime(got.LastUsedAt, want.LastUsedAt),
		!sameJSON(got.Metadata, want.Metadata):
		t.Fatalf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func checkTx(t *testing.T, what string, got, want *wallet.Transaction) {
	t.Helper()
	switch {
	case got.ID != want.ID, got.ConnectionID != want.ConnectionID, got.RequestEventID != want.RequestEventID,
		got.Type != want.Type, got.State != want.State, got.Hold != want.Hold, got.Invoice != want.Invoice,
		got.Description != want.Description, got.DescriptionHash != want.DescriptionHash,
		got.Preimage != want.Preimage, got.PaymentHash != want.PaymentHash, got.Amount != want.Amount,
		got.FeesPaid != want.FeesPaid, got.FeeReserve != want.FeeReserve,
		!sameTime(got.CreatedAt, want.CreatedAt), !sameTime(got.UpdatedAt, want.UpdatedAt),
		!sameTime(got.ExpiresAt, want.ExpiresAt), !sameTime(got.SettledAt, want.SettledAt),
		got.SettleDeadline != want.SettleDeadline, !sameJSON(got.Metadata, want.Metadata),
		got.FailureReason != want.FailureReason:
		t.Fatalf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}
