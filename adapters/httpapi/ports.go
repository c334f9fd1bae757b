// Package httpapi is Posthaste's HTTP API: the Postal v1 compatible endpoints under /api/v1
// (X-Server-API-Key, Postal's request fields and {status,time,flags,data} answers) and the
// native API under /api/v2 (JSON, application/problem+json errors, cursor pages, an OpenAPI
// document at /api/v2/openapi.json). Sends honour Idempotency-Key (kept 24 h in the store).
//
// It owns routing, request decoding, authentication of API keys and admin tokens, per-key
// rate limits and response shapes. It must not hold business rules: acceptance goes through
// the submission handler, state changes through the domain handlers, all reached through the
// ports declared here. It never imports another adapter.
package httpapi

import (
	"context"
	"time"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/message"
	"github.com/posthaste/posthaste/domain/submission"
	"github.com/posthaste/posthaste/domain/suppression"
	"github.com/posthaste/posthaste/domain/tenancy"
	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections/messageview"
)

// Submitter accepts a message (submission.Handler).
type Submitter interface {
	Submit(ctx context.Context, s submission.Submission) (submission.Result, error)
}

// Tenancy is the part of the tenancy model the API reads and manages (tenancy.Handlers).
type Tenancy interface {
	CredentialByKeyHash(ctx context.Context, hash string) (tenancy.Credential, error)
	GetServer(ctx context.Context, ref tenancy.ServerRef) (tenancy.Server, error)
	DomainsOfServer(ctx context.Context, ref tenancy.ServerRef) ([]tenancy.SendingDomain, error)
	DomainDNSRecords(ctx context.Context, name string) (tenancy.SendingDomain, []tenancy.DNSRecord, error)
	CheckDomainDNS(ctx context.Context, c tenancy.CheckDomainDNS) (tenancy.DNSCheckResult, error)
	ListCredentials(ctx context.Context, ref tenancy.ServerRef) ([]tenancy.Credential, error)
	GetCredential(ctx context.Context, id string) (tenancy.Credential, error)
	CreateCredential(ctx context.Context, c tenancy.CreateCredential) (tenancy.NewCredential, error)
	RevokeCredential(ctx context.Context, c tenancy.RevokeCredential) (tenancy.Credential, error)
}

// Messages reads and changes message streams (message.Handler).
type Messages interface {
	Get(ctx context.Context, id string) (*message.Message, error)
	Release(ctx context.Context, id string, c domain.Cause) error
	CancelHold(ctx context.Context, id string, c domain.Cause) error
}

// Streams reads a stream's events (the event store): timelines and delivery attempts.
type Streams interface {
	ReadStream(ctx context.Context, streamType, streamID string, fromVersion int64) ([]events.Record, error)
}

// Bodies reads stored message bodies by body id.
type Bodies interface {
	Body(ctx context.Context, bodyID string) ([]byte, error)
}

// Suppressions manages a server's suppression list (suppression.Handler).
type Suppressions interface {
	Get(ctx context.Context, serverID, address string) (suppression.Entry, error)
	Add(ctx context.Context, serverID, address, reason, causedBy string, ttl time.Duration, c domain.Cause) error
	Remove(ctx context.Context, serverID, address, reason string, c domain.Cause) error
	List(ctx context.Context, serverID string, all bool) ([]suppression.Entry, error)
}

// Search lists messages of the read model with the operators' query syntax (messageview.Reader).
type Search interface {
	List(ctx context.Context, req messageview.ListRequest) (messageview.Page, error)
}

// Idempotent is a stored idempotency key: the hash of the first request and, once it
// finished, its response (Status 0 while it runs).
type Idempotent = submission.IdempotencyRecord

// Store keeps the API's own rows (sqlstore.API).
//
// Contract: NewPostalIDs gives n new, unique integer ids (increasing within a process, with
// gaps) and writes nothing: the caller makes them part of the acceptance
// (submission.Submission.PostalIDs), whose transaction records each id with its message and
// token, so an id is found by MessageByID exactly when its message was accepted. Reserve
// inserts a pending key atomically: of concurrent callers with one key exactly one gets
// reserved true.
type Store interface {
	NewPostalIDs(ctx context.Context, n int) ([]int64, error)
	MessageByID(ctx context.Context, serverID string, id int64) (messageID, token string, found bool, err error)
	IDOf(ctx context.Context, messageID string) (id int64, token string, found bool, err error)
	Reserve(ctx context.Context, serverID, key, hash string, now time.Time, ttl time.Duration) (Idempotent, bool, error)
	Lookup(ctx context.Context, serverID, key string) (Idempotent, bool, error)
	Complete(ctx context.Context, serverID, key string, status int, response []byte) error
	Release(ctx context.Context, serverID, key string) error
}
