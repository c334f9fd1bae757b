// Package sqlsecrets is the tenancy.SecretStore over database/sql, shared by both backends
// (MariaDB in production, SQLite embedded): values sealed with AES-256-GCM under
// POSTHASTE_SECRET_KEY (a fresh random nonce per value, the row's id and kind as additional
// data) in the secrets table (schema in migrations/<dialect>). Plaintext never reaches the
// database or a log.
//
// It owns reading and writing the secrets table only. It must not import other adapters (the
// *sql.DB comes from cmd's wiring), must not log values, and only uses "?" placeholders; the one
// difference between the dialects (how created_at is written) is chosen by the dialect given to
// New.
package sqlsecrets

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/posthaste/posthaste/domain/tenancy"
	"github.com/posthaste/posthaste/migrations"
)

// Secrets is the tenancy.SecretStore on a MariaDB or SQLite database.
type Secrets struct {
	db      *sql.DB
	dialect string
	aead    cipher.AEAD
	keyID   string
	rand    io.Reader
	clock   func() time.Time
}

var _ tenancy.SecretStore = (*Secrets)(nil)

// New seals with key (32 bytes) in db, whose dialect is migrations.DialectMySQL or
// migrations.DialectSQLite, drawing nonces from rnd (crypto/rand.Reader in production) and
// stamping rows with clock.
func New(db *sql.DB, dialect string, key []byte, rnd io.Reader, clock func() time.Time) (*Secrets, error) {
	if db == nil || rnd == nil || clock == nil {
		return nil, errors.New("sqlsecrets: new: db, rand and clock are required")
	}
	if dialect != migrations.DialectMySQL && dialect != migrations.DialectSQLite {
		return nil, fmt.Errorf("sqlsecrets: new: unknown database dialect %q (want %q or %q)", dialect, migrations.DialectMySQL, migrations.DialectSQLite)
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("sqlsecrets: new: key is %d bytes, want 32 (AES-256)", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("sqlsecrets: new: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("sqlsecrets: new: %w", err)
	}
	sum := sha256.Sum256(key)
	return &Secrets{db: db, dialect: dialect, aead: aead, keyID: hex.EncodeToString(sum[:4]), rand: rnd, clock: clock}, nil
}

func aad(id, kind string) []byte { return []byte(id + "\x00" + kind) }

// createdAt is the row's created_at in the dialect's column type: DATETIME(6) on MariaDB, ISO
// 8601 TEXT with microseconds on SQLite.
func (s *Secrets) createdAt() any {
	now := s.clock().UTC().Truncate(time.Microsecond)
	if s.dialect == migrations.DialectSQLite {
		return now.Format("2006-01-02T15:04:05.000000Z")
	}
	return now
}

// PutSecret seals value and inserts it; an existing id is an error and keeps its value.
func (s *Secrets) PutSecret(ctx context.Context, id, kind string, value []byte) error {
	if id == "" || kind == "" {
		return errors.New("sqlsecrets: put secret: id and kind are required")
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := io.ReadFull(s.rand, nonce); err != nil {
		return fmt.Errorf("sqlsecrets: put secret: nonce: %w", err)
	}
	sealed := s.aead.Seal(nonce, nonce, value, aad(id, kind))
	_, err := s.db.ExecContext(ctx, `INSERT INTO secrets (id, kind, key_id, sealed, created_at) VALUES (?, ?, ?, ?, ?)`,
		id, kind, s.keyID, sealed, s.createdAt())
	if err != nil {
		return fmt.Errorf("sqlsecrets: put secret %s: %w", id, err)
	}
	return nil
}

// GetSecret opens a secret; tenancy.ErrSecretNotFound for an unknown id, an error naming the
// key mismatch when it was sealed under another POSTHASTE_SECRET_KEY.
func (s *Secrets) GetSecret(ctx context.Context, id string) ([]byte, error) {
	var kind, keyID string
	var sealed []byte
	err := s.db.QueryRowContext(ctx, `SELECT kind, key_id, sealed FROM secrets WHERE id = ?`, id).Scan(&kind, &keyID, &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlsecrets: get secret %s: %w", id, tenancy.ErrSecretNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlsecrets: get secret %s: %w", id, err)
	}
	if keyID != s.keyID {
		return nil, fmt.Errorf("sqlsecrets: get secret %s: sealed with another POSTHASTE_SECRET_KEY (key id %s, configured %s)", id, keyID, s.keyID)
	}
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return nil, fmt.Errorf("sqlsecrets: get secret %s: sealed value is truncated", id)
	}
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], aad(id, kind))
	if err != nil {
		return nil, fmt.Errorf("sqlsecrets: get secret %s: cannot decrypt (tampered or wrong key)", id)
	}
	return plain, nil
}

// DeleteSecret removes a secret; an unknown id is not an error.
func (s *Secrets) DeleteSecret(ctx context.Context, id string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM secrets WHERE id = ?`, id); err != nil {
		return fmt.Errorf("sqlsecrets: delete secret %s: %w", id, err)
	}
	return nil
}
