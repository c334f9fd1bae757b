package tenancy

import (
	"context"
	"crypto/subtle"
	"fmt"

	"github.com/posthaste/posthaste/events"
)

// CredentialByKeyHash finds the api credential whose key hashes to hash (HashSecret of the
// key; revoked ones included: the caller checks Revoked). ErrNotFound when none. It scans every
// credential stream: only today's adapters/httpapi (through cmd/posthaste/http_api.go) still
// calls it, for a key the read model does not know yet; domain/platform's keyed
// AuthenticateAPIKey replaces it. Until the http branch lands: delete it then.
func (h *Handlers) CredentialByKeyHash(ctx context.Context, hash string) (Credential, error) {
	cs, err := foldStreams(ctx, h.d.Store, events.StreamCredential, "", func() *Credential { return &Credential{} })
	if err != nil {
		return Credential{}, err
	}
	for _, c := range cs {
		if c.Type == CredentialAPI && subtle.ConstantTimeCompare([]byte(c.Hash), []byte(hash)) == 1 {
			return *c, nil
		}
	}
	return Credential{}, fmt.Errorf("api credential %w", ErrNotFound)
}
