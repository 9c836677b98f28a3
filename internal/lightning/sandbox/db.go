package sandbox

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/nwc-go/nwc/internal/lightning"
)

// The schema is tiny and owned by the sandbox alone; CREATE IF NOT EXISTS
// is its whole migration story. Times are unix seconds (BOLT-11 precision),
// amounts msat, hashes and preimages hex.
const schema = `
CREATE TABLE IF NOT EXISTS meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS invoices (
	payment_hash     TEXT PRIMARY KEY,
	bolt11           TEXT NOT NULL DEFAULT '',
	preimage         TEXT NOT NULL DEFAULT '', -- known from creation except for hold invoices; shown once settled
	amount           INTEGER NOT NULL,
	amount_received  INTEGER NOT NULL DEFAULT 0,
	description      TEXT NOT NULL DEFAULT '',
	description_hash TEXT NOT NULL DEFAULT '',
	created_at       INTEGER NOT NULL,
	expires_at       INTEGER NOT NULL,
	settled_at       INTEGER NOT NULL DEFAULT 0,
	state            TEXT NOT NULL,           -- open|accepted|settled|canceled ("expired" is computed)
	is_hold          INTEGER NOT NULL DEFAULT 0,
	cltv             INTEGER NOT NULL DEFAULT 0,
	settle_deadline  INTEGER NOT NULL DEFAULT 0,
	is_keysend       INTEGER NOT NULL DEFAULT 0,
	tlvs             TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS payments (
	payment_hash TEXT PRIMARY KEY,
	bolt11       TEXT NOT NULL DEFAULT '',
	destination  TEXT NOT NULL,
	route        TEXT NOT NULL,               -- self|peer|external
	amount       INTEGER NOT NULL,
	fee          INTEGER NOT NULL,            -- reserved while pending, paid once succeeded
	state        TEXT NOT NULL,               -- pending|succeeded|failed
	preimage     TEXT NOT NULL DEFAULT '',    -- shown once succeeded
	failure      TEXT NOT NULL DEFAULT '',
	created_at   INTEGER NOT NULL,
	resolved_at  INTEGER NOT NULL DEFAULT 0,
	is_keysend   INTEGER NOT NULL DEFAULT 0,
	tlvs         TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS outcomes (
	payment_hash TEXT PRIMARY KEY,
	outcome      TEXT NOT NULL
);`

// Meta keys.
const (
	metaPubKey  = "pubkey"
	metaNodeKey = "node_key" // only when the sandbox generated its own key
	metaGenesis = "genesis"
	metaBalance = "balance"
	metaSeq     = "seq"
)

