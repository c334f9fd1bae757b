package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"github.com/posthaste/posthaste/adapters/httpapi"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"sync"
	"time"

	"github.com/posthaste/posthaste/adapters/smtpin"
	"github.com/posthaste/posthaste/adapters/sqlstore"
	"github.com/posthaste/posthaste/adapters/webhooksender"
)

// The roles of `serve --roles`: each is an edge or a workflow of the one application
// (openServer), started together and drained together.

// role is one part of serve: run blocks until ctx ends (then drains and returns nil) or fails.
type role struct {
	name string
	run  func(ctx context.Context) error
}

// buildRoles builds every configured role; nothing listens or runs yet, except the web role's
// listeners, opened here so a port in use fails serve at once.
func buildRoles(s *server, logger *slog.Logger) ([]role, error) {
	var roles []role
	for _, name := range s.cfg.Roles {
		build, ok := roleBuilders[name]
		if !ok {
			return nil, fmt.Errorf("unknown role %q", name)
		}
		r, err := build(s, logger.With("role", name))
		if err != nil {
			return nil, err
		}
		roles = append(roles, role{name, r})
	}
	return roles, nil
}

var roleBuilders = map[string]func(s *server, log *slog.Logger) (func(ctx context.Context) error, error){
	"web":       webRole,
	"projector": projectorRole,
	"relay": func(s *server, _ *slog.Logger) (func(ctx context.Context) error, error) {
		return s.app.Workflows.Relay.Run, nil
	},
	"worker":   workerRole,
	"smtp":     smtpRole,
	"webhooks": webhooksRole,
	"mx":       mxRole,
}

// runRoles runs the roles until ctx ends (SIGTERM, SIGINT) or one role fails; then every role
// drains (HTTP stops accepting and finishes its requests, the relay its batch, the runner its
// transactions) and runRoles returns.
func runRoles(ctx context.Context, s *server, roles []role, logger *slog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for _, r := range roles {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := runRole(ctx, r, logger)
			if err != nil && ctx.Err() == nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("%s: %w", r.name, err)
				}
				mu.Unlock()
				cancel()
			}
		}()
	}
	logger.Info("posthaste: serving", "backend", s.b.kind, "roles", strings.Join(s.cfg.Roles, ","), "version", version)
	<-ctx.Done()
	logger.Info("posthaste: stopping, draining work in flight")
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(shutdownTimeout + 5*time.Second):
		return errors.New("shutdown: roles did not drain in time")
	}
	if firstErr != nil {
		return firstErr
	}
	logger.Info("posthaste: stopped")
	return nil
}

// runRole runs one role, turning a panic into an error.
func runRole(ctx context.Context, r role, logger *slog.Logger) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v", v)
			logger.Error("role panicked", "role", r.name, "panic", fmt.Sprint(v))
		}
	}()
	return r.run(ctx)
}

// webRole serves HTTP on POSTHASTE_HTTP_LISTEN (and HTTPS on POSTHASTE_HTTPS_LISTEN): the APIs,
// health, metrics, the event feed and the JWKS (webAPI).
func webRole(s *server, log *slog.Logger) (func(ctx context.Context) error, error) {
	cfg := s.cfg
	ln, err := net.Listen("tcp", cfg.HTTPListen)
	if err != nil {
		return nil, fmt.Errorf("web: listen on POSTHASTE_HTTP_LISTEN %s: %w", cfg.HTTPListen, err)
	}
	api, err := webAPI(s, log)
	if err != nil {
		ln.Close()
		return nil, err
	}
	tlsLn, err := httpsListener(cfg)
	if err != nil {
		ln.Close()
		return nil, err
	}
	errorLog := slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	handler := api.Handler()
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ErrorLog: errorLog}
	log.Info("http: listening", "addr", ln.Addr().String())
	return func(ctx context.Context) error {
		go api.ExpireIdempotencyKeys(ctx)
		errc := make(chan error, 2)
		go func() { errc <- srv.Serve(ln) }()
		var tlsSrv *http.Server
		if tlsLn != nil {
			tlsSrv = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ErrorLog: errorLog}
			log.Info("https: listening", "addr", tlsLn.Addr().String())
			go func() { errc <- tlsSrv.Serve(tlsLn) }()
		}
		select {
		case err := <-errc:
			return err
		case <-ctx.Done():
		}
		sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if tlsSrv != nil {
			_ = tlsSrv.Shutdown(sctx)
		}
		return srv.Shutdown(sctx)
	}, nil
}

