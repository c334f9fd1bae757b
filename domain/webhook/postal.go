package webhook

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"

	"github.com/posthaste/posthaste/domain/tenancy"
)

// Postal-format request headers.
const (
	HeaderPostalSignature    = "X-Postal-Signature"     // base64 RSA PKCS#1 v1.5 SHA-1 signature of the body
	HeaderPostalSignature256 = "X-Postal-Signature-256" // base64 RSA PKCS#1 v1.5 SHA-256 signature of the body
	HeaderPostalKID          = "X-Postal-Signature-KID" // the key id in /.well-known/jwks.json
)

// PostalKeySecretID is the secret-store id of the platform's RSA key that signs Postal-format
// requests (PKCS#8 DER).
const PostalKeySecretID = "webhook-postal-rsa-key"

// SecretKindPostalKey labels that key in the secret store.
const SecretKindPostalKey = "webhook_postal_rsa_key"

// PostalKey is the platform's signing key with its key id.
type PostalKey struct {
	Private *rsa.PrivateKey
	KID     string
}

// KeyID is the JWK thumbprint (RFC 7638, SHA-256, base64url) of an RSA public key.
func KeyID(pub *rsa.PublicKey) string {
	// RFC 7638: the required members in lexicographic order, no white space.
	canon := fmt.Sprintf(`{"e":"%s","kty":"RSA","n":"%s"}`, b64url(big.NewInt(int64(pub.E)).Bytes()), b64url(pub.N.Bytes()))
	sum := sha256.Sum256([]byte(canon))
	return b64url(sum[:])
}

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// LoadPostalKey returns the platform's Postal signing key, generating (RSA-2048, from r) and
// storing it on first use. Two processes racing to create it both end up with the stored one.
func LoadPostalKey(ctx context.Context, secrets Secrets, r io.Reader) (PostalKey, error) {
	der, err := secrets.GetSecret(ctx, PostalKeySecretID)
	if errors.Is(err, tenancy.ErrSecretNotFound) {
		k, gerr := rsa.GenerateKey(r, 2048)
		if gerr != nil {
			return PostalKey{}, fmt.Errorf("webhook: generate postal key: %w", gerr)
		}
		der, gerr = x509.MarshalPKCS8PrivateKey(k)
		if gerr != nil {
			return PostalKey{}, fmt.Errorf("webhook: encode postal key: %w", gerr)
		}
		if perr := secrets.PutSecret(ctx, PostalKeySecretID, SecretKindPostalKey, der); perr != nil {
			// Somebody else stored one first: use theirs.
			der, err = secrets.GetSecret(ctx, PostalKeySecretID)
		} else {
			err = nil
		}
	}
	if err != nil {
		return PostalKey{}, fmt.Errorf("webhook: load postal key: %w", err)
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return PostalKey{}, fmt.Errorf("webhook: parse postal key: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return PostalKey{}, errors.New("webhook: postal key is not RSA")
	}
	return PostalKey{Private: rk, KID: KeyID(&rk.PublicKey)}, nil
}

// SignPostal returns the X-Postal-Signature (SHA-1) and X-Postal-Signature-256 values for a body.
func SignPostal(k PostalKey, body []byte) (sig1, sig256 string, err error) {
	h1 := sha1.Sum(body)
	s1, err := rsa.SignPKCS1v15(nil, k.Private, crypto.SHA1, h1[:])
	if err != nil {
		return "", "", fmt.Errorf("webhook: postal signature: %w", err)
	}
	h2 := sha256.Sum256(body)
	s2, err := rsa.SignPKCS1v15(nil, k.Private, crypto.SHA256, h2[:])
	if err != nil {
		return "", "", fmt.Errorf("webhook: postal signature: %w", err)
	}
	return base64.StdEncoding.EncodeToString(s1), base64.StdEncoding.EncodeToString(s2), nil
}

// JWK is one public key as /.well-known/jwks.json serves it.
type JWK struct {
	KTY string `json:"kty"`
	KID string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
}

// JWKS returns the JSON Web Key Set publishing the public half of the key.
func JWKS(k PostalKey) []byte {
	pub := k.Private.PublicKey
	set := struct {
		Keys []JWK `json:"keys"`
	}{[]JWK{{KTY: "RSA", KID: k.KID, Use: "sig", Alg: "RS256", N: b64url(pub.N.Bytes()), E: b64url(big.NewInt(int64(pub.E)).Bytes())}}}
	b, _ := json.Marshal(set)
	return b
}
