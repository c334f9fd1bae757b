-- Secrets at rest (MariaDB): DKIM private keys and webhook secrets, AES-256-GCM encrypted with
-- POSTHASTE_SECRET_KEY by adapters/mariadb/secrets.go. Events reference a secret by id and never
-- carry its value. key_id names the key that sealed the row (first bytes of its SHA-256), so a
-- wrong POSTHASTE_SECRET_KEY is reported as such. sealed = 12-byte nonce || ciphertext || tag;
-- the row's id and kind are the additional data, so a sealed value cannot be moved to another row.

-- +goose Up
CREATE TABLE secrets (
    id         VARCHAR(64)    NOT NULL,
    kind       VARCHAR(64)    NOT NULL,
    key_id     VARCHAR(16)    NOT NULL,
    sealed     VARBINARY(8192) NOT NULL,
    created_at DATETIME(6)    NOT NULL,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
