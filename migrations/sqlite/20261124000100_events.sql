-- The event log and its outbox (SQLite).
--
-- SQLite serializes writers, so the store assigns position = seq at insert, inside the write
-- transaction: gap-free and monotonic in commit order by construction. data holds the
-- events.Marshal bytes unchanged; the other columns are copies of envelope fields for filtering.
-- occurred_at is fixed-width UTC text (2006-01-02T15:04:05.000000Z) so it sorts as time.

-- +goose Up
CREATE TABLE events (
    seq            INTEGER PRIMARY KEY,
    position       INTEGER NULL UNIQUE,
    id             TEXT    NOT NULL UNIQUE,
    type           TEXT    NOT NULL,
    schema_version INTEGER NOT NULL,
    stream_type    TEXT    NOT NULL,
    stream_id      TEXT    NOT NULL,
    stream_version INTEGER NOT NULL,
    server_id      TEXT    NULL,
    occurred_at    TEXT    NOT NULL,
    actor_type     TEXT    NOT NULL,
    actor_id       TEXT    NOT NULL,
    correlation_id TEXT    NOT NULL DEFAULT '',
    causation_id   TEXT    NOT NULL DEFAULT '',
    data           BLOB    NOT NULL,
    UNIQUE (stream_type, stream_id, stream_version)
);
CREATE INDEX events_server_position ON events (server_id, position);
CREATE INDEX events_type_position ON events (type, position);
CREATE INDEX events_occurred_at ON events (occurred_at);
CREATE INDEX events_actor ON events (actor_type, actor_id);

-- One row per event not yet confirmed by the broker; written in the same transaction as the event.
CREATE TABLE outbox (
    position INTEGER PRIMARY KEY
);
