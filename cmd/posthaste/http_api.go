package main

import (
	"context"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/posthaste/posthaste/adapters/httpapi"
	"github.com/posthaste/posthaste/adapters/smtpin"
	"github.com/posthaste/posthaste/adapters/sqlstore"
	"github.com/posthaste/posthaste/domain/message"
	"github.com/posthaste/posthaste/domain/submission"
	"github.com/posthaste/posthaste/domain/tenancy"
	"github.com/posthaste/posthaste/projections/messageview"
	"github.com/posthaste/posthaste/projections/stats"
	"github.com/posthaste/posthaste/projections/tenancyview"
)

// Wiring of the HTTP API (adapters/httpapi) into the web role: /api/v1 (Postal compatible)
// and /api/v2 (native) beside the operational endpoints, and the optional HTTPS listener.

// withAPI serves /api/v1/ and /api/v2/ with the HTTP API and everything else with next.
func withAPI(next http.Handler, cfg Config, p *Platform, log *slog.Logger) (http.Handler, error) {
	if p.Messages == nil {
		return nil, errors.New("web: the store cannot accept messages")
	}
	deps, err := p.lifecycle(cfg)
	if err != nil {
		return nil, err
	}
	sub, err := submission.NewHandler(submission.Config{Hostname: cfg.Hostname, Domains: httpapi.NewDomainCache(deps.access, 10*time.Second, nil), Acceptor: p.Messages, Holds: deps.access})
	if err != nil {
		return nil, err
	}
	msgs, err := message.NewHandler(p.Events, deps.recorder)
	if err != nil {
		return nil, err
	}
	search, err := messageview.NewReader(p.DB.SQL)
	if err != nil {
		return nil, err
	}
	store := p.SQL.API()
	wh, err := webhookHandlers(p, deps)
	if err != nil {
		return nil, err
	}
	whStore, err := newWebhookDeliveries(p.DB)
	if err != nil {
		return nil, err
	}
	api, err := httpapi.New(httpapi.Config{Webhooks: wh, WebhookDeliveries: whStore,
		Submitter: sub, Tenancy: apiTenancy{Handlers: deps.tenancy, db: p.DB.SQL}, Messages: msgs, Streams: p.Events, Bodies: p.Messages,
		Suppressions: deps.suppressions, Search: search, Store: store, Logger: log.With("component", "httpapi"),
		Stats: func(ctx context.Context, req stats.ReportRequest) (stats.Report, error) {
			return stats.BuildReport(ctx, p.DB.SQL, req)
		},
		AdminToken: cfg.AdminToken, MaxBodyBytes: cfg.MaxMessageSize*4/3 + 1<<20, Wake: p.wakeWorkers,
	})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/api/v1/", api.Handler())
	mux.Handle("/api/v2/", api.Handler())
	mux.Handle("/", next)
	go expireIdempotencyKeys(store, log)
	return mux, nil
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

// expireIdempotencyKeys deletes keys past their 24 h now and then (Reserve ignores them anyway).
func expireIdempotencyKeys(store *sqlstore.API, log *slog.Logger) {
	defer func() {
		if v := recover(); v != nil {
			log.Error("httpapi: key expiry panicked", "panic", fmt.Sprint(v))
		}
	}()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if _, err := store.Expire(ctx, time.Now(), 24*time.Hour); err != nil {
			log.Warn("httpapi: expire idempotency keys", "err", err)
		}
		cancel()
		time.Sleep(time.Hour)
	}
}

// httpsListener opens POSTHASTE_HTTPS_LISTEN with POSTHASTE_TLS_CERT (or the generated
// self-signed certificate); nil when it is not set.
func httpsListener(cfg Config) (net.Listener, error) {
	if cfg.HTTPSListen == "" {
		return nil, nil
	}
	cert, err := smtpin.LoadCertificate(cfg.TLSCert, cfg.TLSKey, cfg.Hostname, cfg.DataDir, time.Now())
	if err != nil {
		return nil, fmt.Errorf("web: certificate: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.HTTPSListen)
	if err != nil {
		return nil, fmt.Errorf("web: listen on POSTHASTE_HTTPS_LISTEN %s: %w", cfg.HTTPSListen, err)
	}
	return tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}), nil
}
