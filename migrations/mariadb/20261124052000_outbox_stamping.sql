-- Stamping positions in O(batch) however large the unstamped backlog (adapters/mariadb/outbox.go).
--
-- The relay looks for committed events without a position, oldest seq first. Neither existing
-- index can answer that in O(batch): a scan of the primary key walks every event ever stamped
-- (the log is never trimmed), and the UNIQUE(position) index is not used for ORDER BY seq under
-- "position IS NULL", so MariaDB filesorts the whole backlog. On this non-unique (position, seq)
-- index, "position IS NULL ORDER BY position, seq" is an ordered ref scan that stops after
-- the batch. (UNIQUE(position) stays: it is what makes two overlapping relays collide.)

-- +goose Up
ALTER TABLE events ADD KEY events_unstamped (position, seq);
