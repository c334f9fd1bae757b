-- Message bodies (one per submission, shared by its recipients) and SMTP transcripts of
-- delivery attempts. Neither ever travels in an event or on the bus: events reference them by id.

-- +goose Up
CREATE TABLE bodies (
    id         TEXT    NOT NULL PRIMARY KEY,
    server_id  TEXT    NOT NULL,
    size       INTEGER NOT NULL,
    data       BLOB    NOT NULL,
    created_us INTEGER NOT NULL
);
CREATE INDEX bodies_server_created ON bodies (server_id, created_us);

CREATE TABLE transcripts (
    id         TEXT    NOT NULL PRIMARY KEY,
    message_id TEXT    NOT NULL,
    attempt    INTEGER NOT NULL,
    text       TEXT    NOT NULL,
    created_us INTEGER NOT NULL
);
CREATE INDEX transcripts_message ON transcripts (message_id, attempt);
