-- Message view (SQLite), maintained by projections/messages: one row per message (recipient),
-- its timeline of events and its delivery attempts. Rebuildable by replay. Times are UTC unix
-- microseconds. Listings are keyset-paginated on (queued_us, message_id) within a server.

-- +goose Up
CREATE TABLE message_view (
    message_id      TEXT    NOT NULL PRIMARY KEY,
    server_id       TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    rcpt_to         TEXT    NOT NULL,
    rcpt_domain     TEXT    NOT NULL,
    mail_from       TEXT    NOT NULL,
    header_from     TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    tag             TEXT    NOT NULL,
    msgid           TEXT    NOT NULL,
    size            INTEGER NOT NULL,
    submission_id   TEXT    NOT NULL,
    queued_us       INTEGER NOT NULL,
    last_event_us   INTEGER NOT NULL,
    attempts        INTEGER NOT NULL,
    last_reply_code INTEGER NOT NULL,
    last_reply      TEXT    NOT NULL,
    bounce_reason   TEXT    NOT NULL,
    bounce_class    TEXT    NOT NULL,
    held_reason     TEXT    NOT NULL
);
CREATE INDEX message_view_server_time ON message_view (server_id, queued_us, message_id);
CREATE INDEX message_view_status ON message_view (server_id, status, queued_us, message_id);
CREATE INDEX message_view_rcpt ON message_view (server_id, rcpt_to, queued_us, message_id);
CREATE INDEX message_view_rcpt_domain ON message_view (server_id, rcpt_domain, queued_us, message_id);
CREATE INDEX message_view_mail_from ON message_view (server_id, mail_from, queued_us, message_id);
CREATE INDEX message_view_tag ON message_view (server_id, tag, queued_us, message_id);
CREATE INDEX message_view_msgid ON message_view (msgid);
CREATE INDEX message_view_rcpt_any ON message_view (rcpt_to, queued_us);

CREATE TABLE message_events (
    message_id  TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    event_id    TEXT    NOT NULL,
    event_type  TEXT    NOT NULL,
    occurred_us INTEGER NOT NULL,
    actor       TEXT    NOT NULL,
    payload     TEXT    NOT NULL,
    PRIMARY KEY (message_id, version)
);

CREATE TABLE message_attempts (
    message_id    TEXT    NOT NULL,
    version       INTEGER NOT NULL,
    attempt       INTEGER NOT NULL,
    occurred_us   INTEGER NOT NULL,
    mx_host       TEXT    NOT NULL,
    ip            TEXT    NOT NULL,
    tls_version   TEXT    NOT NULL,
    tls_cipher    TEXT    NOT NULL,
    reply_code    INTEGER NOT NULL,
    enhanced_code TEXT    NOT NULL,
    reply_text    TEXT    NOT NULL,
    duration_ms   INTEGER NOT NULL,
    transcript_id TEXT    NOT NULL,
    result        TEXT    NOT NULL,
    PRIMARY KEY (message_id, version)
);
