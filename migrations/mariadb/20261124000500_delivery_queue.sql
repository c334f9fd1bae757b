-- +goose Up
CREATE TABLE delivery_queue (
    message_id      VARCHAR(64)  NOT NULL PRIMARY KEY,
    server_id       VARCHAR(64)  NOT NULL,
    rcpt_domain     VARCHAR(255) NOT NULL,
    body_id         VARCHAR(64)  NOT NULL,
    status          VARCHAR(16)  NOT NULL,
    attempts        INT          NOT NULL,
    next_attempt_us BIGINT       NOT NULL,
    hold_expires_us BIGINT       NOT NULL DEFAULT 0,
    queued_us       BIGINT       NOT NULL,
    KEY delivery_queue_due (status, next_attempt_us)
) ENGINE=InnoDB;

CREATE TABLE delivery_leases (
    message_id VARCHAR(64) NOT NULL PRIMARY KEY,
    owner      VARCHAR(128) NOT NULL,
    until_us   BIGINT      NOT NULL,
    KEY delivery_leases_owner (owner)
) ENGINE=InnoDB;
