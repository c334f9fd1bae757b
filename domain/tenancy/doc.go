// Package tenancy owns the configuration model of Posthaste: organizations, mail servers, users,
// sending domains (DKIM keys, DNS records and their verification) and credentials.
//
// Every change is a configuration event of the catalogue (events/config.go), decided by an
// aggregate from its own stream and appended with optimistic concurrency: uniqueness comes from
// the store's unique (stream, version) key, so name-keyed streams (org "acme", server
// "acme/billing", domain "example.com", user "ops@example.com") make a second create a conflict
// at version 1, reported as ErrAlreadyExists.
//
// Command handlers read their own writes from the event streams, never from projections.
// The package imports only events, domain and the standard library: password hashing (a KDF),
// secrets at rest and DNS lookups are ports implemented by adapters. It must never put a
// secret (password, API key, private key) into an event: events carry hashes and secret ids.
package tenancy
