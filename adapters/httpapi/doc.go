// Package httpapi is Posthaste's HTTP edge: the Postal v1 compatible endpoints under /api/v1
// (X-Server-API-Key, Postal's request fields and {status,time,flags,data} answers), the native
// API under /api/v2 (JSON, application/problem+json errors, cursor pages, an OpenAPI document at
// /api/v2/openapi.json, the event feed GET /api/v2/events), and the operational endpoints of the
// web role (/livez, /readyz, /metrics, /.well-known/jwks.json). Sends honour Idempotency-Key
// (kept 24 h in the store).
//
// It owns routing, request decoding and validation of fields, API key caching, the admin
// token, per-key rate limits, Postal integer ids and idempotency keys, and response shapes. It
// must not hold business rules: every command and query, authentication of API keys and the
// scope of each caller included, is the application's (domain/platform), called with the
// request's platform.Caller. It never imports another adapter.
package httpapi
