package dkimsign

import (
	"crypto"
	"crypto/x509"
	"fmt"
	"sync"

	"github.com/posthaste/posthaste/domain/tenancy"
	"github.com/posthaste/posthaste/events"
)

var _ tenancy.DKIMCrypto = (*Crypto)(nil)

// Crypto implements tenancy.DKIMCrypto: it parses the PKCS#8 private keys the domain selected
// and signs with them. Parsed keys are kept by secret id (a secret's bytes never change), so an
// RSA key is parsed once per process, not once per message. Safe for concurrent use.
type Crypto struct {
	mu     sync.Mutex
	parsed map[string]crypto.Signer // secret id -> parsed key
}

// NewCrypto returns a Crypto with an empty key cache.
func NewCrypto() *Crypto { return &Crypto{parsed: map[string]crypto.Signer{}} }

// Sign adds one DKIM-Signature per key (see tenancy.DKIMCrypto).
func (c *Crypto) Sign(keys []tenancy.KeyMaterial, body []byte) ([]byte, []events.DKIMSignature, error) {
	ks := make([]Key, 0, len(keys))
	for _, k := range keys {
		signer, err := c.signer(k)
		if err != nil {
			return nil, nil, err
		}
		ks = append(ks, Key{Domain: k.Domain, Selector: k.Selector, Signer: signer})
	}
	s, err := New(ks...)
	if err != nil {
		return nil, nil, err
	}
	return s.Sign(body)
}

// signer returns the parsed key of k, parsing it on first use.
func (c *Crypto) signer(k tenancy.KeyMaterial) (crypto.Signer, error) {
	c.mu.Lock()
	s, ok := c.parsed[k.SecretID]
	c.mu.Unlock()
	if ok && k.SecretID != "" {
		return s, nil
	}
	priv, err := x509.ParsePKCS8PrivateKey(k.Private)
	if err != nil {
		return nil, fmt.Errorf("dkim key %s of %s: %w", k.Selector, k.Domain, err)
	}
	s, ok = priv.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("dkim key %s of %s: not a signing key", k.Selector, k.Domain)
	}
	if k.SecretID != "" {
		c.mu.Lock()
		c.parsed[k.SecretID] = s
		c.mu.Unlock()
	}
	return s, nil
}
