package submission

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
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
	// Rows are the caller's own records that must exist exactly when the submission does (the
	// HTTP API's Postal integer message ids), from Submission.Extra; usually none.
	Rows []Row
}

// Row is one record a caller adds to an acceptance: a row of the caller's own table in the
// store the Acceptor writes to. Table and Columns are plain identifiers ([a-z_][a-z0-9_]*);
// Values has one value per column, each a string, []byte, int64, int, bool or nil. The row is
// inserted as it is: its key must be new (a duplicate fails the whole acceptance).
type Row struct {
	Table   string
	Columns []string
	Values  []any
}

// Acceptor makes a submission durable.
//
// Contract: Accept stores Body under BodyID once, appends every envelope of Events (with
// their outbox rows) and inserts every row of Rows in ONE transaction. When it returns nil,
// all of it is durable and the client may be told "250"; when it returns an error, none of it
// is (a later retry by the client is a new submission). Bodies are never published on the bus.
// Ids are fresh, so a version conflict or a duplicate BodyID is a bug reported as an error; a
// row that cannot be inserted (unknown table, duplicate key) is an error too.
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

// RowGroup is a run of Rows with the same table and columns, to insert in one statement.
type RowGroup struct {
	Table   string
	Columns []string
	Values  [][]any
}

// GroupRows checks rows against the Row contract (plain identifiers, one value per column)
// and groups consecutive rows of the same table and columns, in order, for the stores.
func GroupRows(rows []Row) ([]RowGroup, error) {
	var out []RowGroup
	for _, r := range rows {
		if !plainIdent(r.Table) || len(r.Columns) == 0 {
			return nil, fmt.Errorf("submission: extra row: bad table %q or no columns", r.Table)
		}
		for _, c := range r.Columns {
			if !plainIdent(c) {
				return nil, fmt.Errorf("submission: extra row of %s: bad column %q", r.Table, c)
			}
		}
		if len(r.Values) != len(r.Columns) {
			return nil, fmt.Errorf("submission: extra row of %s: %d values for %d columns", r.Table, len(r.Values), len(r.Columns))
		}
		if n := len(out); n > 0 && out[n-1].Table == r.Table && slices.Equal(out[n-1].Columns, r.Columns) {
			out[n-1].Values = append(out[n-1].Values, r.Values)
			continue
		}
		out = append(out, RowGroup{Table: r.Table, Columns: r.Columns, Values: [][]any{r.Values}})
	}
	return out, nil
}

// plainIdent reports whether s is [a-z_][a-z0-9_]* of at most 64 bytes.
func plainIdent(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9' {
			continue
		}
		return false
	}
	return true
}
