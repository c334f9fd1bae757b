-- Delivery analytics (SQLite), maintained by projections/stats: counters per server, UTC hour,
-- metric and label (bounce reason, latency bucket, recipient domain), and the queued time and
-- recipient domain of each message to attribute its later events. Rebuildable by replay.

-- +goose Up
CREATE TABLE stats_hourly (
    server_id TEXT    NOT NULL,
    hour_us   INTEGER NOT NULL,
    metric    TEXT    NOT NULL,
    label     TEXT    NOT NULL,
    count     INTEGER NOT NULL,
    PRIMARY KEY (server_id, hour_us, metric, label)
);

CREATE TABLE stats_messages (
    message_id  TEXT    NOT NULL PRIMARY KEY,
    server_id   TEXT    NOT NULL,
    rcpt_domain TEXT    NOT NULL,
    queued_us   INTEGER NOT NULL
);
