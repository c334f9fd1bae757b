-- Delivery queue, issue "lifecycle throughput": a worker that recorded an attempt keeps the
-- message away from Due until the queue has applied the attempt's events (settled claims), and
-- Due walks one index in next-attempt order instead of sorting every queued row.
--   delivery_queue.version         stream version of the last message event applied to the row
--   delivery_leases.settle_version a released claim (owner '') hides its message from Due until
--                                  the row's version reaches it (or until_us passes)
--   held rows wait at next_attempt_us = max BIGINT, so the due index never meets them.

-- +goose Up
ALTER TABLE delivery_queue
    ADD COLUMN version BIGINT NOT NULL DEFAULT 0,
    DROP KEY delivery_queue_due,
    ADD KEY delivery_queue_next (next_attempt_us),
    ADD KEY delivery_queue_holds (status, hold_expires_us);
UPDATE delivery_queue SET next_attempt_us = 9223372036854775807 WHERE status = 'held';
ALTER TABLE delivery_leases
    ADD COLUMN settle_version BIGINT NOT NULL DEFAULT 0;
