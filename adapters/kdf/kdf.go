// Package kdf implements tenancy.PasswordHasher with argon2id (RFC 9106), encoding hashes in the
// PHC string format: $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash> (raw base64).
//
// It owns user password hashing only. It must not log or return passwords; credential secrets
// (random SMTP passwords, API keys) are hashed by the domain with SHA-256 instead.
package kdf

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/argon2"

	"github.com/posthaste/posthaste/domain/tenancy"
)

// Params are argon2id cost parameters.
type Params struct {
	MemoryKiB uint32
	Passes    uint32
	Lanes     uint8
	SaltLen   int
	KeyLen    uint32
}

// DefaultParams follow RFC 9106's second recommended option scaled to a shared 2-core host:
// 64 MiB, 3 passes, 2 lanes (~100 ms).
var DefaultParams = Params{MemoryKiB: 64 * 1024, Passes: 3, Lanes: 2, SaltLen: 16, KeyLen: 32}

// Argon2id hashes passwords.
type Argon2id struct {
	p    Params
	rand io.Reader
}

var _ tenancy.PasswordHasher = (*Argon2id)(nil)

// New returns a hasher drawing salts from rnd (crypto/rand.Reader in production).
func New(p Params, rnd io.Reader) (*Argon2id, error) {
	if rnd == nil {
		return nil, errors.New("kdf: new: rand is nil")
	}
	if p.MemoryKiB < 8*uint32(p.Lanes) || p.Passes < 1 || p.Lanes < 1 || p.SaltLen < 8 || p.KeyLen < 16 {
		return nil, fmt.Errorf("kdf: new: weak or invalid parameters %+v", p)
	}
	return &Argon2id{p: p, rand: rnd}, nil
}

var b64 = base64.RawStdEncoding

// Hash returns the PHC-encoded argon2id hash of password with a fresh salt.
func (a *Argon2id) Hash(password string) (string, error) {
	salt := make([]byte, a.p.SaltLen)
	if _, err := io.ReadFull(a.rand, salt); err != nil {
		return "", fmt.Errorf("kdf: hash: salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, a.p.Passes, a.p.MemoryKiB, a.p.Lanes, a.p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, a.p.MemoryKiB, a.p.Passes, a.p.Lanes,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify recomputes the hash with the parameters and salt encoded in it and compares in
// constant time. A malformed hash is an error.
func (a *Argon2id) Verify(encoded, password string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return false, errors.New("kdf: verify: not an argon2id PHC string")
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false, fmt.Errorf("kdf: verify: unsupported version %q", parts[2])
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 {
		return false, fmt.Errorf("kdf: verify: bad parameters %q", parts[3])
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, errors.New("kdf: verify: bad salt encoding")
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, errors.New("kdf: verify: bad hash encoding")
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
