package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/posthaste/posthaste/domain/platform"
)

// Until the http branch lands (health moves to adapters/httpapi, whose Handler serves it).

// newHTTPHandler serves the operational endpoints: /livez (the process runs), /readyz (every
// backend answers; 503 naming the failed ones) and /metrics (nil: 404).
func newHTTPHandler(probes []platform.Probe, metrics http.Handler, logger *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		failed := checkProbes(ctx, probes)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if len(failed) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			for _, f := range failed {
				fmt.Fprintf(w, "not ready: %s\n", f)
			}
			logger.Warn("readiness check failed", "failed", strings.Join(failed, "; "))
			return
		}
		names := make([]string, len(probes))
		for i, p := range probes {
			names[i] = p.Name
		}
		fmt.Fprintf(w, "ok: %s\n", strings.Join(names, ", "))
	})
	if metrics != nil {
		mux.Handle("GET /metrics", metrics)
	}
	return recoverHandler(mux, logger)
}

// checkProbes pings every backend concurrently and returns "name: error" for each failure, in
// the order given.
func checkProbes(ctx context.Context, probes []platform.Probe) []string {
	errs := make([]error, len(probes))
	done := make(chan struct{}, len(probes))
	for i, p := range probes {
		go func() {
			defer func() {
				if r := recover(); r != nil {
					errs[i] = fmt.Errorf("panic: %v", r)
				}
				done <- struct{}{}
			}()
			errs[i] = p.Ping(ctx)
		}()
	}
	for range probes {
		<-done
	}
	var failed []string
	for i, err := range errs {
		if err != nil {
			failed = append(failed, probes[i].Name+": "+strings.ReplaceAll(err.Error(), "\n", "; "))
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
