// Package submission owns the acceptance workflow of a message handed to Posthaste over SMTP
// (and later HTTP): who may submit (ports Authenticator and RateLimiter), whether the From
// domain belongs to the submitting server (port Domains), and the durable acceptance itself
// (port Acceptor: one body per submission and one message.queued per recipient, written in one
// transaction before the client is told "250").
//
// It speaks SMTP only through ReplyError (a reply code, an enhanced code and a text), which the
// protocol adapter (adapters/smtpin) maps to its library's error type. It must not know about
// sockets, TLS, go-smtp or any storage: those are adapters. It imports events, domain and the
// standard library only.
package submission
