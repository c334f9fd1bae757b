package submission

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"github.com/posthaste/posthaste/events"
)

// Principal is who submits: a credential of one mail server (the tenant).
type Principal struct {
	ServerID     string
	CredentialID string
	Hold         bool // the credential is set to hold: accepted mail is held, not delivered
}

// ErrBadCredentials is returned (wrapped or not) by Authenticator.AuthPlain for an unknown
// user, a wrong password or a revoked credential. The caller does not learn which.
var ErrBadCredentials = errors.New("submission: bad credentials")

// Authenticator identifies the submitting credential.
//
// Contract:
//   - AuthPlain checks an SMTP credential's user name and password (used for SASL PLAIN and
//     LOGIN alike). It returns the credential's principal, or an error matching
//     ErrBadCredentials when the pair does not match an active smtp credential. Any other error
//     is a failure to check (storage down) and becomes a temporary reply. It must take about
//     the same time whether or not the user exists.
//   - ByClientIP returns the principal of an active smtp-ip credential whose CIDR contains ip
//     (ok false when none does). When several match, the most specific prefix wins.
//   - Both are safe for concurrent use and never log passwords.
type Authenticator interface {
	AuthPlain(ctx context.Context, username, password string) (Principal, error)
	ByClientIP(ctx context.Context, ip netip.Addr) (p Principal, ok bool, err error)
}

// Domains answers domain questions about the tenancy model.
//
// Contract: IsVerifiedSenderDomain reports whether domain (lowercase, no trailing dot) is a
// domain of serverID that has passed verification (or was created with --skip-verification).
// An error means the answer is unknown (storage down): the submission is refused temporarily.
type Domains interface {
	IsVerifiedSenderDomain(ctx context.Context, serverID, domain string) (bool, error)
}

// Acceptance is what one accepted submission writes.
type Acceptance struct {
	SubmissionID string
	ServerID     string
	BodyID       string // under which Body is stored; equal to SubmissionID
	Body         []byte // the message exactly as it will be delivered (Message-ID added if missing)
	// Events: for every recipient a message.queued at version 1 of its own message stream, then
	// (when the credential holds) a message.held at version 2. All carry CorrelationID =
	// SubmissionID.
	Events []events.Envelope
	// PostalIDs are the Postal integer ids of message streams of Events (from
	// Submission.PostalIDs; the HTTP API's), recorded with ServerID; usually none. Each id and
	// each message stream must be new (a duplicate fails the whole acceptance).
	PostalIDs []PostalID
}

// Acceptor makes a submission durable.
//
// Contract: Accept stores Body under BodyID once, appends every envelope of Events (with
// their outbox rows) and records every id of PostalIDs in ONE transaction. When it returns
// nil, all of it is durable and the client may be told "250"; when it returns an error, none
// of it is (a later retry by the client is a new submission). Bodies are never published on
// the bus. Ids are fresh, so a version conflict, a duplicate BodyID or a Postal id already
// given is a bug reported as an error.
type Acceptor interface {
	Accept(ctx context.Context, a Acceptance) error
}

// RateLimiter counts failures (failed AUTH attempts) per key (a client IP or IPv6 /64).
//
// Contract: Blocked reports whether key reached its limit within the limiter's window, and
// for how long it stays blocked. Fail records one failure for key. Implementations may lose
// counts (an in-process map, Redis without persistence): a lost count lets an attempt
// through, never blocks a good client forever. Errors mean the counter store is unavailable;
// callers fail open for Blocked and log.
type RateLimiter interface {
	Blocked(ctx context.Context, key string) (blocked bool, retryAfter time.Duration, err error)
	Fail(ctx context.Context, key string) error
}

// HoldPolicy decides, per recipient, whether a new message is held instead of delivered.
//
// Contract: HoldReason returns the catalogue hold reason (events.HoldDevelopmentMode,
// HoldSuppressed, HoldSendLimit) and a human-readable detail, or "" to deliver. It may count
// the message against a send limit. An error means the rules could not be checked (storage
// down): the submission is refused temporarily and nothing is written.
type HoldPolicy interface {
	HoldReason(ctx context.Context, serverID, rcpt string) (reason, details string, err error)
}
