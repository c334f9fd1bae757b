package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/posthaste/posthaste/domain/inbound"
	"github.com/posthaste/posthaste/domain/message"
	"github.com/posthaste/posthaste/domain/platform"
	"github.com/posthaste/posthaste/domain/tenancy"
	"github.com/posthaste/posthaste/domain/webhook"
	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections/messageview"
	"github.com/posthaste/posthaste/projections/stats"
	"github.com/posthaste/posthaste/projections/tenancyview"
	"github.com/posthaste/posthaste/projections/webhookqueue"
)

// The application's read-model ports (domain/platform) over the read models' readers. The
// projections cannot know the domain's types, nor the domain the projections': these adapters
// map one onto the other, field by field, and add each model's horizon (freshness rule).

var (
	_ platform.CredentialIndex   = CredentialIndex{}
	_ platform.MessageView       = (*MessageView)(nil)
	_ platform.StatsReports      = StatsReports{}
	_ platform.WebhookDeliveries = (*WebhookDeliveries)(nil)
)

// CredentialIndex is platform.CredentialIndex over projections/tenancyview.
type CredentialIndex struct{ db *sql.DB }

// NewCredentialIndex serves credential lookups from the tenancy read model in db.
func NewCredentialIndex(db *sql.DB) (CredentialIndex, error) {
	if db == nil {
		return CredentialIndex{}, errors.New("sqlstore: credential index: nil database")
	}
	return CredentialIndex{db: db}, nil
}

func fromCredentialRow(c tenancyview.Credential) tenancy.Credential {
	return tenancy.Credential{ID: c.ID, ServerID: c.ServerID, Type: c.Type, Name: c.Name, Username: c.Username,
		Hash: c.Hash, KeyPrefix: c.KeyPrefix, CIDR: c.CIDR, Hold: c.Hold, Revoked: c.Revoked}
}

// Horizon is the tenancy projection's horizon.
func (x CredentialIndex) Horizon(ctx context.Context) (int64, error) {
	return Horizon(ctx, x.db, tenancyview.Name)
}

// CredentialByUsername reads one row by user name.
func (x CredentialIndex) CredentialByUsername(ctx context.Context, username string) (tenancy.Credential, bool, error) {
	c, ok, err := tenancyview.CredentialByUsername(ctx, x.db, username)
	return fromCredentialRow(c), ok, err
}

// CredentialByKeyHash reads one row by secret hash.
func (x CredentialIndex) CredentialByKeyHash(ctx context.Context, hash string) (tenancy.Credential, bool, error) {
	c, ok, err := tenancyview.CredentialByHash(ctx, x.db, hash)
	return fromCredentialRow(c), ok, err
}

// ActiveCredentials lists the non-revoked rows of a type.
func (x CredentialIndex) ActiveCredentials(ctx context.Context, typ string) ([]tenancy.Credential, error) {
	cs, err := tenancyview.ActiveCredentials(ctx, x.db, typ)
	out := make([]tenancy.Credential, len(cs))
	for i, c := range cs {
		out[i] = fromCredentialRow(c)
	}
	return out, err
}

// MessageView is platform.MessageView over projections/messageview.
type MessageView struct {
	db *sql.DB
	r  *messageview.Reader
}

// NewMessageView serves message listings and details from the message view in db.
func NewMessageView(db *sql.DB) (*MessageView, error) {
	r, err := messageview.NewReader(db)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: message view: %w", err)
	}
	return &MessageView{db: db, r: r}, nil
}

// Horizon is the message view's horizon.
func (v *MessageView) Horizon(ctx context.Context) (int64, error) {
	return Horizon(ctx, v.db, messageview.Name)
}

func toSummary(m messageview.Message) message.Summary {
	return message.Summary{ID: m.ID, ServerID: m.Server, Status: message.Status(m.Status), RcptTo: m.RcptTo, MailFrom: m.MailFrom,
		HeaderFrom: m.HeaderFrom, Subject: m.Subject, Tag: m.Tag, MessageIDHeader: m.MessageID, Size: m.Size, SubmissionID: m.SubmissionID,
		QueuedAt: m.QueuedAt, LastEventAt: m.LastEventAt, Attempts: m.Attempts, LastReplyCode: m.LastReplyCode, LastReply: m.LastReply,
		BounceReason: m.BounceReason, BounceClass: m.BounceClass, HoldReason: m.HoldReason}
}

