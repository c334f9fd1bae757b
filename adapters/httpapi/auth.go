package httpapi

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/posthaste/posthaste/domain/platform"
	"github.com/posthaste/posthaste/domain/tenancy"
)

// Authentication: an API key is checked by the application (Queries.AuthenticateAPIKey, a
// bounded lookup) and the caller it gives is trusted for KeyCacheTTL; the admin token is
// compared here and gives the operator api:admin.

// principal is who calls and on which server.
type principal struct {
	caller   platform.Caller
	ServerID string // the server the call acts on ("" for an admin call naming none)
	Admin    bool
	key      string // rate-limit key
}

// keyEntry is a checked API key: its caller, trusted until.
type keyEntry struct {
	caller platform.Caller
	until  time.Time
}

var (
	errNoKey  = errors.New("no api key")
	errBadKey = errors.New("invalid api key") // unknown, revoked or not an api key
)

// authKey resolves an API key to its caller (cached for KeyCacheTTL): one hash and one map read
// while the key is cached.
func (a *API) authKey(ctx context.Context, key string) (principal, error) {
	if key == "" {
		return principal{}, errNoKey
	}
	hash := tenancy.HashSecret(key)
	now := a.cfg.Clock()
	if e, ok := a.keys.Load(hash); ok && now.Before(e.(keyEntry).until) {
		return keyPrincipal(e.(keyEntry).caller), nil
	}
	caller, err := a.app.Queries.AuthenticateAPIKey(ctx, key)
	if errors.Is(err, platform.ErrBadCredentials) {
		a.keys.Delete(hash) // revoked since it was cached
		return principal{}, errBadKey
	}
	if err != nil {
		return principal{}, fmt.Errorf("httpapi: check key: %w", err)
	}
	a.keys.Store(hash, keyEntry{caller: caller, until: now.Add(a.cfg.KeyCacheTTL)})
	return keyPrincipal(caller), nil
}

func keyPrincipal(c platform.Caller) principal {
	return principal{caller: c, ServerID: c.ServerID(), key: "k:" + c.Principal().CredentialID}
}

// forgetCredential drops the cached keys of a credential: a key revoked through this API stops
// working at once on this node.
func (a *API) forgetCredential(id string) {
	a.keys.Range(func(k, v any) bool {
		if v.(keyEntry).caller.Principal().CredentialID == id {
			a.keys.Delete(k)
		}
		return true
	})
}

// isAdmin compares a bearer token with the admin token in constant time.
func (a *API) isAdmin(token string) bool {
	return a.cfg.AdminToken != "" && token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(a.cfg.AdminToken)) == 1
}
