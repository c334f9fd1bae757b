-- Inbound reports: every message the MX listener accepted for the return-path domain (DSNs,
-- ARF feedback reports, auto-replies, and whatever else arrives there), stored with its raw
-- bytes BEFORE the listener answers 250, then processed by domain/inbound. The status says
-- what processing made of it: pending (not processed yet), linked, unlinked, malformed,
-- autoreply. Unlinkable and malformed reports stay here for the operator (posthaste bounce
-- reports). Raw bytes never travel in an event.

-- +goose Up
CREATE TABLE inbound_reports (
    id           VARCHAR(64)   NOT NULL PRIMARY KEY,
    received_us  BIGINT        NOT NULL,
    mail_from    VARCHAR(512)  NOT NULL,
    rcpt_to      TEXT          NOT NULL,
    client_ip    VARCHAR(64)   NOT NULL,
    tls          TINYINT(1)    NOT NULL,
    size         BIGINT        NOT NULL,
    raw          LONGBLOB      NOT NULL,
    status       VARCHAR(16)   NOT NULL,
    kind         VARCHAR(32)   NOT NULL DEFAULT '',
    message_id   VARCHAR(64)   NOT NULL DEFAULT '',
    summary      MEDIUMTEXT    NOT NULL,
    processed_us BIGINT        NOT NULL DEFAULT 0,
    KEY inbound_reports_status (status, received_us)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
