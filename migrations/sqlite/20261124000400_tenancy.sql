-- Secrets at rest (SQLite): DKIM private keys and webhook secrets, AES-256-GCM encrypted with
-- POSTHASTE_SECRET_KEY by adapters/sqlite/secrets.go. Events reference a secret by id and never
-- carry its value. key_id names the key that sealed the row (first bytes of its SHA-256), so a
-- wrong POSTHASTE_SECRET_KEY is reported as such. sealed = 12-byte nonce || ciphertext || tag;
-- the row's id and kind are the additional data, so a sealed value cannot be moved to another row.
-- created_at is fixed-width UTC text (2006-01-02T15:04:05.000000Z).

-- +goose Up
CREATE TABLE secrets (
    id         TEXT NOT NULL PRIMARY KEY,
    kind       TEXT NOT NULL,
    key_id     TEXT NOT NULL,
    sealed     BLOB NOT NULL,
    created_at TEXT NOT NULL
);
