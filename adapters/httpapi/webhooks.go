package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/posthaste/posthaste/domain/platform"
	"github.com/posthaste/posthaste/domain/webhook"
)

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
	a.handleV2("GET /api/v2/webhooks", a.v2(true, a.v2ListWebhooks))
	a.handleV2("POST /api/v2/webhooks", a.v2(true, a.v2CreateWebhook))
	a.handleV2("GET /api/v2/webhooks/{id}", a.v2(true, a.v2GetWebhook))
	a.handleV2("PATCH /api/v2/webhooks/{id}", a.v2(true, a.v2UpdateWebhook))
	a.handleV2("POST /api/v2/webhooks/{id}/disable", a.v2(true, a.v2DisableWebhook))
	a.handleV2("POST /api/v2/webhooks/{id}/rotate-secret", a.v2(true, a.v2RotateWebhook))
	a.handleV2("GET /api/v2/webhooks/{id}/deliveries", a.v2(true, a.v2WebhookDeliveries))
	a.handleV2("POST /api/v2/webhooks/{id}/deliveries/{delivery}/redeliver", a.v2(true, a.v2Redeliver))
}

// webhookFailure answers a failed webhook command or query.
func (a *API) webhookFailure(c *call, err error) {
	switch {
	case errors.Is(err, platform.ErrNotFound) || errors.Is(err, webhook.ErrNotFound):
		writeProblem(c.w, http.StatusNotFound, "not-found", "Not found", "no such webhook or delivery on this server")
	case errors.Is(err, platform.ErrInvalid) || errors.Is(err, webhook.ErrInvalid):
		writeProblem(c.w, http.StatusUnprocessableEntity, "invalid-fields", "Invalid fields", err.Error())
	case errors.Is(err, platform.ErrNotConfigured):
		writeProblem(c.w, http.StatusServiceUnavailable, "unavailable", "Service unavailable", "webhooks are not configured")
	default:
		a.log.Error("httpapi: webhook", "err", err)
		writeProblem(c.w, http.StatusServiceUnavailable, "unavailable", "Service unavailable", "the webhook could not be read or stored")
	}
}

// ownWebhook loads the {id} subscription of the server in scope.
func (a *API) ownWebhook(c *call) (webhook.Subscription, bool) {
	s, err := a.app.Queries.Webhook(c.r.Context(), c.caller(), c.r.PathValue("id"))
	if err == nil && !c.inScope(s.ServerID) {
		err = webhook.ErrNotFound
	}
	if err != nil {
		a.webhookFailure(c, err)
		return s, false
	}
	return s, true
}

func (a *API) v2ListWebhooks(c *call) {
	list, err := a.app.Queries.Webhooks(c.r.Context(), c.caller(), c.server)
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
	s, secret, err := a.app.Commands.CreateWebhook(c.r.Context(), c.caller(), platform.CreateWebhook{Server: c.server, URL: req.URL, Events: req.Events, Format: req.Format})
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
	s, _, err := a.app.Commands.UpdateWebhook(c.r.Context(), c.caller(), s.ID, webhook.Update{URL: req.URL, Events: req.Events,
		Enabled: req.Enabled, Format: req.Format})
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
	s, err := a.app.Commands.DisableWebhook(c.r.Context(), c.caller(), s.ID, "disabled through the API")
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
	s, secret, err := a.app.Commands.RotateWebhookSecret(c.r.Context(), c.caller(), s.ID)
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
	ds, err := a.app.Queries.WebhookDeliveries(c.r.Context(), c.caller(), s.ID, limit)
	if err != nil {
		a.webhookFailure(c, err)
		return
	}
	if ds == nil {
		ds = []webhook.Delivery{}
	}
	writeOutcome(c.w, jsonOutcome(http.StatusOK, map[string]any{"deliveries": ds}))
}

func (a *API) v2Redeliver(c *call) {
	s, ok := a.ownWebhook(c)
	if !ok {
		return
	}
	want := c.r.PathValue("delivery")
	d, err := a.app.Commands.RedeliverWebhook(c.r.Context(), c.caller(), s.ID, want) // a delivery of that webhook only
	switch {
	case errors.Is(err, platform.ErrNotFound):
		writeProblem(c.w, http.StatusNotFound, "not-found", "Not found", "no delivery "+want+" of webhook "+s.ID)
	case err != nil:
		a.webhookFailure(c, err)
	default:
		writeOutcome(c.w, jsonOutcome(http.StatusOK, d))
	}
}