// webAPI is everything the web role serves (adapters/httpapi): /api/v1 and /api/v2 with the
// event feed, /livez, /readyz, /metrics and /.well-known/jwks.json.
func webAPI(s *server, log *slog.Logger) (*httpapi.API, error) {
	src, err := metricsSources(s)
	if err != nil {
		return nil, err
	}
	mh, err := s.metrics.Handler(src)
	if err != nil {
		return nil, err
	}
	api, err := httpapi.New(httpapi.Config{App: s.app, Store: s.b.store.API(), Probes: s.deps.Probes, Metrics: mh,
		Logger: log.With("component", "httpapi"), AdminToken: s.cfg.AdminToken, MaxBodyBytes: s.cfg.MaxMessageSize*4/3 + 1<<20})
	if err != nil {
		return nil, err
	}
	return api, nil
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

// projectorRole runs the projection runner on the bus's queues.
func projectorRole(s *server, log *slog.Logger) (func(ctx context.Context) error, error) {
	ds, err := sqlstore.NewDrainingSubscriber(s.b.subscriber)
	if err != nil {
		return nil, err
	}
	st := s.b.store
	rn, err := sqlstore.NewRunner(st.DB(), st.Dialect(), st, ds, platformProjections(), log, sqlstore.ProjectionOptions{})
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error {
		// The runner works on its own context so that its transactions in flight finish after
		// ctx ends: stop handing out deliveries, wait until they are settled, then stop it.
		rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		defer cancel()
		errc := make(chan error, 1)
		go func() { errc <- rn.Run(rctx) }()
		select {
		case err := <-errc:
			return err
		case <-ctx.Done():
		}
		ds.Stop()
		if !ds.Wait(shutdownTimeout) {
			log.Warn("projections: deliveries still unsettled at shutdown; the bus delivers them again")
		}
		cancel()
		return <-errc
	}, nil
}

// workerRole runs delivery attempts for due messages and the expiry of old holds.
func workerRole(s *server, log *slog.Logger) (func(ctx context.Context) error, error) {
	w := s.app.Workflows
	return func(ctx context.Context) error {
		if addr := s.cfg.PprofListen; addr != "" {
			stop, err := servePprof(addr, log)
			if err != nil {
				return err
			}
			defer stop()
		}
		holds := make(chan struct{})
		go func() {
			defer close(holds)
			_ = w.HoldExpiry.Run(ctx)
		}()
		err := w.Delivery.Run(ctx)
		<-holds
		return err
	}, nil
}

// servePprof serves net/http/pprof on addr, for profiling a worker under load. It is off unless
// POSTHASTE_PPROF_LISTEN names an address (keep it on loopback: profiles reveal memory).
func servePprof(addr string, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("worker: POSTHASTE_PPROF_LISTEN: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("worker: pprof listener stopped", "error", err)
		}
	}()
	return func() { srv.Close() }, nil
}

// serverTLS is the TLS configuration of the SMTP listeners: POSTHASTE_TLS_CERT, or the
// self-signed certificate generated in the data dir.
func serverTLS(cfg Config, role string) (*tls.Config, error) {
	cert, err := smtpin.LoadCertificate(cfg.TLSCert, cfg.TLSKey, cfg.Hostname, cfg.DataDir, time.Now())
	if err != nil {
		return nil, fmt.Errorf("%s: certificate: %w", role, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// smtpRole serves submission on POSTHASTE_SMTP_LISTEN / POSTHASTE_SMTPS_LISTEN.
func smtpRole(s *server, log *slog.Logger) (func(ctx context.Context) error, error) {
	cfg := s.cfg
	tlsCfg, err := serverTLS(cfg, "smtp")
	if err != nil {
		return nil, err
	}
	sub := s.app.SMTPSubmission()
	srv, err := smtpin.New(smtpin.Config{
		Hostname:          cfg.Hostname,
		Listen:            cfg.SMTPListen,
		ListenTLS:         cfg.SMTPSListen,
		TLS:               tlsCfg,
		AllowInsecureAuth: cfg.SMTPAllowInsecureAuth,
		MaxMessageBytes:   cfg.MaxMessageSize,
		Submitter:         sub,
		Authenticator:     sub,
		Limiter:           sub.Limiter(),
		Logger:            log,
	})
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error {
		if err := srv.Start(); err != nil {
			return err
		}
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		return srv.Shutdown(sctx)
	}, nil
}

// webhooksRole sends the webhook deliveries the webhooks projection enqueues.
func webhooksRole(s *server, log *slog.Logger) (func(ctx context.Context) error, error) {
	q, err := sqlstore.NewWebhookQueue(s.b.store.DB(), s.b.store.Dialect())
	if err != nil {
		return nil, err
	}
	sender, err := webhooksender.New(webhooksender.Config{
		Owner: leaseOwner(), Schedule: s.app.Config().WebhookSchedule, Timeout: s.cfg.WebhookTimeout,
		AllowPrivate: s.cfg.WebhookAllowPrivate,
	}, webhooksender.Deps{
		Queue: q, Secrets: s.deps.Secrets, Disabler: s.app.WebhookDisabler(), PostalKey: s.app.Queries.PostalSigningKey,
		Clock: time.Now, Rand: webhooksender.DefaultRand, Logger: log, Observer: s.metrics.Webhooks(),
	})
	if err != nil {
		return nil, err
	}
	return sender.Run, nil
}

// mxRole serves the inbound MX of the return-path domain (POSTHASTE_MX_LISTEN): the reports it
// receives go to the application's intake, and those left pending are retried.
func mxRole(s *server, log *slog.Logger) (func(ctx context.Context) error, error) {
	cfg := s.cfg
	if len(cfg.MXListen) == 0 {
		return nil, errors.New("mx: POSTHASTE_MX_LISTEN is not set")
	}
	tlsCfg, err := serverTLS(cfg, "mx")
	if err != nil {
		return nil, err
	}
	w := s.app.Workflows
	srv, err := smtpin.NewMX(smtpin.MXConfig{
		Hostname:        cfg.Hostname,
		Listen:          cfg.MXListen,
		TLS:             tlsCfg,
		MaxMessageBytes: cfg.MaxMessageSize,
		Receiver:        w.Intake,
		Logger:          log,
	})
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error {
		if err := srv.Start(); err != nil {
			return err
		}
		sweep := make(chan struct{})
		go func() {
			defer close(sweep)
			_ = w.PendingReports.Run(ctx)
		}()
		<-ctx.Done()
		<-sweep
		sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		return srv.Shutdown(sctx)
	}, nil
}
