-- Projection bookkeeping and the first read model (SQLite).
--
-- projection_streams: the last stream version each projection applied, per stream (duplicates are
-- skipped, gaps are filled from the store). projection_positions: per projection, the catch-up
-- horizon (every event at or below it is applied) and the highest position applied (for lag).
-- projection_dead_letters: poison events a projection could not apply, kept for the operator.
-- event_counts: the eventcount projection, events per (type, server id; '' for none).
-- dead_lettered_at is fixed-width UTC text (2006-01-02T15:04:05.000000Z).

-- +goose Up
CREATE TABLE projection_streams (
    projection  TEXT    NOT NULL,
    stream_type TEXT    NOT NULL,
    stream_id   TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    PRIMARY KEY (projection, stream_type, stream_id)
);

CREATE TABLE projection_positions (
    projection       TEXT    NOT NULL PRIMARY KEY,
    position         INTEGER NOT NULL DEFAULT 0,
    applied_position INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE projection_dead_letters (
    projection       TEXT    NOT NULL,
    event_id         TEXT    NOT NULL,
    event_type       TEXT    NOT NULL,
    stream_type      TEXT    NOT NULL,
    stream_id        TEXT    NOT NULL,
    stream_version   INTEGER NOT NULL,
    position         INTEGER NOT NULL,
    reason           TEXT    NOT NULL,
    dead_lettered_at TEXT    NOT NULL,
    PRIMARY KEY (projection, event_id)
);

CREATE TABLE event_counts (
    event_type TEXT    NOT NULL,
    server_id  TEXT    NOT NULL DEFAULT '',
    count      INTEGER NOT NULL,
    PRIMARY KEY (event_type, server_id)
);
