package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/posthaste/posthaste/adapters/sqlstore"
	"github.com/posthaste/posthaste/domain/relay"
)

// shutdownTimeout bounds the drain after SIGTERM: HTTP requests in flight, the relay's batch,
// the projections' transactions.
const shutdownTimeout = 30 * time.Second

// role is one part of serve: run blocks until ctx ends (then drains and returns nil) or fails.
type role struct {
	name string
	run  func(ctx context.Context) error
}

// runRoles runs the configured roles until ctx ends (SIGTERM, SIGINT) or one role fails; then
// every role drains (HTTP stops accepting and finishes its requests, the relay its batch, the
// runner its transactions) and runRoles returns.
func runRoles(ctx context.Context, cfg Config, p *Platform, logger *slog.Logger) error {
	var roles []role
	for _, name := range cfg.Roles {
		r, err := buildRole(name, cfg, p, logger)
		if err != nil {
			return err
		}
		roles = append(roles, r)
	}
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
	logger.Info("posthaste: serving", "backend", p.Kind(), "roles", strings.Join(cfg.Roles, ","), "version", version)
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

func buildRole(name string, cfg Config, p *Platform, logger *slog.Logger) (role, error) {
	log := logger.With("role", name)
	switch name {
	case "web":
		ln, err := net.Listen("tcp", cfg.HTTPListen)
		if err != nil {
			return role{}, fmt.Errorf("web: listen on POSTHASTE_HTTP_LISTEN %s: %w", cfg.HTTPListen, err)
		}
		apiHandler, err := withAPI(newHTTPHandler(p.Pings(), newRegistry(p), log), cfg, p, log)
		if err != nil {
			return role{}, err
		}
		handler, err := withJWKS(withEventsFeed(apiHandler, p.Events, cfg.AdminToken, log), cfg, p, log)
		if err != nil {
			return role{}, err
		}
		tlsLn, err := httpsListener(cfg)
		if err != nil {
			return role{}, err
		}
		srv := &http.Server{
			Handler:           handler,
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		}
		log.Info("http: listening", "addr", ln.Addr().String())
		return role{name, func(ctx context.Context) error {
			errc := make(chan error, 2)
			go func() { errc <- srv.Serve(ln) }()
			var tlsSrv *http.Server
			if tlsLn != nil {
				tlsSrv = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ErrorLog: srv.ErrorLog}
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
		}}, nil
	case "relay":
		r, err := relay.New(relay.Config{Notify: p.notify, DrainTimeout: shutdownTimeout, Observer: p.relayMetrics},
			p.Outbox, p.Publisher, p.Locker, log, time.Now)
		if err != nil {
			return role{}, err
		}
		return role{name, r.Run}, nil
	case "projector":
		ds, err := sqlstore.NewDrainingSubscriber(p.Subscriber)
		if err != nil {
			return role{}, err
		}
		rn, err := sqlstore.NewRunner(p.DB.SQL, p.DB.Dialect, p.Events, ds, p.Projections, log, sqlstore.ProjectionOptions{})
		if err != nil {
			return role{}, err
		}
		return role{name, func(ctx context.Context) error {
			// The runner works on its own context so that its transactions in flight finish
			// after ctx ends: stop handing out deliveries, wait until they are settled, then stop it.
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
		}}, nil
	case "smtp", "worker":
		deps, err := p.lifecycle(cfg)
		if err != nil {
			return role{}, err
		}
		if name == "smtp" {
			return buildSMTPRole(cfg, p, deps, log)
		}
		return buildWorkerRole(cfg, p, deps, log)
	case "webhooks":
		return buildWebhooksRole(cfg, p, log)
	case "mx":
		return buildMXRole(cfg, p, log)
	}
	return role{}, fmt.Errorf("unknown role %q", name)
}
