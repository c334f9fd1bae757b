-- Blocks of Postal integer message ids (adapters/httpapi). A web process reserves a block of
-- ids here in a short transaction of its own, then hands them out from memory, so the
-- api_message_ids row of a message is a plain insert inside the acceptance transaction (no
-- auto-increment value to read back). next_id is the first id not yet reserved.

-- +goose Up
CREATE TABLE api_id_blocks (
    name    VARCHAR(64) NOT NULL PRIMARY KEY,
    next_id BIGINT      NOT NULL
) ENGINE=InnoDB;
