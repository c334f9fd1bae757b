-- Webhooks: the subscriptions read model and the message facts payloads need (both owned by
-- the webhooks projection, rebuilt by replay), the delivery work table the projection fills and
-- the sender drains (status, retries, leases: sender state, never rebuilt from scratch), and
-- the record of every HTTP attempt (read-model state, not events).
-- +goose Up
CREATE TABLE webhook_subscriptions (
    webhook_id         VARCHAR(64)   NOT NULL PRIMARY KEY,
    server_id          VARCHAR(255)  NOT NULL,
    url                VARCHAR(2048) NOT NULL,
    events             TEXT          NOT NULL,
    format             VARCHAR(16)   NOT NULL,
    enabled            TINYINT       NOT NULL,
    disabled_reason    VARCHAR(255)  NOT NULL,
    secret_id          VARCHAR(128)  NOT NULL,
    previous_secret_id VARCHAR(128)  NOT NULL,
    previous_until_us  BIGINT        NOT NULL,
    created_us         BIGINT        NOT NULL,
    KEY webhook_subscriptions_server (server_id)
) ENGINE=InnoDB;

CREATE TABLE webhook_messages (
    message_id        VARCHAR(64)   NOT NULL PRIMARY KEY,
    server_id         VARCHAR(255)  NOT NULL,
    submission_id     VARCHAR(64)   NOT NULL,
    mail_from         VARCHAR(512)  NOT NULL,
    rcpt_to           VARCHAR(512)  NOT NULL,
    header_from       VARCHAR(1024) NOT NULL,
    subject           TEXT          NOT NULL,
    message_id_header VARCHAR(1024) NOT NULL,
    tag               VARCHAR(255)  NOT NULL,
    queued_us         BIGINT        NOT NULL
) ENGINE=InnoDB;

CREATE TABLE webhook_deliveries (
    delivery_id      VARCHAR(64)   NOT NULL PRIMARY KEY,
    webhook_id       VARCHAR(64)   NOT NULL,
    server_id        VARCHAR(255)  NOT NULL,
    event_id         VARCHAR(64)   NOT NULL,
    event_type       VARCHAR(64)   NOT NULL,
    stream_key       VARCHAR(320)  NOT NULL,
    stream_version   BIGINT        NOT NULL,
    event_json       MEDIUMTEXT    NOT NULL,
    occurred_us      BIGINT        NOT NULL,
    status           VARCHAR(16)   NOT NULL,
    attempts         INT           NOT NULL,
    next_attempt_us  BIGINT        NOT NULL,
    first_attempt_us BIGINT        NOT NULL,
    last_attempt_us  BIGINT        NOT NULL,
    last_status_code INT           NOT NULL,
    last_error       VARCHAR(1024) NOT NULL,
    lease_owner      VARCHAR(128)  NOT NULL,
    lease_until_us   BIGINT        NOT NULL,
    KEY webhook_deliveries_due (status, next_attempt_us),
    KEY webhook_deliveries_order (webhook_id, stream_key, stream_version),
    KEY webhook_deliveries_list (webhook_id, occurred_us)
) ENGINE=InnoDB;

CREATE TABLE webhook_attempts (
    delivery_id  VARCHAR(64)   NOT NULL,
    attempt      INT           NOT NULL,
    webhook_id   VARCHAR(64)   NOT NULL,
    attempted_us BIGINT        NOT NULL,
    result       VARCHAR(16)   NOT NULL,
    status_code  INT           NOT NULL,
    response     TEXT          NOT NULL,
    duration_us  BIGINT        NOT NULL,
    error        VARCHAR(1024) NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
) ENGINE=InnoDB;
