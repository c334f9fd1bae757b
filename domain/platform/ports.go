package platform

import (
	"context"
	"time"

	"github.com/posthaste/posthaste/domain/delivery"
	"github.com/posthaste/posthaste/domain/inbound"
	"github.com/posthaste/posthaste/domain/message"
	"github.com/posthaste/posthaste/domain/tenancy"
	"github.com/posthaste/posthaste/domain/webhook"
	"github.com/posthaste/posthaste/events"
)

// The ports the application declares itself; the others are the domain packages' own
// (domain.EventStore, submission.Acceptor, tenancy.SecretStore, delivery.Sender, ...).

// Transcripts keeps the SMTP transcripts of delivery attempts.
//
// Contract: SaveTranscript (delivery.Transcripts) stores one attempt's transcript and returns its
// id; Transcript returns the text stored under an id, or an error. A store that is also the event
// store may implement delivery.AttemptRecorder (the transcript and the attempt's events in one
// transaction): the application keeps that ability.
type Transcripts interface {
	delivery.Transcripts
	Transcript(ctx context.Context, id string) (string, error)
}

// DeliveryQueue is the delivery queue read model with its claims: what the delivery worker
// polls (delivery.Queue) and what the hold expiry lists (message.ExpiredHolds).
type DeliveryQueue interface {
	delivery.Queue
	message.ExpiredHolds
}

// ReadModel is the read side of one projection: its rows reflect every event at or below its
// horizon (and possibly some above it).
//
// Contract: Horizon returns the position at and below which every event of the log has been
// applied to the model (0 when none has: a model never built, or no projector running). It is
// read in one statement (today: projection_positions.position of the projection) and may lag the
// log by any amount; the application reads the log tail past it (freshness.go).
type ReadModel interface {
	Horizon(ctx context.Context) (int64, error)
}

// CredentialIndex is the credentials read model (projections/tenancyview): the rows the hot
// authentication paths start from.
//
// Contract: CredentialByUsername returns the smtp credential row of a user name (exact match;
// user names are lower case) and CredentialByKeyHash the row whose secret hash is hash, revoked
// ones included (ok false when there is none); each is one indexed read. ActiveCredentials
// returns every non-revoked row of a credential type (smtp-ip: ranges are matched in memory).
// Rows may lack the times (CreatedAt, RevokedAt). The rows lag the log: the application reads
// the credential's own stream for its state, and the tail past Horizon for one created a moment ago.
type CredentialIndex interface {
	ReadModel
	CredentialByUsername(ctx context.Context, username string) (tenancy.Credential, bool, error)
	CredentialByKeyHash(ctx context.Context, hash string) (tenancy.Credential, bool, error)
	ActiveCredentials(ctx context.Context, typ string) ([]tenancy.Credential, error)
}

// MessageQuery selects a page of one server's messages from the message view.
type MessageQuery struct {
	ServerID string   // set by the application from the caller's scope
	Query    string   // the operators' search syntax (to: from: status: tag: msgid: subject: before: after: words)
	Status   []string // when set, replaces the status: terms of Query
	Limit    int      // 1..1000; 0 = 50
	Cursor   string   // continue after the page that returned it ("" = first page)
	Oldest   bool     // oldest first (default newest first)
}

// MessagePage is one page of a listing; Next is "" on the last page.
type MessagePage struct {
	Messages []message.Summary
	Next     string
}

// MessageView is the message view read model (projections/messageview).
//
// Contract:
//   - ListMessages returns one page of MessageQuery; a Query or Cursor that does not parse is an
//     error wrapping ErrInvalid that names the term.
//   - MessageDetail returns the message's row, timeline and attempts (ok false when the view has
//     no row for it yet).
//   - MessagesOfRecipient returns the ids of the messages to an address (case-insensitive) of one
//     server ("" = any), oldest first, at most limit.
//   - ByMessageID is inbound.MessageIndex (the MX intake's Message-ID fallback).
//
// The rows lag the log by the projection's lag (Horizon).
type MessageView interface {
	ReadModel
	inbound.MessageIndex
	ListMessages(ctx context.Context, q MessageQuery) (MessagePage, error)
	MessageDetail(ctx context.Context, id string) (message.Detail, bool, error)
	MessagesOfRecipient(ctx context.Context, rcpt, serverID string, limit int) ([]string, error)
}

// StatsReports builds delivery analytics from the message_stats read model (projections/stats).
//
// Contract: Report sums the hourly rows of req.ServerID in [From, To) into buckets of a day (in
// Zone) or an hour, with the totals and the top recipient domains; an empty range gives zeros.
type StatsReports interface {
	Report(ctx context.Context, req StatsRequest) (StatsReport, error)
}

// WebhookDeliveries is the webhook delivery queue (projections/webhookqueue).
//
// Contract:
//   - Deliveries lists a subscription's deliveries, oldest event first, each with its attempts
//     (one snapshot), at most limit.
//   - Redeliver makes a delivery due again at now, whatever its status, keeping its webhook-id;
//     an unknown id is an error wrapping webhook.ErrNotFound.
//   - Enqueue makes each event due for a subscription at now, creating its delivery or setting
//     an existing one pending again (same webhook-id), and returns the delivery ids in order.
//     Events must carry their server.
type WebhookDeliveries interface {
	Deliveries(ctx context.Context, webhookID string, limit int) ([]webhook.Delivery, error)
	Redeliver(ctx context.Context, deliveryID string, now time.Time) (webhook.Delivery, error)
	Enqueue(ctx context.Context, webhookID string, envs []events.Envelope, now time.Time) ([]string, error)
}
