package httpapi

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/posthaste/posthaste/domain/platform"
	"github.com/posthaste/posthaste/events"
)

// Config wires an API.
type Config struct {
	// App is the platform: every command and query the API runs (required).
	App *platform.Application
	// Store keeps the API's own rows: Postal ids and idempotency keys (required).
	Store Store
	// Probes are the backends GET /readyz pings (none: always ready).
	Probes []platform.Probe
	// Metrics is served at GET /metrics (nil: 404).
	Metrics http.Handler
	Logger  *slog.Logger // required
	// AdminToken, when set, is accepted as "Authorization: Bearer <token>" on /api/v2 for
	// management of any server (server-scoped calls then name the server: ?server=ORG/NAME),
	// and is what the event feed GET /api/v2/events requires.
	AdminToken string
	// MaxBodyBytes bounds request bodies (413 above). Default 36 MiB (25 MB of mail in base64).
	MaxBodyBytes int64
	// RatePerSecond and Burst bound requests per API key (token bucket, in process).
	// Defaults 5000/s and 10000; a negative rate disables the limit.
	RatePerSecond float64
	Burst         int
	// KeyCacheTTL is how long a checked API key is trusted without asking the application
	// again (a revocation through another node takes effect within it; one through this API
	// at once). Default 5s.
	KeyCacheTTL time.Duration
	// IdempotencyTTL is how long an Idempotency-Key is kept. Default 24h.
	IdempotencyTTL time.Duration
	Clock          func() time.Time // time.Now when nil
	Random         io.Reader        // crypto/rand when nil
}

// API serves everything the web role serves: /api/v1, /api/v2 (with the event feed), /livez,
// /readyz, /metrics and /.well-known/jwks.json.
type API struct {
	cfg   Config
	app   *platform.Application
	log   *slog.Logger
	mux   *http.ServeMux
	admin platform.Caller // the admin token's caller: api:admin, an operator

	keys    sync.Map // API key hash -> keyEntry
	limitMu sync.Mutex
	buckets map[string]*bucket
	routes  []string // /api/v2 patterns
}

// adminActor is who the admin token's commands are recorded as.
var adminActor = events.Actor{Type: events.ActorAPI, ID: "admin"}

// New refuses missing dependencies, listing every one.
func New(cfg Config) (*API, error) {
	var errs []error
	if cfg.App == nil {
		errs = append(errs, errors.New("application is nil"))
	}
	if cfg.Store == nil {
		errs = append(errs, errors.New("store is nil"))
	}
	if cfg.Logger == nil {
		errs = append(errs, errors.New("logger is nil"))
	}
	for i, p := range cfg.Probes {
		if p.Name == "" || p.Ping == nil {
			errs = append(errs, fmt.Errorf("probe %d has no name or no ping", i))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("httpapi: new: %w", errors.Join(errs...))
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 36 << 20
	}
	if cfg.RatePerSecond == 0 {
		cfg.RatePerSecond = 5000
	}
	if cfg.Burst <= 0 {
		cfg.Burst = 10000
	}
	if cfg.KeyCacheTTL <= 0 {
		cfg.KeyCacheTTL = 5 * time.Second
	}
	if cfg.IdempotencyTTL <= 0 {
		cfg.IdempotencyTTL = 24 * time.Hour
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Random == nil {
		cfg.Random = rand.Reader
	}
	a := &API{cfg: cfg, app: cfg.App, log: cfg.Logger, mux: http.NewServeMux(), admin: platform.Operator(adminActor),
		buckets: map[string]*bucket{}}
	a.routesV1()
	a.routesV2()
	a.routesWebhooks()
	a.routesEvents()
	a.routesOperations()
	a.routesJWKS()
	return a, nil
}

// Handler serves every route of the API (mount it at "/"): a handler that panics answers 500
// and is logged once; request bodies are bounded by MaxBodyBytes.
func (a *API) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				a.log.Error("httpapi: handler panicked", "path", r.URL.Path, "panic", fmt.Sprint(v))
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		r.Body = http.MaxBytesReader(w, r.Body, a.cfg.MaxBodyBytes)
		a.mux.ServeHTTP(w, r)
	})
}

// clientIP is the remote address of the connection (no proxy headers are trusted).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// randomToken draws n characters of [a-zA-Z0-9] without modulo bias.
func randomToken(r io.Reader, n int) (string, error) {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	var b strings.Builder
	buf := make([]byte, 1)
	for b.Len() < n {
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		if int(buf[0]) >= 256-256%len(alphabet) {
			continue
		}
		b.WriteByte(alphabet[int(buf[0])%len(alphabet)])
	}
	return b.String(), nil
}

// ExpireIdempotencyKeys deletes the idempotency keys older than Config.IdempotencyTTL, at once and
// then hourly, until ctx ends (Reserve ignores expired keys anyway: this only keeps the table
// small). Run it in its own goroutine beside the server.
func (a *API) ExpireIdempotencyKeys(ctx context.Context) {
	defer func() {
		if v := recover(); v != nil {
			a.log.Error("httpapi: key expiry panicked", "panic", fmt.Sprint(v))
		}
	}()
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		ectx, cancel := context.WithTimeout(ctx, time.Minute)
		if _, err := a.cfg.Store.Expire(ectx, a.cfg.Clock(), a.cfg.IdempotencyTTL); err != nil && ctx.Err() == nil {
			a.log.Warn("httpapi: expire idempotency keys", "err", err)
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