// ListMessages returns one page of a server's messages.
func (v *MessageView) ListMessages(ctx context.Context, q platform.MessageQuery) (platform.MessagePage, error) {
	query, err := messageview.ParseQuery(q.Query)
	if err != nil {
		return platform.MessagePage{}, fmt.Errorf("%w: query: %v", platform.ErrInvalid, err)
	}
	if q.Status != nil {
		query.Status = q.Status
	}
	req := messageview.ListRequest{Server: q.ServerID, Query: query, Limit: q.Limit, Oldest: q.Oldest}
	if q.Cursor != "" {
		c, err := messageview.DecodeCursor(q.Cursor)
		if err != nil {
			return platform.MessagePage{}, fmt.Errorf("%w: cursor: %v", platform.ErrInvalid, err)
		}
		req.After = &c
	}
	page, err := v.r.List(ctx, req)
	if err != nil {
		return platform.MessagePage{}, err
	}
	out := platform.MessagePage{}
	for _, m := range page.Messages {
		out.Messages = append(out.Messages, toSummary(m))
	}
	if page.Next != nil {
		out.Next = page.Next.Encode()
	}
	return out, nil
}

// MessageDetail returns a message's row, timeline and attempts (ok false without a row).
func (v *MessageView) MessageDetail(ctx context.Context, id string) (message.Detail, bool, error) {
	d, err := v.r.Get(ctx, id)
	if errors.Is(err, messageview.ErrNotFound) {
		return message.Detail{}, false, nil
	}
	if err != nil {
		return message.Detail{}, false, err
	}
	out := message.Detail{Summary: toSummary(d.Message)}
	for _, e := range d.Timeline {
		out.Timeline = append(out.Timeline, message.TimelineEvent{Version: e.Version, EventID: e.ID, Type: e.Type, OccurredAt: e.OccurredAt,
			Actor: e.Actor, Payload: e.Payload})
	}
	for _, a := range d.AttemptLog {
		out.Attempts = append(out.Attempts, message.AttemptRecord{Attempt: a.Attempt, At: a.At, MXHost: a.MXHost, IP: a.IP, TLSVersion: a.TLSVersion,
			TLSCipher: a.TLSCipher, ReplyCode: a.ReplyCode, EnhancedCode: a.EnhancedCode, ReplyText: a.ReplyText, DurationMS: a.DurationMS,
			TranscriptID: a.TranscriptID, Result: a.Result})
	}
	return out, true, nil
}

// MessagesOfRecipient returns the ids of the messages to rcpt.
func (v *MessageView) MessagesOfRecipient(ctx context.Context, rcpt, serverID string, limit int) ([]string, error) {
	return v.r.IDsByRecipient(ctx, rcpt, serverID, limit)
}

// ByMessageID is inbound.MessageIndex: the messages with a Message-ID header to rcpts.
func (v *MessageView) ByMessageID(ctx context.Context, msgID string, rcpts []string, since time.Time, limit int) ([]inbound.IndexedMessage, error) {
	refs, err := v.r.ByMessageID(ctx, msgID, rcpts, since, limit)
	out := make([]inbound.IndexedMessage, len(refs))
	for i, r := range refs {
		out[i] = inbound.IndexedMessage{ID: r.ID, ServerID: r.ServerID, RcptTo: r.RcptTo}
	}
	return out, err
}

// StatsReports is platform.StatsReports over projections/stats.
type StatsReports struct{ db *sql.DB }

// NewStatsReports builds reports from the message_stats read model in db.
func NewStatsReports(db *sql.DB) (StatsReports, error) {
	if db == nil {
		return StatsReports{}, errors.New("sqlstore: stats reports: nil database")
	}
	return StatsReports{db: db}, nil
}

func toCounts(c stats.Counts) platform.StatsCounts {
	return platform.StatsCounts{Queued: c.Queued, Delivered: c.Delivered, Deferred: c.Deferred, Bounced: c.Bounced, BouncedHard: c.BouncedHard,
		BouncedSoft: c.BouncedSoft, Held: c.Held, Expired: c.Expired, BounceReasons: c.BounceReasons, BounceRate: c.BounceRate, LatencyMS: c.LatencyMS}
}

