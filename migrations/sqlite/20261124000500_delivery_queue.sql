-- +goose Up
CREATE TABLE delivery_queue (
    message_id      TEXT    NOT NULL PRIMARY KEY,
    server_id       TEXT    NOT NULL,
    rcpt_domain     TEXT    NOT NULL,
    body_id         TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_us INTEGER NOT NULL,
    hold_expires_us INTEGER NOT NULL DEFAULT 0,
    queued_us       INTEGER NOT NULL
);
CREATE INDEX delivery_queue_due ON delivery_queue (status, next_attempt_us);

CREATE TABLE delivery_leases (
    message_id TEXT    NOT NULL PRIMARY KEY,
    owner      TEXT    NOT NULL,
    until_us   INTEGER NOT NULL
);
CREATE INDEX delivery_leases_owner ON delivery_leases (owner);
