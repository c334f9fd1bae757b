-- Stamping positions in O(batch) (MariaDB: events_unstamped). SQLite assigns positions at insert
-- and its outbox is keyed by position, so Pending reads O(limit) rows already; nothing to add.
-- The file exists so that both dialects ship the same versions.

-- +goose Up
SELECT 1;
