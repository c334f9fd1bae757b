package platform

import (
	"context"
	"time"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/webhook"
	"github.com/posthaste/posthaste/events"
)

// Webhook subscriptions and their deliveries.

// CreateWebhook subscribes a URL to the events of a server the caller may touch.
type CreateWebhook struct {
	Server string   // ORG/NAME or the server id
	URL    string   // http(s)
	Events []string // wire names; empty or ["all"] = every offered event
	Format string   // standard (default) or postal
}

// CreateWebhook records the subscription and returns it with its signing secret (shown once).
func (x *Commands) CreateWebhook(ctx context.Context, caller Caller, c CreateWebhook) (webhook.Subscription, string, error) {
	ref, err := serverRef(c.Server)
	if err != nil {
		return webhook.Subscription{}, "", err
	}
	srv, err := x.c.server(ctx, caller, ref)
	if err != nil {
		return webhook.Subscription{}, "", err
	}
	return x.c.webhooks.Create(ctx, webhook.Create{ServerID: srv.ID, URL: c.URL, Events: c.Events, Format: c.Format, Cause: caller.Cause()})
}

// UpdateWebhook changes what u names (nil fields stay) and records one webhook.updated with the
// fields that differ; the bool says whether anything changed.
func (x *Commands) UpdateWebhook(ctx context.Context, caller Caller, id string, u webhook.Update) (webhook.Subscription, bool, error) {
	before, err := x.c.webhook(ctx, caller, id)
	if err != nil {
		return webhook.Subscription{}, false, err
	}
	u.Cause = caller.Cause()
	s, err := x.c.webhooks.Update(ctx, before.ID, u)
	if err != nil {
		return webhook.Subscription{}, false, err
	}
	return s, s.Version != before.Version, nil
}

// DisableWebhook stops deliveries to a subscription (reason "operator" when empty); disabling a
// disabled one records nothing.
func (x *Commands) DisableWebhook(ctx context.Context, caller Caller, id, reason string) (webhook.Subscription, error) {
	s, err := x.c.webhook(ctx, caller, id)
	if err != nil {
		return webhook.Subscription{}, err
	}
	return x.c.webhooks.Disable(ctx, s.ID, reason, caller.Cause())
}

// RotateWebhookSecret makes a new secret sign (the previous one also signs for a day) and returns
// it, shown once.
func (x *Commands) RotateWebhookSecret(ctx context.Context, caller Caller, id string) (webhook.Subscription, string, error) {
	s, err := x.c.webhook(ctx, caller, id)
	if err != nil {
		return webhook.Subscription{}, "", err
	}
	return x.c.webhooks.RotateSecret(ctx, s.ID, caller.Cause())
}

// RedeliverWebhook makes a delivery due again now (same webhook-id). The webhook names the
// subscription it belongs to: the delivery must be one of its; only an operator may leave it
// empty (the delivery id alone, as `webhook redeliver DELIVERY` gives it).
func (x *Commands) RedeliverWebhook(ctx context.Context, caller Caller, webhookID, deliveryID string) (webhook.Delivery, error) {
	q := x.c.d.WebhookDeliveries
	if q == nil {
		return webhook.Delivery{}, notConfigured("redeliver webhook", "webhook delivery queue")
	}
	missing := notFound("webhook delivery", deliveryID, webhook.ErrNotFound)
	if webhookID == "" {
		if !caller.IsOperator() {
			return webhook.Delivery{}, missing
		}
	} else {
		s, err := x.c.webhook(ctx, caller, webhookID)
		if err != nil {
			return webhook.Delivery{}, err
		}
		ds, err := q.Deliveries(ctx, s.ID, 1<<20)
		if err != nil {
			return webhook.Delivery{}, err
		}
		found := false
		for _, d := range ds {
			found = found || d.ID == deliveryID
		}
		if !found {
			return webhook.Delivery{}, missing
		}
	}
	d, err := q.Redeliver(ctx, deliveryID, x.c.rec.Now())
	if isNotFound(err) {
		return webhook.Delivery{}, missing
	}
	return d, err
}

// Enqueued names the deliveries a replay or a test made due.
type Enqueued struct {
	WebhookID   string
	DeliveryIDs []string
	EventIDs    []string
}

// ReplayWebhook sends a subscription again the events of its server it receives (its event types,
// the offer catalogue of its format) that occurred in [since, until) (until zero: no bound), with
// the same webhook-ids. A disabled subscription is an ErrInvalid error.
func (x *Commands) ReplayWebhook(ctx context.Context, caller Caller, id string, since, until time.Time) (Enqueued, error) {
	q := x.c.d.WebhookDeliveries
	if q == nil {
		return Enqueued{}, notConfigured("replay webhook", "webhook delivery queue")
	}
	s, err := x.c.webhook(ctx, caller, id)
	if err != nil {
		return Enqueued{}, err
	}
	if !s.Enabled {
		return Enqueued{}, invalidf("webhook %s is disabled", s.ID)
	}
	recs, err := readFrom(ctx, x.c.events, domain.EventFilter{ServerID: s.ServerID, Types: events.WebhookOffered(), Since: since, Until: until}, 0)
	if err != nil {
		return Enqueued{}, err
	}
	var envs []events.Envelope
	for _, r := range recs {
		if s.Receives(r.Envelope) {
			envs = append(envs, r.Envelope)
		}
	}
	ids, err := q.Enqueue(ctx, s.ID, envs, x.c.rec.Now())
	if err != nil {
		return Enqueued{}, err
	}
	out := Enqueued{WebhookID: s.ID, DeliveryIDs: ids}
	for _, e := range envs {
		out.EventIDs = append(out.EventIDs, e.ID)
	}
	return out, nil
}

// TestWebhook enqueues a signed webhook.test ping for a subscription (never recorded in the log).
func (x *Commands) TestWebhook(ctx context.Context, caller Caller, id string) (Enqueued, error) {
	q := x.c.d.WebhookDeliveries
	if q == nil {
		return Enqueued{}, notConfigured("test webhook", "webhook delivery queue")
	}
	s, err := x.c.webhook(ctx, caller, id)
	if err != nil {
		return Enqueued{}, err
	}
	now := x.c.rec.Now()
	ping := webhook.Ping(s.ID, s.ServerID, events.NewID(now, x.c.d.Rand), now)
	ids, err := q.Enqueue(ctx, s.ID, []events.Envelope{ping}, now)
	if err != nil {
		return Enqueued{}, err
	}
	return Enqueued{WebhookID: s.ID, DeliveryIDs: ids, EventIDs: []string{ping.ID}}, nil
}

// WebhookDisabler is the webhooks role's port for disabling a subscription whose receiver
// answered 410 Gone (adapters/webhooksender.Disabler): the system acts, with the cause it gives,
// not a caller.
type WebhookDisabler struct{ c *core }

// WebhookDisabler returns what the webhook sender disables gone subscriptions with.
func (a *Application) WebhookDisabler() WebhookDisabler { return WebhookDisabler{a.c} }

// Disable stops deliveries to a subscription, recorded with cause.
func (w WebhookDisabler) Disable(ctx context.Context, id, reason string, cause domain.Cause) (webhook.Subscription, error) {
	return w.c.webhooks.Disable(ctx, id, reason, cause)
}
