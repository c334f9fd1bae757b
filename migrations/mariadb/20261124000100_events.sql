-- The event log and its outbox (MariaDB).
--
-- seq is the internal insertion order (auto-increment values commit out of order, so it is never
-- shown to followers). position is the gap-free global order, stamped by the outbox relay in
-- commit order (see adapters/mariadb); it stays NULL until then. data holds the events.Marshal
-- bytes unchanged; the other columns are copies of envelope fields for filtering.

-- +goose Up
CREATE TABLE events (
    seq            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    position       BIGINT          NULL,
    id             VARCHAR(64)     NOT NULL,
    type           VARCHAR(128)    NOT NULL,
    schema_version INT             NOT NULL,
    stream_type    VARCHAR(64)     NOT NULL,
    stream_id      VARCHAR(191)    NOT NULL,
    stream_version BIGINT          NOT NULL,
    server_id      VARCHAR(64)     NULL,
    occurred_at    DATETIME(6)     NOT NULL,
    actor_type     VARCHAR(32)     NOT NULL,
    actor_id       VARCHAR(255)    NOT NULL,
    correlation_id VARCHAR(128)    NOT NULL DEFAULT '',
    causation_id   VARCHAR(128)    NOT NULL DEFAULT '',
    data           LONGBLOB        NOT NULL,
    PRIMARY KEY (seq),
    UNIQUE KEY events_position (position),
    UNIQUE KEY events_id (id),
    UNIQUE KEY events_stream (stream_type, stream_id, stream_version),
    KEY events_server_position (server_id, position),
    KEY events_type_position (type, position),
    KEY events_occurred_at (occurred_at),
    KEY events_actor (actor_type, actor_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row per event not yet confirmed by the broker; written in the same transaction as the event.
-- position is copied from events when the relay stamps it, so Pending and Ack use outbox_position.
CREATE TABLE outbox (
    event_id VARCHAR(64) NOT NULL,
    position BIGINT      NULL,
    PRIMARY KEY (event_id),
    UNIQUE KEY outbox_position (position)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
