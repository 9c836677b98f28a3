-- Read-only requests that the one serving process answered without a record first
-- (docs/store.md): logged after the answer. No unique event id — the service stops
-- repeats in memory — which is what makes the insert cheap: the random event-id index of
-- requests dirties a page per row, four to five times the cost of a row here.
CREATE TABLE read_requests (
    id            INTEGER PRIMARY KEY,
    event_id      TEXT    NOT NULL,
    connection_id INTEGER,
    method        TEXT    NOT NULL,
    received_at   INTEGER NOT NULL,
    finished_at   INTEGER,
    outcome       TEXT    NOT NULL DEFAULT '',
    amount_msat   INTEGER NOT NULL DEFAULT 0,
    duration_us   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX read_requests_conn_received ON read_requests (connection_id, received_at);
