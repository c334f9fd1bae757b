package tenancy

import (
	"context"
	"errors"
	"net/netip"
)

// PasswordHasher turns user passwords into KDF hashes (argon2id in adapters/kdf).
//
// Contract: Hash returns a self-describing encoded hash (algorithm, parameters, salt) that
// Verify accepts; two hashes of one password differ (random salt). Verify reports whether the
// password matches, and returns an error only for a malformed hash.
type PasswordHasher interface {
	Hash(password string) (string, error)
	Verify(encodedHash, password string) (bool, error)
}

// ErrSecretNotFound is returned by SecretStore.GetSecret for an unknown id.
var ErrSecretNotFound = errors.New("secret not found")

// SecretStore keeps secrets (DKIM private keys, webhook secrets) encrypted at rest. Events refer
// to a secret by its id only.
//
// Contract: PutSecret stores value under a new id atomically (an existing id is an error and
// leaves the old value). GetSecret returns exactly the bytes put, or an error wrapping
// ErrSecretNotFound. DeleteSecret removes a secret; deleting an unknown id is not an error.
// Values are encrypted before they reach the database and never logged.
type SecretStore interface {
	PutSecret(ctx context.Context, id, kind string, value []byte) error
	GetSecret(ctx context.Context, id string) ([]byte, error)
	DeleteSecret(ctx context.Context, id string) error
}

// MX is one mail exchanger of a name.
type MX struct {
	Host       string // without the trailing dot, lowercase
	Preference uint16
}

// Resolver looks DNS records up (adapters/dnsresolver).
//
// Contract: a name that does not exist (NXDOMAIN) or has no record of the type (NODATA) gives
// an empty result and a nil error; only a failed lookup (timeout, SERVFAIL, refused) is an
// error. LookupTXT returns one string per TXT record, its character-strings concatenated.
// LookupCNAME returns the target without the trailing dot, or "" when the name has none.
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupCNAME(ctx context.Context, name string) (string, error)
	LookupMX(ctx context.Context, name string) ([]MX, error)
	LookupIP(ctx context.Context, name string) ([]netip.Addr, error)
}
