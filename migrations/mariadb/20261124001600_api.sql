-- HTTP API tables (adapters/httpapi). api_message_ids gives every message stream the integer id
-- and token Postal v1 clients expect; idempotency_keys keeps the first result of a send made
-- with an Idempotency-Key for 24 hours (durable: Redis may lose keys).

-- +goose Up
CREATE TABLE api_message_ids (
    id         BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    message_id VARCHAR(64) NOT NULL,
    server_id  VARCHAR(200) NOT NULL,
    token      VARCHAR(32) NOT NULL,
    created_us BIGINT      NOT NULL,
    UNIQUE KEY api_message_ids_message (message_id)
) ENGINE=InnoDB;

CREATE TABLE idempotency_keys (
    server_id    VARCHAR(200) NOT NULL,
    idem_key     VARCHAR(255) NOT NULL,
    request_hash CHAR(64)     NOT NULL,
    status       INT          NOT NULL DEFAULT 0,
    response     LONGBLOB     NULL,
    created_us   BIGINT       NOT NULL,
    PRIMARY KEY (server_id, idem_key),
    KEY idempotency_keys_created (created_us)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
