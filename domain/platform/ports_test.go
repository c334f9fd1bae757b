package platform_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"github.com/posthaste/posthaste/adapters/sqlstore"
	"time"

	"github.com/posthaste/posthaste/adapters/dkimsign"
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

// The application's ports over today's stores and read models: what the next step wires in
// cmd/posthaste (or the SQL store provides).

// horizonOf reads a projection's horizon (projection_positions.position).
func horizonOf(ctx context.Context, db *sql.DB, projection string) (int64, error) {
	var h int64
	err := db.QueryRowContext(ctx, `SELECT position FROM projection_positions WHERE projection = ?`, projection).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return h, err
}

// credentialIndex is platform.CredentialIndex over projections/tenancyview.
type credentialIndex struct{ db *sql.DB }

func fromView(c tenancyview.Credential) tenancy.Credential {
	return tenancy.Credential{ID: c.ID, ServerID: c.ServerID, Type: c.Type, Name: c.Name, Username: c.Username,
		Hash: c.Hash, KeyPrefix: c.KeyPrefix, CIDR: c.CIDR, Hold: c.Hold, Revoked: c.Revoked}
}

func (x credentialIndex) Horizon(ctx context.Context) (int64, error) {
	return horizonOf(ctx, x.db, tenancyview.Name)
}

func (x credentialIndex) CredentialByUsername(ctx context.Context, username string) (tenancy.Credential, bool, error) {
	c, ok, err := tenancyview.CredentialByUsername(ctx, x.db, username)
	return fromView(c), ok, err
}

func (x credentialIndex) CredentialByKeyHash(ctx context.Context, hash string) (tenancy.Credential, bool, error) {
	c, ok, err := tenancyview.CredentialByHash(ctx, x.db, hash)
	return fromView(c), ok, err
}

func (x credentialIndex) ActiveCredentials(ctx context.Context, typ string) ([]tenancy.Credential, error) {
	cs, err := tenancyview.ActiveCredentials(ctx, x.db, typ)
	out := make([]tenancy.Credential, len(cs))
	for i, c := range cs {
		out[i] = fromView(c)
	}
	return out, err
}

// messageView is platform.MessageView over projections/messageview.
type messageView struct {
	db *sql.DB
	r  *messageview.Reader
}

func (v messageView) Horizon(ctx context.Context) (int64, error) {
	return horizonOf(ctx, v.db, messageview.Name)
}

func toSummary(m messageview.Message) message.Summary {
	return message.Summary{ID: m.ID, ServerID: m.Server, Status: message.Status(m.Status), RcptTo: m.RcptTo, MailFrom: m.MailFrom,
		HeaderFrom: m.HeaderFrom, Subject: m.Subject, Tag: m.Tag, MessageIDHeader: m.MessageID, Size: m.Size, SubmissionID: m.SubmissionID,
		QueuedAt: m.QueuedAt, LastEventAt: m.LastEventAt, Attempts: m.Attempts, LastReplyCode: m.LastReplyCode, LastReply: m.LastReply,
		BounceReason: m.BounceReason, BounceClass: m.BounceClass, HoldReason: m.HoldReason}
}

func (v messageView) ListMessages(ctx context.Context, q platform.MessageQuery) (platform.MessagePage, error) {
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

func (v messageView) MessageDetail(ctx context.Context, id string) (message.Detail, bool, error) {
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

func (v messageView) MessagesOfRecipient(ctx context.Context, rcpt, serverID string, limit int) ([]string, error) {
	return v.r.IDsByRecipient(ctx, rcpt, serverID, limit)
}

func (v messageView) ByMessageID(ctx context.Context, msgID string, rcpts []string, since time.Time, limit int) ([]inbound.IndexedMessage, error) {
	refs, err := v.r.ByMessageID(ctx, msgID, rcpts, since, limit)
	out := make([]inbound.IndexedMessage, len(refs))
	for i, r := range refs {
		out[i] = inbound.IndexedMessage{ID: r.ID, ServerID: r.ServerID, RcptTo: r.RcptTo}
	}
	return out, err
}

// statsReports is platform.StatsReports over projections/stats.
type statsReports struct{ db *sql.DB }

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

func (s statsReports) Report(ctx context.Context, req platform.StatsRequest) (platform.StatsReport, error) {
	r, err := stats.BuildReport(ctx, s.db, stats.ReportRequest{Server: req.ServerID, From: req.From, To: req.To, Zone: req.Zone,
		ByHour: req.ByHour, TopDomains: req.TopDomains})
	if err != nil {
		return platform.StatsReport{}, err
	}
	return toReport(r), nil
}

// webhookDeliveries is platform.WebhookDeliveries over projections/webhookqueue.
type webhookDeliveries struct {
	s *webhookqueue.Reader
	q *sqlstore.WebhookQueue
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

func (w webhookDeliveries) Deliveries(ctx context.Context, webhookID string, limit int) ([]webhook.Delivery, error) {
	ds, err := w.s.Deliveries(ctx, webhookID, limit)
	out := make([]webhook.Delivery, len(ds))
	for i, d := range ds {
		out[i] = toDelivery(d)
	}
	return out, err
}

func (w webhookDeliveries) Redeliver(ctx context.Context, deliveryID string, now time.Time) (webhook.Delivery, error) {
	d, err := w.q.Redeliver(ctx, deliveryID, now)
	if errors.Is(err, webhookqueue.ErrNotFound) {
		return webhook.Delivery{}, fmt.Errorf("delivery %s: %w", deliveryID, webhook.ErrNotFound)
	}
	return toDelivery(d), err
}

func (w webhookDeliveries) Enqueue(ctx context.Context, webhookID string, envs []events.Envelope, now time.Time) ([]string, error) {
	return w.q.Enqueue(ctx, webhookID, envs, now)
}

// dkimCrypto is tenancy.DKIMCrypto over adapters/dkimsign: parse the PKCS#8 keys, sign.
type dkimCrypto struct{}

func (dkimCrypto) Sign(keys []tenancy.KeyMaterial, body []byte) ([]byte, []events.DKIMSignature, error) {
	var ks []dkimsign.Key
	for _, k := range keys {
		priv, err := x509.ParsePKCS8PrivateKey(k.Private)
		if err != nil {
			return nil, nil, fmt.Errorf("dkim key %s of %s: %w", k.Selector, k.Domain, err)
		}
		signer, ok := priv.(crypto.Signer)
		if !ok {
			return nil, nil, fmt.Errorf("dkim key %s of %s: not a signing key", k.Selector, k.Domain)
		}
		ks = append(ks, dkimsign.Key{Domain: k.Domain, Selector: k.Selector, Signer: signer})
	}
	s, err := dkimsign.New(ks...)
	if err != nil {
		return nil, nil, err
	}
	return s.Sign(body)
}
