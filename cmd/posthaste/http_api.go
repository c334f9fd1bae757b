package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/posthaste/posthaste/adapters/httpapi"
	"github.com/posthaste/posthaste/adapters/smtpin"
	"github.com/posthaste/posthaste/adapters/sqlstore"
	"github.com/posthaste/posthaste/domain/platform"
)

// Wiring of the web role: the HTTP API (adapters/httpapi) serves /api/v1 (Postal compatible),
// /api/v2 (native, with the event feed), /livez, /readyz, /metrics and /.well-known/jwks.json,
// on the application; and the optional HTTPS listener.

// newWebHandler is everything the web role serves.
func newWebHandler(cfg Config, p *Platform, log *slog.Logger) (http.Handler, error) {
	app, err := webApplication(cfg, p, log)
	if err != nil {
		return nil, err
	}
	probes := make([]platform.Probe, 0, len(p.Pings()))
	for _, b := range p.Pings() {
		probes = append(probes, platform.Probe{Name: b.name, Ping: b.ping})
	}
	store := p.SQL.API()
	api, err := httpapi.New(httpapi.Config{App: app, Store: store, Probes: probes, Logger: log.With("component", "httpapi"),
		Metrics:    promhttp.HandlerFor(newRegistry(p), promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelError)}),
		AdminToken: cfg.AdminToken, MaxBodyBytes: cfg.MaxMessageSize*4/3 + 1<<20,
	})
	if err != nil {
		return nil, err
	}
	go expireIdempotencyKeys(store, log)
	return api.Handler(), nil
}

// webApplication composes the application the web role runs on from the platform's pieces
// (no workflows); acceptances and releases wake this process's delivery workers.
// Temporary (http branch): the wire branch's one platform.New replaces it.
func webApplication(cfg Config, p *Platform, log *slog.Logger) (*platform.Application, error) {
	if p.Messages == nil {
		return nil, errors.New("web: the store cannot accept messages")
	}
	deps, err := p.lifecycle(cfg)
	if err != nil {
		return nil, err
	}
	db := p.DB.SQL
	creds, err := sqlstore.NewCredentialIndex(db)
	if err != nil {
		return nil, err
	}
	view, err := sqlstore.NewMessageView(db)
	if err != nil {
		return nil, err
	}
	reports, err := sqlstore.NewStatsReports(db)
	if err != nil {
		return nil, err
	}
	deliveries, err := sqlstore.NewWebhookDeliveries(db, p.DB.Dialect)
	if err != nil {
		return nil, err
	}
	app, err := platform.New(platform.Deps{
		Events: p.Events, Acceptor: p.Messages, Bodies: p.Messages, Transcripts: p.Messages, Secrets: deps.secrets,
		SendCounter: p.Counter, Credentials: creds, Messages: view, Stats: reports, WebhookDeliveries: deliveries,
		Config: platform.Config{Hostname: qualified(cfg.Hostname), ReturnPathDomain: qualified(cfg.ReturnPathDomain), SPFInclude: qualified(cfg.SPFInclude)},
		Clock:  time.Now, Rand: rand.Reader, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	app.OnAccepted(func([]string) { p.wakeWorkers() })
	return app, nil
}

// qualified makes a one-label name (the embedded default's hostname on a machine called "vm" or
// "localhost") a two-label one, which platform.New requires of the platform's DNS names.
// Temporary (http branch): the wire branch decides how serve meets that rule.
func qualified(name string) string {
	if name != "" && !strings.Contains(strings.TrimSuffix(name, "."), ".") {
		return name + ".localdomain"
	}
	return name
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
