-- Inbound reports: every message the MX listener accepted for the return-path domain (DSNs,
-- ARF feedback reports, auto-replies, and whatever else arrives there), stored with its raw
-- bytes BEFORE the listener answers 250, then processed by domain/inbound. The status says
-- what processing made of it: pending (not processed yet), linked, unlinked, malformed,
-- autoreply. Unlinkable and malformed reports stay here for the operator (posthaste bounce
-- reports). Raw bytes never travel in an event.

-- +goose Up
CREATE TABLE inbound_reports (
    id           TEXT    NOT NULL PRIMARY KEY,
    received_us  INTEGER NOT NULL,
    mail_from    TEXT    NOT NULL,
    rcpt_to      TEXT    NOT NULL,
    client_ip    TEXT    NOT NULL,
    tls          INTEGER NOT NULL,
    size         INTEGER NOT NULL,
    raw          BLOB    NOT NULL,
    status       TEXT    NOT NULL,
    kind         TEXT    NOT NULL DEFAULT '',
    message_id   TEXT    NOT NULL DEFAULT '',
    summary      TEXT    NOT NULL DEFAULT '',
    processed_us INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX inbound_reports_status ON inbound_reports (status, received_us);
