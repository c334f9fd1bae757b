package tenancy

import (
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"time"

	"github.com/posthaste/posthaste/events"
)

// DKIM algorithms (RFC 6376, RFC 8463).
const (
	AlgRSASHA256     = "rsa-sha256"
	AlgEd25519SHA256 = "ed25519-sha256"
)

// RSAKeyBits is the size of generated RSA DKIM keys.
const RSAKeyBits = 2048

// SecretKindDKIM labels DKIM private keys in the secret store.
const SecretKindDKIM = "dkim_private_key"

// GeneratedKey is a new DKIM key: the public half for events, the private half (PKCS#8 DER) for
// the secret store only.
type GeneratedKey struct {
	Public  events.DKIMKey
	Private []byte
}

// GenerateDKIMKey makes a key of alg under selector, drawing randomness from rnd. secretID is
// where the private key will be stored.
func GenerateDKIMKey(rnd io.Reader, alg, selector, secretID string) (GeneratedKey, error) {
	var (
		priv any
		pub  string
		bits int
	)
	switch alg {
	case AlgRSASHA256:
		k, err := rsa.GenerateKey(rnd, RSAKeyBits)
		if err != nil {
			return GeneratedKey{}, fmt.Errorf("generate rsa dkim key: %w", err)
		}
		der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
		if err != nil {
			return GeneratedKey{}, fmt.Errorf("encode rsa dkim public key: %w", err)
		}
		priv, pub, bits = k, base64.StdEncoding.EncodeToString(der), RSAKeyBits
	case AlgEd25519SHA256:
		p, k, err := ed25519.GenerateKey(rnd)
		if err != nil {
			return GeneratedKey{}, fmt.Errorf("generate ed25519 dkim key: %w", err)
		}
		priv, pub = k, base64.StdEncoding.EncodeToString(p) // RFC 8463: the raw 32-byte key
	default:
		return GeneratedKey{}, fmt.Errorf("%w: dkim algorithm %q", ErrInvalid, alg)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return GeneratedKey{}, fmt.Errorf("encode dkim private key: %w", err)
	}
	return GeneratedKey{
		Public:  events.DKIMKey{Selector: selector, Algorithm: alg, Bits: bits, PublicKey: pub, SecretID: secretID},
		Private: der,
	}, nil
}

// keyTag is the DKIM k= value of an algorithm.
func keyTag(alg string) string {
	if alg == AlgEd25519SHA256 {
		return "ed25519"
	}
	return "rsa"
}

// newSelector names a key: "ph" + the UTC date + r (RSA) or e (Ed25519), with a counter when a
// key of that name exists already (a second rotation the same day).
func newSelector(now time.Time, alg string, existing []DomainKey) string {
	base := "ph" + now.UTC().Format("20060102") + keyTag(alg)[:1]
	taken := map[string]bool{}
	for _, k := range existing {
		taken[k.Selector] = true
	}
	s := base
	for i := 2; taken[s]; i++ {
		s = fmt.Sprintf("%s%d", base, i)
	}
	return s
}
