-- Message bodies (one per submission, shared by its recipients) and SMTP transcripts of
-- delivery attempts. Neither ever travels in an event or on the bus: events reference them by id.

-- +goose Up
CREATE TABLE bodies (
    id         VARCHAR(64) NOT NULL PRIMARY KEY,
    server_id  VARCHAR(64) NOT NULL,
    size       BIGINT      NOT NULL,
    data       LONGBLOB    NOT NULL,
    created_us BIGINT      NOT NULL,
    KEY bodies_server_created (server_id, created_us)
) ENGINE=InnoDB;

CREATE TABLE transcripts (
    id         VARCHAR(64) NOT NULL PRIMARY KEY,
    message_id VARCHAR(64) NOT NULL,
    attempt    INT         NOT NULL,
    text       MEDIUMTEXT  NOT NULL,
    created_us BIGINT      NOT NULL,
    KEY transcripts_message (message_id, attempt)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
