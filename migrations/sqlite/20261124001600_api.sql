-- HTTP API tables (adapters/httpapi). api_message_ids gives every message stream the integer id
-- and token Postal v1 clients expect; idempotency_keys keeps the first result of a send made
-- with an Idempotency-Key for 24 hours (durable: Redis may lose keys).

-- +goose Up
CREATE TABLE api_message_ids (
    id         INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    message_id TEXT    NOT NULL UNIQUE,
    server_id  TEXT    NOT NULL,
    token      TEXT    NOT NULL,
    created_us INTEGER NOT NULL
);

CREATE TABLE idempotency_keys (
    server_id    TEXT    NOT NULL,
    idem_key     TEXT    NOT NULL,
    request_hash TEXT    NOT NULL,
    status       INTEGER NOT NULL DEFAULT 0,
    response     BLOB,
    created_us   INTEGER NOT NULL,
    PRIMARY KEY (server_id, idem_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_us);
