-- Initial schema. Amounts are INTEGER millisats, times INTEGER unix seconds
-- (NULL = unset), keys/hashes/ids lowercase hex TEXT. Kept to SQL that
-- PostgreSQL also accepts (apart from the id column type) so the two stores
-- stay alike.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE connections (
    id                  INTEGER PRIMARY KEY,
    name                TEXT    NOT NULL,
    client_pubkey       TEXT    NOT NULL,
    service_pubkey      TEXT    NOT NULL UNIQUE,
    key_index           INTEGER NOT NULL UNIQUE,
    scopes              TEXT    NOT NULL DEFAULT '',
    notification_types  TEXT    NOT NULL DEFAULT '',
    budget_msat         INTEGER NOT NULL DEFAULT 0,
    budget_renewal      TEXT    NOT NULL DEFAULT 'never',
    expires_at          INTEGER,
    isolated            INTEGER NOT NULL DEFAULT 0,
    metadata            TEXT,
    created_at          INTEGER NOT NULL,
    revoked_at          INTEGER,
    last_used_at        INTEGER,
    -- Running totals kept in step with the connection's transactions, so a
    -- reservation costs O(1) however long the history (see docs/store.md):
    -- balance_msat is IsolatedBalance; budget_used_msat is BudgetUsed since
    -- budget_window_start (NULL: not computed yet).
    balance_msat        INTEGER NOT NULL DEFAULT 0,
    budget_window_start INTEGER,
    budget_used_msat    INTEGER NOT NULL DEFAULT 0
);
-- One live connection per client key; revoked ones keep their history.
CREATE UNIQUE INDEX connections_client_live ON connections (client_pubkey) WHERE revoked_at IS NULL;
CREATE INDEX connections_client ON connections (client_pubkey);

CREATE TABLE requests (
    id            INTEGER PRIMARY KEY,
    event_id      TEXT    NOT NULL UNIQUE,
    connection_id INTEGER REFERENCES connections (id),
    method        TEXT    NOT NULL,
    received_at   INTEGER NOT NULL,
    finished_at   INTEGER,
    outcome       TEXT    NOT NULL DEFAULT '',
    amount_msat   INTEGER NOT NULL DEFAULT 0,
    duration_us   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX requests_conn_received ON requests (connection_id, received_at);

CREATE TABLE transactions (
    id               INTEGER PRIMARY KEY,
    connection_id    INTEGER REFERENCES connections (id),
    request_event_id TEXT,
    type             TEXT    NOT NULL CHECK (type IN ('incoming', 'outgoing')),
    state            TEXT    NOT NULL CHECK (state IN ('pending', 'settled', 'accepted', 'failed')),
    hold             INTEGER NOT NULL DEFAULT 0,
    invoice          TEXT    NOT NULL DEFAULT '',
    description      TEXT    NOT NULL DEFAULT '',
    description_hash TEXT    NOT NULL DEFAULT '',
    preimage         TEXT    NOT NULL DEFAULT '',
    payment_hash     TEXT    NOT NULL,
    amount_msat      INTEGER NOT NULL CHECK (amount_msat >= 0),
    fees_paid_msat   INTEGER NOT NULL DEFAULT 0,
    fee_reserve_msat INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    expires_at       INTEGER,
    settled_at       INTEGER,
    settle_deadline  INTEGER,
    metadata         TEXT,
    failure_reason   TEXT    NOT NULL DEFAULT ''
);
-- One invoice per payment hash; at most one live (pending or settled)
-- payment per payment hash — the last line of defence against paying twice.
CREATE UNIQUE INDEX transactions_incoming_hash ON transactions (payment_hash) WHERE type = 'incoming';
CREATE UNIQUE INDEX transactions_outgoing_live ON transactions (payment_hash)
    WHERE type = 'outgoing' AND state IN ('pending', 'settled');
CREATE INDEX transactions_hash ON transactions (payment_hash);
-- Covering index for the budget sum of a window.
CREATE INDEX transactions_budget ON transactions
    (connection_id, type, created_at, state, amount_msat, fees_paid_msat, fee_reserve_msat);
CREATE INDEX transactions_created ON transactions (created_at);
CREATE INDEX transactions_pending ON transactions (state, type);
