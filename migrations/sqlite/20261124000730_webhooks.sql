-- Webhooks: the subscriptions read model and the message facts payloads need (both owned by
-- the webhooks projection, rebuilt by replay), the delivery work table the projection fills and
-- the sender drains (status, retries, leases: sender state, never rebuilt from scratch), and
-- the record of every HTTP attempt (read-model state, not events).
-- +goose Up
CREATE TABLE webhook_subscriptions (
    webhook_id         TEXT   NOT NULL PRIMARY KEY,
    server_id          TEXT  NOT NULL,
    url                TEXT NOT NULL,
    events             TEXT          NOT NULL,
    format             TEXT   NOT NULL,
    enabled            INTEGER       NOT NULL,
    disabled_reason    TEXT  NOT NULL,
    secret_id          TEXT  NOT NULL,
    previous_secret_id TEXT  NOT NULL,
    previous_until_us  INTEGER        NOT NULL,
    created_us         INTEGER        NOT NULL
);

CREATE TABLE webhook_messages (
    message_id        TEXT   NOT NULL PRIMARY KEY,
    server_id         TEXT  NOT NULL,
    submission_id     TEXT   NOT NULL,
    mail_from         TEXT  NOT NULL,
    rcpt_to           TEXT  NOT NULL,
    header_from       TEXT NOT NULL,
    subject           TEXT          NOT NULL,
    message_id_header TEXT NOT NULL,
    tag               TEXT  NOT NULL,
    queued_us         INTEGER        NOT NULL
);

CREATE TABLE webhook_deliveries (
    delivery_id      TEXT   NOT NULL PRIMARY KEY,
    webhook_id       TEXT   NOT NULL,
    server_id        TEXT  NOT NULL,
    event_id         TEXT   NOT NULL,
    event_type       TEXT   NOT NULL,
    stream_key       TEXT  NOT NULL,
    stream_version   INTEGER        NOT NULL,
    event_json       TEXT    NOT NULL,
    occurred_us      INTEGER        NOT NULL,
    status           TEXT   NOT NULL,
    attempts         INTEGER           NOT NULL,
    next_attempt_us  INTEGER        NOT NULL,
    first_attempt_us INTEGER        NOT NULL,
    last_attempt_us  INTEGER        NOT NULL,
    last_status_code INTEGER           NOT NULL,
    last_error       TEXT NOT NULL,
    lease_owner      TEXT  NOT NULL,
    lease_until_us   INTEGER        NOT NULL
);

CREATE TABLE webhook_attempts (
    delivery_id  TEXT   NOT NULL,
    attempt      INTEGER           NOT NULL,
    webhook_id   TEXT   NOT NULL,
    attempted_us INTEGER        NOT NULL,
    result       TEXT   NOT NULL,
    status_code  INTEGER           NOT NULL,
    response     TEXT          NOT NULL,
    duration_us  INTEGER        NOT NULL,
    error        TEXT NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);
CREATE INDEX webhook_subscriptions_server ON webhook_subscriptions (server_id);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_us);
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (webhook_id, stream_key, stream_version);
CREATE INDEX webhook_deliveries_list ON webhook_deliveries (webhook_id, occurred_us);
