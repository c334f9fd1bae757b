package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/webhook"
	"github.com/posthaste/posthaste/projections/webhookqueue"
)

// Webhooks runs the subscription commands (webhook.Handlers).
type Webhooks interface {
	Create(ctx context.Context, c webhook.Create) (webhook.Subscription, string, error)
	Get(ctx context.Context, id string) (webhook.Subscription, error)
	List(ctx context.Context, serverID string) ([]webhook.Subscription, error)
	Update(ctx context.Context, id string, u webhook.Update) (webhook.Subscription, error)
	Disable(ctx context.Context, id, reason string, cause domain.Cause) (webhook.Subscription, error)
	RotateSecret(ctx context.Context, id string, cause domain.Cause) (webhook.Subscription, string, error)
}

// WebhookDeliveries reads webhook deliveries (projections/webhookqueue.Reader) and re-queues them
// (adapters/sqlstore WebhookQueue).
type WebhookDeliveries interface {
	Deliveries(ctx context.Context, webhookID string, limit int) ([]webhookqueue.Delivery, error)
	Redeliver(ctx context.Context, deliveryID string, now time.Time) (webhookqueue.Delivery, error)
}

type v2Webhook struct {
	ID             string    `json:"id"`
	URL            string    `json:"url"`
	Events         []string  `json:"events"`
	Format         string    `json:"format"`
	Enabled        bool      `json:"enabled"`
	DisabledReason string    `json:"disabled_reason,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	Secret         string    `json:"secret,omitempty"` // shown once: at creation and rotation
}

func toV2Webhook(s webhook.Subscription) v2Webhook {
	evs := s.Events
	if len(evs) == 0 {
		evs = []string{"all"}
	}
	return v2Webhook{ID: s.ID, URL: s.URL, Events: evs, Format: s.Format, Enabled: s.Enabled, DisabledReason: s.DisabledReason, CreatedAt: s.CreatedAt}
}

func (a *API) routesWebhooks() {
	a.handleV2("GET /api/v2/webhooks", a.v2(true, a.withWebhooks(a.v2ListWebhooks)))
	a.handleV2("POST /api/v2/webhooks", a.v2(true, a.withWebhooks(a.v2CreateWebhook)))
	a.handleV2("GET /api/v2/webhooks/{id}", a.v2(true, a.withWebhooks(a.v2GetWebhook)))
	a.handleV2("PATCH /api/v2/webhooks/{id}", a.v2(true, a.withWebhooks(a.v2UpdateWebhook)))
	a.handleV2("POST /api/v2/webhooks/{id}/disable", a.v2(true, a.withWebhooks(a.v2DisableWebhook)))
	a.handleV2("POST /api/v2/webhooks/{id}/rotate-secret", a.v2(true, a.withWebhooks(a.v2RotateWebhook)))
	a.handleV2("GET /api/v2/webhooks/{id}/deliveries", a.v2(true, a.withWebhooks(a.v2WebhookDeliveries)))
	a.handleV2("POST /api/v2/webhooks/{id}/deliveries/{delivery}/redeliver", a.v2(true, a.withWebhooks(a.v2Redeliver)))
}

func (a *API) withWebhooks(h func(c *call)) func(c *call) {
	return func(c *call) {
		if a.cfg.Webhooks == nil || a.cfg.WebhookDeliveries == nil {
			writeProblem(c.w, http.StatusServiceUnavailable, "unavailable", "Service unavailable", "webhooks are not configured")
			return
		}
		h(c)
	}
}

func (a *API) webhookFailure(c *call, err error) {
	switch {
	case errors.Is(err, webhook.ErrNotFound) || errors.Is(err, webhookqueue.ErrNotFound):
		writeProblem(c.w, http.StatusNotFound, "not-found", "Not found", "no such webhook or delivery on this server")
	case errors.Is(err, webhook.ErrInvalid):
		writeProblem(c.w, http.StatusUnprocessableEntity, "invalid-fields", "Invalid fields", err.Error())
	default:
		a.log.Error("httpapi: webhook", "err", err)
		writeProblem(c.w, http.StatusServiceUnavailable, "unavailable", "Service unavailable", "the webhook could not be read or stored")
	}
}

// ownWebhook loads the {id} subscription of the server in scope.
func (a *API) ownWebhook(c *call) (webhook.Subscription, bool) {
	s, err := a.cfg.Webhooks.Get(c.r.Context(), c.r.PathValue("id"))
	if err == nil && s.ServerID != c.server {
		err = webhook.ErrNotFound
	}
	if err != nil {
		a.webhookFailure(c, err)
		return s, false
	}
	return s, true
}

func (a *API) v2ListWebhooks(c *call) {
	list, err := a.cfg.Webhooks.List(c.r.Context(), c.server)
	if err != nil {
		a.webhookFailure(c, err)
		return
	}
	out := make([]v2Webhook, 0, len(list))
	for _, s := range list {
		out = append(out, toV2Webhook(s))
	}
	writeOutcome(c.w, jsonOutcome(http.StatusOK, map[string]any{"webhooks": out}))
}

type v2CreateWebhookRequest struct {
	URL    string   `json:"url"`
	Events []string `json:"events"`
	Format string   `json:"format"`
}

func (a *API) v2CreateWebhook(c *call) {
	raw, ok := readBody(c.w, c.r)
	if !ok {
		return
	}
	var req v2CreateWebhookRequest
	if !readJSON(c.w, raw, &req) {
		return
	}
	var errs []fieldError
	if err := webhook.ValidateURL(req.URL); err != nil {
		errs = append(errs, fieldError{"url", err.Error()})
	}
	if _, err := webhook.NormalizeEvents(req.Events); err != nil {
		errs = append(errs, fieldError{"events", err.Error()})
	}
	if req.Format != "" && req.Format != webhook.FormatStandard && req.Format != webhook.FormatPostal {
		errs = append(errs, fieldError{"format", "standard or postal"})
	}
	if len(errs) > 0 {
		writeProblem(c.w, http.StatusUnprocessableEntity, "invalid-fields", "Invalid fields", "", errs...)
		return
	}
	s, secret, err := a.cfg.Webhooks.Create(c.r.Context(), webhook.Create{ServerID: c.server, URL: req.URL, Events: req.Events, Format: req.Format, Cause: c.cause()})
	if err != nil {
		a.webhookFailure(c, err)
		return
	}
	out := toV2Webhook(s)
	out.Secret = secret
	writeOutcome(c.w, jsonOutcome(http.StatusCreated, out))
}

func (a *API) v2GetWebhook(c *call) {
	if s, ok := a.ownWebhook(c); ok {
		writeOutcome(c.w, jsonOutcome(http.StatusOK, toV2Webhook(s)))
	}
}

// v2UpdateWebhookRequest: absent fields stay as they are.
type v2UpdateWebhookRequest struct {
	URL     *string   `json:"url"`
	Events  *[]string `json:"events"`
	Enabled *bool     `json:"enabled"`
	Format  *string   `json:"format"`
}

// v2UpdateWebhook changes what a PATCH names (webhook.updated with the fields that differ); a
// PATCH that changes nothing records nothing and answers the webhook as it is.
func (a *API) v2UpdateWebhook(c *call) {
	raw, ok := readBody(c.w, c.r)
	if !ok {
		return
	}
	var req v2UpdateWebhookRequest
	if !readJSON(c.w, raw, &req) {
		return
	}
	var errs []fieldError
	if req.URL != nil {
		if err := webhook.ValidateURL(*req.URL); err != nil {
			errs = append(errs, fieldError{"url", err.Error()})
		}
	}
	if req.Events != nil {
		if _, err := webhook.NormalizeEvents(*req.Events); err != nil {
			errs = append(errs, fieldError{"events", err.Error()})
		}
	}
	if req.Format != nil && *req.Format != webhook.FormatStandard && *req.Format != webhook.FormatPostal {
		errs = append(errs, fieldError{"format", "standard or postal"})
	}
	if len(errs) > 0 {
		writeProblem(c.w, http.StatusUnprocessableEntity, "invalid-fields", "Invalid fields", "", errs...)
		return
	}
	s, ok := a.ownWebhook(c)
	if !ok {
		return
	}
	s, err := a.cfg.Webhooks.Update(c.r.Context(), s.ID, webhook.Update{URL: req.URL, Events: req.Events, Enabled: req.Enabled,
		Format: req.Format, Cause: c.cause()})
	if err != nil {
		a.webhookFailure(c, err)
		return
	}
	writeOutcome(c.w, jsonOutcome(http.StatusOK, toV2Webhook(s)))
}

func (a *API) v2DisableWebhook(c *call) {
	s, ok := a.ownWebhook(c)
	if !ok {
		return
	}
	if !s.Enabled {
		writeProblem(c.w, http.StatusConflict, "already-disabled", "Already disabled", "webhook "+s.ID+" is already disabled")
		return
	}
	s, err := a.cfg.Webhooks.Disable(c.r.Context(), s.ID, "disabled through the API", c.cause())
	if err != nil {
		a.webhookFailure(c, err)
		return
	}
	writeOutcome(c.w, jsonOutcome(http.StatusOK, toV2Webhook(s)))
}

func (a *API) v2RotateWebhook(c *call) {
	s, ok := a.ownWebhook(c)
	if !ok {
		return
	}
	s, secret, err := a.cfg.Webhooks.RotateSecret(c.r.Context(), s.ID, c.cause())
	if err != nil {
		a.webhookFailure(c, err)
		return
	}
	out := toV2Webhook(s)
	out.Secret = secret
	writeOutcome(c.w, jsonOutcome(http.StatusOK, out))
}

func (a *API) v2WebhookDeliveries(c *call) {
	s, ok := a.ownWebhook(c)
	if !ok {
		return
	}
	limit := defaultPageSize
	if v := c.r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			writeProblem(c.w, http.StatusBadRequest, "invalid-query", "Invalid query", "", fieldError{"limit", "an integer 1..1000"})
			return
		}
		limit = n
	}
	ds, err := a.cfg.WebhookDeliveries.Deliveries(c.r.Context(), s.ID, limit)
	if err != nil {
		a.webhookFailure(c, err)
		return
	}
	if ds == nil {
		ds = []webhookqueue.Delivery{}
	}
	writeOutcome(c.w, jsonOutcome(http.StatusOK, map[string]any{"deliveries": ds}))
}

func (a *API) v2Redeliver(c *call) {
	s, ok := a.ownWebhook(c)
	if !ok {
		return
	}
	ds, err := a.cfg.WebhookDeliveries.Deliveries(c.r.Context(), s.ID, 1<<20)
	if err != nil {
		a.webhookFailure(c, err)
		return
	}
	want := c.r.PathValue("delivery")
	for _, d := range ds {
		if d.ID == want {
			d, err := a.cfg.WebhookDeliveries.Redeliver(c.r.Context(), want, a.cfg.Clock())
			if err != nil {
				a.webhookFailure(c, err)
				return
			}
			writeOutcome(c.w, jsonOutcome(http.StatusOK, d))
			return
		}
	}
	writeProblem(c.w, http.StatusNotFound, "not-found", "Not found", "no delivery "+want+" of webhook "+s.ID)
}
