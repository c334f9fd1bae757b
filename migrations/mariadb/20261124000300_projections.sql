-- Projection bookkeeping and the first read model (MariaDB).
--
-- projection_streams: the last stream version each projection applied, per stream (duplicates are
-- skipped, gaps are filled from the store). projection_positions: per projection, the catch-up
-- horizon (every event at or below it is applied) and the highest position applied (for lag).
-- projection_dead_letters: poison events a projection could not apply, kept for the operator.
-- event_counts: the eventcount projection, events per (type, server id; '' for none).

-- +goose Up
CREATE TABLE projection_streams (
    projection  VARCHAR(100) NOT NULL,
    stream_type VARCHAR(64)  NOT NULL,
    stream_id   VARCHAR(191) NOT NULL,
    version     BIGINT       NOT NULL,
    PRIMARY KEY (projection, stream_type, stream_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE projection_positions (
    projection       VARCHAR(100) NOT NULL,
    position         BIGINT       NOT NULL DEFAULT 0,
    applied_position BIGINT       NOT NULL DEFAULT 0,
    PRIMARY KEY (projection)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE projection_dead_letters (
    projection       VARCHAR(100) NOT NULL,
    event_id         VARCHAR(64)  NOT NULL,
    event_type       VARCHAR(128) NOT NULL,
    stream_type      VARCHAR(64)  NOT NULL,
    stream_id        VARCHAR(191) NOT NULL,
    stream_version   BIGINT       NOT NULL,
    position         BIGINT       NOT NULL,
    reason           TEXT         NOT NULL,
    dead_lettered_at DATETIME(6)  NOT NULL,
    PRIMARY KEY (projection, event_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE event_counts (
    event_type VARCHAR(128) NOT NULL,
    server_id  VARCHAR(64)  NOT NULL DEFAULT '',
    count      BIGINT       NOT NULL,
    PRIMARY KEY (event_type, server_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
