package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"log/slog"
	"net/http"
	"time"

	"github.com/posthaste/posthaste/adapters/httpapi"
	"github.com/posthaste/posthaste/adapters/webhooksender"
	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/message"
	"github.com/posthaste/posthaste/domain/platform"
	"github.com/posthaste/posthaste/domain/suppression"
	"github.com/posthaste/posthaste/domain/tenancy"
	"github.com/posthaste/posthaste/domain/webhook"
	"github.com/posthaste/posthaste/projections/messageview"
	"github.com/posthaste/posthaste/projections/stats"
	"github.com/posthaste/posthaste/projections/tenancyview"
)

// What the web role serves. Until the http branch lands, this file builds today's
// adapters/httpapi: its ports still ask for domain handlers, so the ones the application cannot
// give (tenancy, message, suppression and webhook handlers) are composed here, on the
// application's timed event store; acceptances go through the application (offered to the local
// worker by its one wake path). With the http branch the web role's handler is
// httpapi.New(httpapi.Config{App, Store: st.API(), Probes, Metrics, …}).Handler() and this file,
// http.go and http_events.go go.

// webHandler is everything the web role serves: /api/v1 and /api/v2 (with the event feed),
// /livez, /readyz, /metrics and /.well-known/jwks.json.
func webHandler(s *server, log *slog.Logger) (http.Handler, error) {
	src, err := metricsSources(s)
	if err != nil {
		return nil, err
	}
	mh, err := s.metrics.Handler(src)
	if err != nil {
		return nil, err
	}
	api, err := apiHandler(s, log)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/api/v1/", api)
	mux.Handle("/api/v2/", api)
	mux.Handle("/", newHTTPHandler(s.deps.Probes, mh, log))
	return withJWKS(withEventsFeed(mux, s.app, s.cfg.AdminToken, log), s.app, log), nil
}

// apiHandler is today's HTTP API (see the file comment).
func apiHandler(s *server, log *slog.Logger) (http.Handler, error) {
	cfg, d, st := s.cfg, s.deps, s.b.store
	rec := domain.Recorder{Clock: time.Now}
	th, err := tenancy.NewHandlers(tenancy.Deps{Store: d.Events, Clock: time.Now, Rand: rand.Reader, Hasher: d.Hasher, Secrets: d.Secrets,
		DNS: tenancy.DNSConfig{SPFInclude: cfg.SPFInclude, ReturnPathDomain: cfg.ReturnPathDomain, Hostname: cfg.Hostname}})
	if err != nil {
		return nil, err
	}
	sup, err := suppression.NewHandler(d.Events, rec)
	if err != nil {
		return nil, err
	}
	msgs, err := message.NewHandler(d.Events, rec)
	if err != nil {
		return nil, err
	}
	wh, err := webhook.NewHandlers(webhook.Deps{Store: d.Events, Secrets: d.Secrets, Clock: time.Now, Rand: rand.Reader})
	if err != nil {
		return nil, err
	}
	search, err := messageview.NewReader(st.DB())
	if err != nil {
		return nil, err
	}
	whStore, err := newWebhookDeliveries(sqlDatabase{SQL: st.DB(), Dialect: st.Dialect()})
	if err != nil {
		return nil, err
	}
	wake := func() {
		if w := s.app.Workflows.Delivery; w != nil {
			w.Wake()
		}
	}
	api, err := httpapi.New(httpapi.Config{Webhooks: wh, WebhookDeliveries: whStore,
		// The submission principal is the API key's: the application records it as api:<credential>.
		Submitter: s.app.SMTPSubmission(), Tenancy: apiTenancy{Handlers: th, db: st.DB()}, Messages: msgs, Streams: st, Bodies: st,
		Suppressions: sup, Search: search, Store: st.API(), Logger: log.With("component", "httpapi"),
		Stats: func(ctx context.Context, req stats.ReportRequest) (stats.Report, error) {
			return stats.BuildReport(ctx, st.DB(), req)
		},
		AdminToken: cfg.AdminToken, MaxBodyBytes: cfg.MaxMessageSize*4/3 + 1<<20, Wake: wake,
	})
	if err != nil {
		return nil, err
	}
	return api.Handler(), nil
}

// apiTenancy finds API keys through the tenancy read model (one indexed row, then the
// credential's own stream), falling back to scanning the credential streams for a key the
// projector has not applied yet (created a moment ago, or no projector running).
type apiTenancy struct {
	*tenancy.Handlers
	db *sql.DB
}

func (t apiTenancy) CredentialByKeyHash(ctx context.Context, hash string) (tenancy.Credential, error) {
	if c, ok, err := tenancyview.CredentialByHash(ctx, t.db, hash); err == nil && ok && c.Type == tenancy.CredentialAPI {
		// The view finds the credential; its own stream says whether it is still active (the
		// view may lag a revocation by a moment).
		return t.Handlers.GetCredential(ctx, c.ID)
	}
	return t.Handlers.CredentialByKeyHash(ctx, hash)
}

// withJWKS adds /.well-known/jwks.json (the public key of the Postal-format signing key).
func withJWKS(next http.Handler, app *platform.Application, log *slog.Logger) http.Handler {
	jwks := webhooksender.JWKSHandler(app.Queries.PostalSigningKey, log)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/.well-known/jwks.json" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			jwks.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
