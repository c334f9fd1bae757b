package sqlstore

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
)

// Secrets is the tenancy.SecretStore in the store's secrets table: values sealed with
// AES-256-GCM under POSTHASTE_SECRET_KEY (a fresh random nonce per value, the row's id and
// kind as additional data). Plaintext never reaches the database or a log.
type Secrets struct {
	s     *Store
	aead  cipher.AEAD
	keyID string
	rand  io.Reader
	clock func() time.Time
}

var _ tenancy.SecretStore = (*Secrets)(nil)

// Secrets seals with key (32 bytes), drawing nonces from rnd (crypto/rand.Reader in
// production) and stamping rows with clock. It refuses a nil store, rand or clock and a key of
// another length, naming every problem.
func (s *Store) Secrets(key []byte, rnd io.Reader, clock func() time.Time) (*Secrets, error) {
	var errs []error
	if s == nil {
		errs = append(errs, errors.New("store is nil"))
	}
	if rnd == nil {
		errs = append(errs, errors.New("rand is nil"))
	}
	if clock == nil {
		errs = append(errs, errors.New("clock is nil"))
	}
	if len(key) != 32 {
		errs = append(errs, fmt.Errorf("key is %d bytes, want 32 (AES-256)", len(key)))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("sqlstore: secrets: %w", errors.Join(errs...))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: secrets: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: secrets: %w", err)
	}
	sum := sha256.Sum256(key)
	return &Secrets{s: s, aead: aead, keyID: hex.EncodeToString(sum[:4]), rand: rnd, clock: clock}, nil
}

func secretAAD(id, kind string) []byte { return []byte(id + "\x00" + kind) }

// PutSecret seals value and inserts it; an existing id is an error and keeps its value.
func (x *Secrets) PutSecret(ctx context.Context, id, kind string, value []byte) error {
	if id == "" || kind == "" {
		return errors.New("sqlstore: put secret: id and kind are required")
	}
	nonce := make([]byte, x.aead.NonceSize())
	if _, err := io.ReadFull(x.rand, nonce); err != nil {
		return fmt.Errorf("sqlstore: put secret: nonce: %w", err)
	}
	sealed := x.aead.Seal(nonce, nonce, value, secretAAD(id, kind))
	_, err := x.s.w.ExecContext(ctx, `INSERT INTO secrets (id, kind, key_id, sealed, created_at) VALUES (?, ?, ?, ?, ?)`,
		id, kind, x.keyID, sealed, x.s.d.storedTime(x.clock()))
	if err != nil {
		return fmt.Errorf("sqlstore: put secret %s: %w", id, err)
	}
	return nil
}

// GetSecret opens a secret; tenancy.ErrSecretNotFound for an unknown id, an error naming the
// key mismatch when it was sealed under another POSTHASTE_SECRET_KEY.
func (x *Secrets) GetSecret(ctx context.Context, id string) ([]byte, error) {
	var kind, keyID string
	var sealed []byte
	err := x.s.w.QueryRowContext(ctx, `SELECT kind, key_id, sealed FROM secrets WHERE id = ?`, id).Scan(&kind, &keyID, &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlstore: get secret %s: %w", id, tenancy.ErrSecretNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: get secret %s: %w", id, err)
	}
	if keyID != x.keyID {
		return nil, fmt.Errorf("sqlstore: get secret %s: sealed with another POSTHASTE_SECRET_KEY (key id %s, configured %s)", id, keyID, x.keyID)
	}
	n := x.aead.NonceSize()
	if len(sealed) < n {
		return nil, fmt.Errorf("sqlstore: get secret %s: sealed value is truncated", id)
	}
	plain, err := x.aead.Open(nil, sealed[:n], sealed[n:], secretAAD(id, kind))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: get secret %s: cannot decrypt (tampered or wrong key)", id)
	}
	return plain, nil
}

// DeleteSecret removes a secret; an unknown id is not an error.
func (x *Secrets) DeleteSecret(ctx context.Context, id string) error {
	if _, err := x.s.w.ExecContext(ctx, `DELETE FROM secrets WHERE id = ?`, id); err != nil {
		return fmt.Errorf("sqlstore: delete secret %s: %w", id, err)
	}
	return nil
}
