package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// backendPing checks that one backend answers (mariadb, sqlite, rabbitmq, redis).
type backendPing struct {
	name string
	ping func(ctx context.Context) error
}

// newHTTPHandler serves the operational endpoints: /livez (the process runs), /readyz (every
// backend answers; 503 naming the failed ones) and /metrics (Prometheus).
func newHTTPHandler(pings []backendPing, reg *prometheus.Registry, logger *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		failed := checkBackends(ctx, pings)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if len(failed) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			for _, f := range failed {
				fmt.Fprintf(w, "not ready: %s\n", f)
			}
			logger.Warn("readiness check failed", "failed", strings.Join(failed, "; "))
			return
		}
		names := make([]string, len(pings))
		for i, p := range pings {
			names[i] = p.name
		}
		fmt.Fprintf(w, "ok: %s\n", strings.Join(names, ", "))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelError)}))
	return recoverHandler(mux, logger)
}

// checkBackends pings every backend concurrently and returns "name: error" for each failure,
// in the order given.
func checkBackends(ctx context.Context, pings []backendPing) []string {
	errs := make([]error, len(pings))
	done := make(chan struct{}, len(pings))
	for i, p := range pings {
		go func() {
			defer func() {
				if r := recover(); r != nil {
					errs[i] = fmt.Errorf("panic: %v", r)
				}
				done <- struct{}{}
			}()
			errs[i] = p.ping(ctx)
		}()
	}
	for range pings {
		<-done
	}
	var failed []string
	for i, err := range errs {
		if err != nil {
			failed = append(failed, pings[i].name+": "+strings.ReplaceAll(err.Error(), "\n", "; "))
		}
	}
	return failed
}

func recoverHandler(h http.Handler, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				logger.Error("http handler panicked", "path", r.URL.Path, "panic", fmt.Sprint(v))
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		h.ServeHTTP(w, r)
	})
}