func toReport(r stats.Report) platform.StatsReport {
	out := platform.StatsReport{Server: r.Server, From: r.From, To: r.To, Zone: r.Zone, By: r.By, Total: toCounts(r.Total)}
	if r.Buckets != nil {
		out.Buckets = make([]platform.StatsBucket, len(r.Buckets))
	}
	for i, b := range r.Buckets {
		out.Buckets[i] = platform.StatsBucket{Start: b.Start, StatsCounts: toCounts(b.Counts)}
	}
	if r.TopDomains != nil {
		out.TopDomains = make([]platform.DomainOutcome, len(r.TopDomains))
	}
	for i, d := range r.TopDomains {
		out.TopDomains[i] = platform.DomainOutcome{Domain: d.Domain, Queued: d.Queued, Delivered: d.Delivered, Deferred: d.Deferred,
			Bounced: d.Bounced, Expired: d.Expired}
	}
	return out
}

// Report sums the hourly rows of a server into buckets.
func (s StatsReports) Report(ctx context.Context, req platform.StatsRequest) (platform.StatsReport, error) {
	r, err := stats.BuildReport(ctx, s.db, stats.ReportRequest{Server: req.ServerID, From: req.From, To: req.To, Zone: req.Zone,
		ByHour: req.ByHour, TopDomains: req.TopDomains})
	if err != nil {
		return platform.StatsReport{}, err
	}
	return toReport(r), nil
}

// WebhookDeliveries is platform.WebhookDeliveries over the webhook read model and its queue.
type WebhookDeliveries struct {
	r *webhookqueue.Reader
	q *WebhookQueue
}

// NewWebhookDeliveries lists, redelivers and enqueues webhook deliveries in db.
func NewWebhookDeliveries(db *sql.DB, d Dialect) (*WebhookDeliveries, error) {
	r, err := webhookqueue.NewReader(db)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: webhook deliveries: %w", err)
	}
	q, err := NewWebhookQueue(db, d)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: webhook deliveries: %w", err)
	}
	return &WebhookDeliveries{r: r, q: q}, nil
}

func toDelivery(d webhookqueue.Delivery) webhook.Delivery {
	out := webhook.Delivery{ID: d.ID, WebhookID: d.WebhookID, EventID: d.EventID, EventType: d.EventType, StreamKey: d.StreamKey,
		Status: d.Status, Attempts: d.Attempts, OccurredAt: d.OccurredAt, NextAttemptAt: d.NextAttemptAt, LastAttemptAt: d.LastAttemptAt,
		LastStatusCode: d.LastStatusCode, LastError: d.LastError}
	if d.History != nil {
		out.History = make([]webhook.HTTPAttempt, 0, len(d.History))
	}
	for _, a := range d.History {
		out.History = append(out.History, webhook.HTTPAttempt{Attempt: a.Attempt, At: a.At, Result: a.Result, StatusCode: a.StatusCode,
			Response: a.Response, DurationMS: a.DurationMS, Error: a.Error})
	}
	return out
}

// Deliveries lists a subscription's deliveries with their attempts.
func (w *WebhookDeliveries) Deliveries(ctx context.Context, webhookID string, limit int) ([]webhook.Delivery, error) {
	ds, err := w.r.Deliveries(ctx, webhookID, limit)
	out := make([]webhook.Delivery, len(ds))
	for i, d := range ds {
		out[i] = toDelivery(d)
	}
	return out, err
}

// Redeliver makes a delivery due again at now.
func (w *WebhookDeliveries) Redeliver(ctx context.Context, deliveryID string, now time.Time) (webhook.Delivery, error) {
	d, err := w.q.Redeliver(ctx, deliveryID, now)
	if errors.Is(err, webhookqueue.ErrNotFound) {
		return webhook.Delivery{}, fmt.Errorf("delivery %s: %w", deliveryID, webhook.ErrNotFound)
	}
	return toDelivery(d), err
}

// Enqueue makes each event due for a subscription at now.
func (w *WebhookDeliveries) Enqueue(ctx context.Context, webhookID string, envs []events.Envelope, now time.Time) ([]string, error) {
	return w.q.Enqueue(ctx, webhookID, envs, now)
}
