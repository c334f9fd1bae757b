package tenancy

import (
	"context"
	"crypto/subtle"
	"fmt"

	"github.com/posthaste/posthaste/events"
)

// CredentialByKeyHash finds the api credential whose key hashes to hash (HashSecret of the
// key; revoked ones included: the caller checks Revoked). ErrNotFound when none. Like the
// other lookups it reads the credential streams directly, so a key works the moment it is
// created.
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
