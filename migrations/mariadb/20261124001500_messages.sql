-- Message view (MariaDB), maintained by projections/messages: one row per message (recipient),
-- its timeline of events and its delivery attempts. Rebuildable by replay. Times are UTC unix
-- microseconds. Listings are keyset-paginated on (queued_us, message_id) within a server, so
-- every listing index ends with those two columns.

-- +goose Up
CREATE TABLE message_view (
    message_id      VARCHAR(64)   NOT NULL,
    server_id       VARCHAR(191)  NOT NULL,
    status          VARCHAR(16)   NOT NULL,
    rcpt_to         VARCHAR(320)  NOT NULL,
    rcpt_domain     VARCHAR(255)  NOT NULL,
    mail_from       VARCHAR(320)  NOT NULL,
    header_from     VARCHAR(1000) COLLATE utf8mb4_general_ci NOT NULL,
    subject         VARCHAR(1000) COLLATE utf8mb4_general_ci NOT NULL,
    tag             VARCHAR(255)  NOT NULL,
    msgid           VARCHAR(255)  NOT NULL,
    size            BIGINT        NOT NULL,
    submission_id   VARCHAR(64)   NOT NULL,
    queued_us       BIGINT        NOT NULL,
    last_event_us   BIGINT        NOT NULL,
    attempts        INT           NOT NULL,
    last_reply_code INT           NOT NULL,
    last_reply      VARCHAR(1000) NOT NULL,
    bounce_reason   VARCHAR(64)   NOT NULL,
    bounce_class    VARCHAR(16)   NOT NULL,
    held_reason     VARCHAR(64)   NOT NULL,
    PRIMARY KEY (message_id),
    KEY message_view_server_time (server_id, queued_us, message_id),
    KEY message_view_status (server_id, status, queued_us, message_id),
    KEY message_view_rcpt (server_id, rcpt_to, queued_us, message_id),
    KEY message_view_rcpt_domain (server_id, rcpt_domain, queued_us, message_id),
    KEY message_view_mail_from (server_id, mail_from, queued_us, message_id),
    KEY message_view_tag (server_id, tag, queued_us, message_id),
    KEY message_view_msgid (msgid),
    KEY message_view_rcpt_any (rcpt_to, queued_us)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE message_events (
    message_id  VARCHAR(64)  NOT NULL,
    version     BIGINT       NOT NULL,
    event_id    VARCHAR(64)  NOT NULL,
    event_type  VARCHAR(128) NOT NULL,
    occurred_us BIGINT       NOT NULL,
    actor       VARCHAR(255) NOT NULL,
    payload     MEDIUMTEXT   NOT NULL,
    PRIMARY KEY (message_id, version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE message_attempts (
    message_id    VARCHAR(64)   NOT NULL,
    version       BIGINT        NOT NULL,
    attempt       INT           NOT NULL,
    occurred_us   BIGINT        NOT NULL,
    mx_host       VARCHAR(255)  NOT NULL,
    ip            VARCHAR(64)   NOT NULL,
    tls_version   VARCHAR(32)   NOT NULL,
    tls_cipher    VARCHAR(128)  NOT NULL,
    reply_code    INT           NOT NULL,
    enhanced_code VARCHAR(32)   NOT NULL,
    reply_text    VARCHAR(1000) NOT NULL,
    duration_ms   BIGINT        NOT NULL,
    transcript_id VARCHAR(255)  NOT NULL,
    result        VARCHAR(32)   NOT NULL,
    PRIMARY KEY (message_id, version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
