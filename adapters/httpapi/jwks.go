package httpapi

import (
	"net/http"
	"sync"

	"github.com/posthaste/posthaste/domain/webhook"
)

// The JSON Web Key Set of the Postal-format webhook signing key, at /.well-known/jwks.json
// (GET and HEAD; any other method is not found, as before the API served it): receivers verify
// X-Postal-Signature-256 with it. The key is read once (Queries.PostalSigningKey makes and stores
// it the first time) and its document kept; a failed read answers 503 and is tried again on the
// next request.

func (a *API) routesJWKS() {
	var (
		mu   sync.Mutex
		body []byte
	)
	a.mux.HandleFunc("/.well-known/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		b := body
		mu.Unlock()
		if b == nil {
			k, err := a.app.Queries.PostalSigningKey(r.Context())
			if err != nil {
				a.log.Error("webhooks: loading the postal signing key for the JWKS failed", "error", err)
				http.Error(w, "signing key unavailable", http.StatusServiceUnavailable)
				return
			}
			b = webhook.JWKS(k)
			mu.Lock()
			body = b
			mu.Unlock()
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Write(b)
	})
}
