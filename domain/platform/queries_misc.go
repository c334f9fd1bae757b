package platform

import (
	"context"

	"github.com/posthaste/posthaste/domain/inbound"
	"github.com/posthaste/posthaste/domain/suppression"
	"github.com/posthaste/posthaste/domain/webhook"
)

// Suppressions, webhooks and their deliveries, inbound reports, the Postal signing key.

// Suppressions lists a server's suppressed addresses (active ones only unless all), by address.
func (q *Queries) Suppressions(ctx context.Context, caller Caller, server string, all bool) ([]suppression.Entry, error) {
	ref, err := serverRef(server)
	if err != nil {
		return nil, err
	}
	if err := q.c.authorize(ctx, caller, ref); err != nil {
		return nil, err
	}
	return q.c.suppressions.List(ctx, ref.ID(), all)
}

// Suppression returns the entry of one address of a server (Version 0 when there never was one).
func (q *Queries) Suppression(ctx context.Context, caller Caller, server, address string) (suppression.Entry, error) {
	ref, err := serverRef(server)
	if err != nil {
		return suppression.Entry{}, err
	}
	if err := q.c.authorize(ctx, caller, ref); err != nil {
		return suppression.Entry{}, err
	}
	return q.c.suppressions.Get(ctx, ref.ID(), address)
}

// Webhooks lists a server's subscriptions in creation order.
func (q *Queries) Webhooks(ctx context.Context, caller Caller, server string) ([]webhook.Subscription, error) {
	ref, err := serverRef(server)
	if err != nil {
		return nil, err
	}
	srv, err := q.c.server(ctx, caller, ref)
	if err != nil {
		return nil, err
	}
	return q.c.webhooks.List(ctx, srv.ID)
}

// Webhook returns a subscription of a server the caller may touch.
func (q *Queries) Webhook(ctx context.Context, caller Caller, id string) (webhook.Subscription, error) {
	return q.c.webhook(ctx, caller, id)
}

// WebhookDeliveries lists a subscription's deliveries, oldest event first, each with its
// attempts, at most limit. It needs the webhook delivery queue.
func (q *Queries) WebhookDeliveries(ctx context.Context, caller Caller, id string, limit int) ([]webhook.Delivery, error) {
	if q.c.d.WebhookDeliveries == nil {
		return nil, notConfigured("webhook deliveries", "webhook delivery queue")
	}
	s, err := q.c.webhook(ctx, caller, id)
	if err != nil {
		return nil, err
	}
	return q.c.d.WebhookDeliveries.Deliveries(ctx, s.ID, limit)
}

// WebhookSigningSecrets returns the secrets that sign a subscription's requests now: the current
// one, then the previous one during its grace period.
func (q *Queries) WebhookSigningSecrets(ctx context.Context, caller Caller, id string) ([]string, error) {
	s, err := q.c.webhook(ctx, caller, id)
	if err != nil {
		return nil, err
	}
	return q.c.webhooks.SigningSecrets(ctx, s, q.c.rec.Now())
}

// PostalSigningKey returns the platform's RSA key that signs Postal-format webhooks (made and
// stored the first time), for the sender and the JWKS document.
func (q *Queries) PostalSigningKey(ctx context.Context) (webhook.PostalKey, error) {
	return webhook.LoadPostalKey(ctx, q.c.d.Secrets, q.c.d.Rand)
}

// InboundReports lists the reports the MX listener received, newest first (operators only: a
// report is not yet linked to a server when it arrives). It needs the inbound report store.
func (q *Queries) InboundReports(ctx context.Context, caller Caller, f inbound.Filter) ([]inbound.Report, error) {
	if err := operatorOnly(caller, "inbound reports"); err != nil {
		return nil, err
	}
	if q.c.d.Inbound == nil {
		return nil, notConfigured("inbound reports", "inbound report store")
	}
	return q.c.d.Inbound.Reports(ctx, f)
}

// InboundReport returns one received report with its raw bytes (operators only).
func (q *Queries) InboundReport(ctx context.Context, caller Caller, id string) (inbound.Report, error) {
	if err := operatorOnly(caller, "inbound report"); err != nil {
		return inbound.Report{}, err
	}
	if q.c.d.Inbound == nil {
		return inbound.Report{}, notConfigured("inbound report", "inbound report store")
	}
	r, err := q.c.d.Inbound.Report(ctx, id)
	if isNotFound(err) {
		return inbound.Report{}, notFound("report", id, inbound.ErrNotFound)
	}
	return r, err
}
