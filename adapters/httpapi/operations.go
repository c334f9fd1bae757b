package httpapi

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/posthaste/posthaste/domain/platform"
)

// The operational endpoints of the web role: GET /livez (the process runs), GET /readyz (every
// probe answers; 503 naming the failed ones) and GET /metrics (Config.Metrics; 404 without it).

// readyTimeout bounds one readiness check (every probe at once).
const readyTimeout = 3 * time.Second

func (a *API) routesOperations() {
	a.mux.HandleFunc("GET /livez", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	a.mux.HandleFunc("GET /readyz", a.readyz)
	if a.cfg.Metrics != nil {
		a.mux.Handle("GET /metrics", a.cfg.Metrics)
	}
}

func (a *API) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	failed := failedProbes(ctx, a.cfg.Probes)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if len(failed) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		for _, f := range failed {
			fmt.Fprintf(w, "not ready: %s\n", f)
		}
		a.log.Warn("readiness check failed", "failed", strings.Join(failed, "; "))
		return
	}
	names := make([]string, len(a.cfg.Probes))
	for i, p := range a.cfg.Probes {
		names[i] = p.Name
	}
	fmt.Fprintf(w, "ok: %s\n", strings.Join(names, ", "))
}

// failedProbes pings every probe concurrently and returns "name: error" for each failure (a
// panic is one), in the order given.
func failedProbes(ctx context.Context, probes []platform.Probe) []string {
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
