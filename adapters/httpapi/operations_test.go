package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/posthaste/posthaste/adapters/httpapi"
	"github.com/posthaste/posthaste/domain/platform"
)

// serve runs one request through h without the exchange log (for answers the OpenAPI document
// does not cover, or paths outside /api/v2).
func serve(h http.Handler, method, target string, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// /livez answers while the process runs; /readyz pings every probe, 503 naming the failed ones
// (and only them), a panicking probe counting as failed.
func TestLivezAndReadyz(t *testing.T) {
	ok := platform.Probe{Name: "sqlite", Ping: func(context.Context) error { return nil }}
	down := platform.Probe{Name: "redis", Ping: func(context.Context) error { return fmt.Errorf("dial tcp 127.0.0.1:6379: connection refused") }}
	e := newEnv(t, sqliteBackend, options{probes: []platform.Probe{ok, down}})
	code, hdr, body := e.do("GET", "/livez", nil)
	if code != 200 || string(body) != "ok\n" || hdr.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("/livez = %d %q %q", code, body, hdr.Get("Content-Type"))
	}
	code, _, body = e.do("GET", "/readyz", nil)
	if code != http.StatusServiceUnavailable || !strings.Contains(string(body), "redis: dial tcp") || strings.Contains(string(body), "sqlite") {
		t.Errorf("/readyz = %d %q, want 503 naming redis only", code, body)
	}
	if string(body) != "not ready: redis: dial tcp 127.0.0.1:6379: connection refused\n" {
		t.Errorf("/readyz body %q", body)
	}

	panics := platform.Probe{Name: "bus", Ping: func(context.Context) error { panic("boom") }}
	api, err := httpapi.New(httpapi.Config{App: e.app, Store: e.store.API(), Logger: discard, Probes: []platform.Probe{ok, panics}})
	if err != nil {
		t.Fatal(err)
	}
	if w := serve(api.Handler(), "GET", "/readyz"); w.Code != 503 || w.Body.String() != "not ready: bus: panic: boom\n" {
		t.Errorf("/readyz with a panicking probe = %d %q", w.Code, w.Body.String())
	}
	api, err = httpapi.New(httpapi.Config{App: e.app, Store: e.store.API(), Logger: discard, Probes: []platform.Probe{ok, ok}})
	if err != nil {
		t.Fatal(err)
	}
	if w := serve(api.Handler(), "GET", "/readyz"); w.Code != 200 || w.Body.String() != "ok: sqlite, sqlite\n" {
		t.Errorf("/readyz all up = %d %q", w.Code, w.Body.String())
	}
	if w := serve(api.Handler(), "POST", "/livez"); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /livez = %d", w.Code)
	}
}

// GET /metrics serves Config.Metrics (404 without one); a handler that panics answers 500 and
// the API goes on serving.
func TestMetricsHandlerIsServed(t *testing.T) {
	metrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("explode") != "" {
			panic("collector exploded")
		}
		io.WriteString(w, "posthaste_up 1\n")
	})
	e := newEnv(t, sqliteBackend, options{metrics: metrics})
	if code, _, body := e.do("GET", "/metrics", nil); code != 200 || string(body) != "posthaste_up 1\n" {
		t.Errorf("/metrics = %d %q", code, body)
	}
	if code, _, body := e.do("GET", "/metrics?explode=1", nil); code != 500 || string(body) != "internal error\n" {
		t.Errorf("/metrics panicking = %d %q", code, body)
	}
	if code, _, _ := e.do("GET", "/livez", nil); code != 200 {
		t.Errorf("/livez after a panic = %d", code)
	}
	api, err := httpapi.New(httpapi.Config{App: e.app, Store: e.store.API(), Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	if w := serve(api.Handler(), "GET", "/metrics"); w.Code != http.StatusNotFound {
		t.Errorf("/metrics without a handler = %d", w.Code)
	}
}

// New lists every missing dependency at once.
func TestNewRefusesMissingDependencies(t *testing.T) {
	_, err := httpapi.New(httpapi.Config{Probes: []platform.Probe{{Name: "x"}}})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"application is nil", "store is nil", "logger is nil", "probe 0"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not say %q", err, want)
		}
	}
}
