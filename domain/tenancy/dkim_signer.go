package tenancy

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/posthaste/posthaste/events"
)

// KeyMaterial is one DKIM private key chosen to sign a message: the d= domain, the s= selector,
// the algorithm, and the private key exactly as GenerateDKIMKey made it (PKCS#8 DER) and the
// secret store keeps it.
type KeyMaterial struct {
	Domain    string
	Selector  string
	Algorithm string // AlgRSASHA256 or AlgEd25519SHA256
	SecretID  string // where the private key is kept: a stable name for it (its bytes never change)
	Private   []byte
}

// DKIMCrypto parses DKIM private keys and signs with them (adapters/dkimsign).
//
// Contract: Sign returns the message with one DKIM-Signature field per key added (the first key's
// topmost) and the descriptions of the signatures made, for message.signed; it does not change
// body in place. A key it cannot parse or use (malformed DER, an unsupported type, an RSA key
// under 1024 bits) is an error and nothing is signed. It is safe for concurrent use and may keep
// parsed keys by SecretID. It never logs or returns key bytes.
type DKIMCrypto interface {
	Sign(keys []KeyMaterial, body []byte) ([]byte, []events.DKIMSignature, error)
}

// DKIMKeyCacheTTL is how long the signer trusts the keys it chose for a (server, From domain)
// without reading the domain's stream and the secrets again: a rotation takes effect within it.
const DKIMKeyCacheTTL = time.Minute

// DKIMSigner is the DKIM key selection policy of outgoing mail (delivery.Signer): a message is
// signed with the active keys (one per algorithm) of its From domain when that domain is a sending
// domain of the message's server, and is left unsigned otherwise (a domain of another server, an
// unknown or malformed domain). Pending and retired keys never sign. The chosen keys are cached
// for DKIMKeyCacheTTL per (server, domain); signing itself is the DKIMCrypto port's.
type DKIMSigner struct {
	h      *Handlers
	crypto DKIMCrypto
	ttl    time.Duration

	mu    sync.Mutex
	cache map[string]chosenKeys
}

type chosenKeys struct {
	keys []KeyMaterial
	at   time.Time
}

// maxCachedDomains bounds the cache; beyond it the cache starts over.
const maxCachedDomains = 10_000

// NewDKIMSigner refuses missing parts: the handlers need a secret store (the private keys).
func NewDKIMSigner(h *Handlers, crypto DKIMCrypto) (*DKIMSigner, error) {
	var errs []error
	if h == nil {
		errs = append(errs, errors.New("handlers are nil"))
	} else if h.d.Secrets == nil {
		errs = append(errs, errors.New("handlers have no secret store"))
	}
	if crypto == nil {
		errs = append(errs, errors.New("dkim crypto is nil"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("tenancy: new dkim signer: %w", err)
	}
	return &DKIMSigner{h: h, crypto: crypto, ttl: DKIMKeyCacheTTL, cache: map[string]chosenKeys{}}, nil
}

// SetCacheTTL changes how long chosen keys are trusted (0: read them every time). Call it before use.
func (s *DKIMSigner) SetCacheTTL(d time.Duration) { s.ttl = d }

// Sign signs body with the keys SigningKeys chooses; without keys it returns body unchanged and
// no signature.
func (s *DKIMSigner) Sign(ctx context.Context, serverID, fromDomain string, body []byte) ([]byte, []events.DKIMSignature, error) {
	keys, err := s.SigningKeys(ctx, serverID, fromDomain)
	if err != nil || len(keys) == 0 {
		return body, nil, err
	}
	return s.crypto.Sign(keys, body)
}

// SigningKeys returns the keys that sign mail of serverID From fromDomain: the domain's active
// keys (in the order the domain lists them) with their private bytes, or none when
// the domain is not a sending domain of that server. A failed read of the domain or of a secret
// is an error (the attempt is retried later), never an unsigned message.
func (s *DKIMSigner) SigningKeys(ctx context.Context, serverID, fromDomain string) ([]KeyMaterial, error) {
	k := serverID + "|" + fromDomain
	now := s.h.d.Clock()
	if s.ttl > 0 {
		s.mu.Lock()
		c, ok := s.cache[k]
		s.mu.Unlock()
		if ok && now.Sub(c.at) < s.ttl {
			return c.keys, nil
		}
	}
	dom, err := s.h.GetDomain(ctx, fromDomain)
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalid) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var keys []KeyMaterial
	if dom.ServerID == serverID {
		for _, pk := range dom.SigningKeys() {
			der, err := s.h.d.Secrets.GetSecret(ctx, pk.SecretID)
			if err != nil {
				return nil, fmt.Errorf("dkim key %s of %s: %w", pk.Selector, dom.Name, err)
			}
			keys = append(keys, KeyMaterial{Domain: dom.Name, Selector: pk.Selector, Algorithm: pk.Algorithm, SecretID: pk.SecretID, Private: der})
		}
	}
	if s.ttl > 0 {
		s.mu.Lock()
		if len(s.cache) >= maxCachedDomains {
			s.cache = map[string]chosenKeys{}
		}
		s.cache[k] = chosenKeys{keys: keys, at: now}
		s.mu.Unlock()
	}
	return keys, nil
}
