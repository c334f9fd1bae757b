-- Delivery analytics (MariaDB), maintained by projections/stats: counters per server, UTC hour,
-- metric and label (bounce reason, latency bucket, recipient domain), and the queued time and
-- recipient domain of each message to attribute its later events. Rebuildable by replay.

-- +goose Up
CREATE TABLE stats_hourly (
    server_id VARCHAR(191) NOT NULL,
    hour_us   BIGINT       NOT NULL,
    metric    VARCHAR(32)  NOT NULL,
    label     VARCHAR(255) NOT NULL,
    count     BIGINT       NOT NULL,
    PRIMARY KEY (server_id, hour_us, metric, label)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE stats_messages (
    message_id  VARCHAR(64)  NOT NULL,
    server_id   VARCHAR(191) NOT NULL,
    rcpt_domain VARCHAR(255) NOT NULL,
    queued_us   BIGINT       NOT NULL,
    PRIMARY KEY (message_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