func openDB(ctx context.Context, path string) (*sql.DB, error) {
	dsn := "file::memory:"
	if path != "" {
		// WAL + synchronous=NORMAL: a committed payment row survives a kill -9
		// (reconciliation relies on it); only an OS crash could lose the last
		// commits, which a test ledger can afford.
		dsn = "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(5000)&_txlock=immediate"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	// One connection: the ledger is serialised by Sandbox.mu anyway, and an
	// in-memory database lives exactly as long as its single connection.
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func getMeta(ctx context.Context, q querier, key string) (string, bool, error) {
	var v string
	err := q.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return v, err == nil, err
}

func setMeta(ctx context.Context, q querier, key, value string) error {
	_, err := q.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES(?, ?)
		ON CONFLICT(key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}

func getMetaInt(ctx context.Context, q querier, key string) (int64, error) {
	v, ok, err := getMeta(ctx, q, key)
	if err != nil || !ok {
		return 0, err
	}
	return strconv.ParseInt(v, 10, 64)
}

func addBalance(ctx context.Context, q querier, delta int64) error {
	_, err := q.ExecContext(ctx, `UPDATE meta SET value = CAST(value AS INTEGER) + ? WHERE key = ?`, delta, metaBalance)
	return err
}

// nextSeq returns a fresh counter value for deterministic derivations.
func nextSeq(ctx context.Context, q querier) (int64, error) {
	n, err := getMetaInt(ctx, q, metaSeq)
	if err != nil {
		return 0, err
	}
	n++
	return n, setMeta(ctx, q, metaSeq, strconv.FormatInt(n, 10))
}

// invoiceRow mirrors the invoices table.
type invoiceRow struct {
	hash, bolt11, preimage       string
	amount, received             int64
	description, descriptionHash string
	createdAt, expiresAt         int64
	settledAt                    int64
	state                        string
	isHold                       bool
	cltv, settleDeadline         int64
	isKeysend                    bool
	tlvs                         string
}

const invoiceCols = `payment_hash, bolt11, preimage, amount, amount_received, description, description_hash,
	created_at, expires_at, settled_at, state, is_hold, cltv, settle_deadline, is_keysend, tlvs`

func getInvoice(ctx context.Context, q querier, hash string) (*invoiceRow, error) {
	var r invoiceRow
	err := q.QueryRowContext(ctx, `SELECT `+invoiceCols+` FROM invoices WHERE payment_hash = ?`, hash).Scan(
		&r.hash, &r.bolt11, &r.preimage, &r.amount, &r.received, &r.description, &r.descriptionHash,
		&r.createdAt, &r.expiresAt, &r.settledAt, &r.state, &r.isHold, &r.cltv, &r.settleDeadline, &r.isKeysend, &r.tlvs)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("invoice %s: %w", hash, lightning.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	return &r, nil
}

func insertInvoice(ctx context.Context, q querier, r *invoiceRow) error {
	_, err := q.ExecContext(ctx, `INSERT INTO invoices(`+invoiceCols+`) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		r.hash, r.bolt11, r.preimage, r.amount, r.received, r.description, r.descriptionHash,
		r.createdAt, r.expiresAt, r.settledAt, r.state, r.isHold, r.cltv, r.settleDeadline, r.isKeysend, r.tlvs)
	return err
}

func updateInvoice(ctx context.Context, q querier, r *invoiceRow) error {
	_, err := q.ExecContext(ctx, `UPDATE invoices SET preimage = ?, amount_received = ?, settled_at = ?, state = ?,
		settle_deadline = ? WHERE payment_hash = ?`, r.preimage, r.received, r.settledAt, r.state, r.settleDeadline, r.hash)
	return err
}

// invoice converts a row to the public type; now decides "expired".
func (r *invoiceRow) invoice(now time.Time) lightning.Invoice {
	inv := lightning.Invoice{
		Bolt11:          r.bolt11,
		PaymentHash:     r.hash,
		Amount:          r.amount,
		AmountReceived:  r.received,
		Description:     r.description,
		DescriptionHash: r.descriptionHash,
		CreatedAt:       unixTime(r.createdAt),
		ExpiresAt:       unixTime(r.expiresAt),
		SettledAt:       unixTime(r.settledAt),
		State:           lightning.InvoiceState(r.state),
		IsHold:          r.isHold,
		SettleDeadline:  uint32(r.settleDeadline),
		IsKeysend:       r.isKeysend,
		TLVs:            decodeTLVs(r.tlvs),
	}
	if r.state == string(lightning.InvoiceSettled) {
		inv.Preimage = r.preimage
	}
	if r.expired(now) {
		inv.State = lightning.InvoiceExpired
	}
	return inv
}

func (r *invoiceRow) expired(now time.Time) bool {
	return r.state == string(lightning.InvoiceOpen) && r.expiresAt != 0 && now.Unix() >= r.expiresAt
}

// paymentRow mirrors the payments table.
type paymentRow struct {
	hash, bolt11, destination, route string
	amount, fee                      int64
	state, preimage, failure         string
	createdAt, resolvedAt            int64
	isKeysend                        bool
	tlvs                             string
}

const paymentCols = `payment_hash, bolt11, destination, route, amount, fee, state, preimage, failure,
	created_at, resolved_at, is_keysend, tlvs`

func getPayment(ctx context.Context, q querier, hash string) (*paymentRow, error) {
	var r paymentRow
	err := q.QueryRowContext(ctx, `SELECT `+paymentCols+` FROM payments WHERE payment_hash = ?`, hash).Scan(
		&r.hash, &r.bolt11, &r.destination, &r.route, &r.amount, &r.fee, &r.state, &r.preimage, &r.failure,
		&r.createdAt, &r.resolvedAt, &r.isKeysend, &r.tlvs)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("payment %s: %w", hash, lightning.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// upsertPayment writes r; a failed earlier attempt for the same hash is
// replaced (retries after a failure are allowed).
func upsertPayment(ctx context.Context, q querier, r *paymentRow) error {
	_, err := q.ExecContext(ctx, `INSERT INTO payments(`+paymentCols+`) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT(payment_hash) DO UPDATE SET bolt11 = excluded.bolt11, destination = excluded.destination,
		route = excluded.route, amount = excluded.amount, fee = excluded.fee, state = excluded.state,
		preimage = excluded.preimage, failure = excluded.failure, created_at = excluded.created_at,
		resolved_at = excluded.resolved_at, is_keysend = excluded.is_keysend, tlvs = excluded.tlvs`,
		r.hash, r.bolt11, r.destination, r.route, r.amount, r.fee, r.state, r.preimage, r.failure,
		r.createdAt, r.resolvedAt, r.isKeysend, r.tlvs)
	return err
}

func (r *paymentRow) payment() lightning.Payment {
	p := lightning.Payment{
		PaymentHash:   r.hash,
		Bolt11:        r.bolt11,
		Destination:   r.destination,
		Amount:        r.amount,
		State:         lightning.PaymentState(r.state),
		FailureReason: r.failure,
		CreatedAt:     unixTime(r.createdAt),
		ResolvedAt:    unixTime(r.resolvedAt),
		IsKeysend:     r.isKeysend,
		TLVs:          decodeTLVs(r.tlvs),
	}
	if r.state == string(lightning.PaymentSucceeded) {
		p.Preimage = r.preimage
		p.FeePaid = r.fee
	}
	return p
}

func unixTime(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0).UTC()
}

type tlvJSON struct {
	Type  uint64 `json:"type"`
	Value string `json:"value"`
}

func encodeTLVs(tlvs []lightning.TLV) string {
	if len(tlvs) == 0 {
		return ""
	}
	out := make([]tlvJSON, len(tlvs))
	for i, t := range tlvs {
		out[i] = tlvJSON{t.Type, hex.EncodeToString(t.Value)}
	}
	b, _ := json.Marshal(out)
	return string(b)
}

func decodeTLVs(s string) []lightning.TLV {
	if s == "" {
		return nil
	}
	var in []tlvJSON
	if json.Unmarshal([]byte(s), &in) != nil {
		return nil
	}
	out := make([]lightning.TLV, 0, len(in))
	for _, t := range in {
		v, _ := hex.DecodeString(t.Value)
		out = append(out, lightning.TLV{Type: t.Type, Value: v})
	}
	return out
}
