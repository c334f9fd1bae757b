// Package webhook owns webhook subscriptions and everything about a webhook request that is a
// pure rule: the subscription aggregate (stream "webhook", one per subscription, server_id the
// tenant) and its commands (create, update, disable, rotate secret), the secrets (whsec_…,
// kept in a SecretStore, shown once), the payload each catalogue event becomes (Standard
// Webhooks JSON or Postal's format), Standard Webhooks signing, Postal RSA signing and its JWKS,
// the retry schedule and the target-address policy.
//
// It imports events, domain and the standard library. It performs no HTTP: the sender lives in
// adapters/webhooksender, driven by the projection in projections/webhookqueue.
package webhook
