package httpapi

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/posthaste/posthaste/domain/tenancy"
)

// Config wires an API. Search may be nil (GET /api/v2/messages answers 503 then).
type Config struct {
	Submitter    Submitter
	Tenancy      Tenancy
	Messages     Messages
	Streams      Streams
	Bodies       Bodies
	Suppressions Suppressions
	Search       Search
	Store        Store
	Stats        StatsFunc // nil: GET /api/v2/stats answers 503
	// Webhooks and WebhookDeliveries serve /api/v2/webhooks (503 when nil).
	Webhooks          Webhooks
	WebhookDeliveries WebhookDeliveries
	Logger            *slog.Logger
	// AdminToken, when set, is accepted as "Authorization: Bearer <token>" on /api/v2 for
	// management of any server (server-scoped calls then name the server: ?server=ORG/NAME).
	AdminToken string
	// MaxBodyBytes bounds request bodies (413 above). Default 36 MiB (25 MB of mail in base64).
	MaxBodyBytes int64
	// RatePerSecond and Burst bound requests per API key (token bucket, in process).
	// Defaults 5000/s and 10000; a negative rate disables the limit.
	RatePerSecond float64
	Burst         int
	// KeyCacheTTL is how long a checked API key is trusted without reading its credential
	// again (a revocation takes effect within it). Default 5s.
	KeyCacheTTL time.Duration
	// IdempotencyTTL is how long an Idempotency-Key is kept. Default 24h.
	IdempotencyTTL time.Duration
	// Wake is called after an acceptance (nudges local delivery workers); may be nil.
	Wake   func()
	Clock  func() time.Time // time.Now when nil
	Random io.Reader        // crypto/rand when nil
}

// API serves /api/v1 and /api/v2.
type API struct {
	cfg     Config
	log     *slog.Logger
	mux     *http.ServeMux
	keys    sync.Map // hash -> keyEntry
	limitMu sync.Mutex
	buckets map[string]*bucket
	routes  []string // /api/v2 patterns
}

type keyEntry struct {
	cred  tenancy.Credential
	until time.Time
}

// New refuses missing dependencies.
func New(cfg Config) (*API, error) {
	var errs []error
	if cfg.Submitter == nil {
		errs = append(errs, errors.New("submitter is nil"))
	}
	if cfg.Tenancy == nil {
		errs = append(errs, errors.New("tenancy is nil"))
	}
	if cfg.Messages == nil {
		errs = append(errs, errors.New("messages is nil"))
	}
	if cfg.Streams == nil {
		errs = append(errs, errors.New("streams is nil"))
	}
	if cfg.Bodies == nil {
		errs = append(errs, errors.New("bodies is nil"))
	}
	if cfg.Suppressions == nil {
		errs = append(errs, errors.New("suppressions is nil"))
	}
	if cfg.Store == nil {
		errs = append(errs, errors.New("store is nil"))
	}
	if cfg.Logger == nil {
		errs = append(errs, errors.New("logger is nil"))
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
	a := &API{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(), buckets: map[string]*bucket{}}
	a.routesV1()
	a.routesV2()
	a.routesWebhooks()
	return a, nil
}

// Handler serves /api/v1/... and /api/v2/...; mount it under "/api/".
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

// principal is who calls: an API key of one server, or the admin token.
type principal struct {
	ServerID     string
	CredentialID string
	Hold         bool
	Admin        bool
	key          string // rate-limit key
}

var (
	errNoKey      = errors.New("no api key")
	errBadKey     = errors.New("invalid api key")
	errRevokedKey = errors.New("revoked api key")
)

// authKey resolves an API key to its credential (cached for KeyCacheTTL).
func (a *API) authKey(ctx context.Context, key string) (principal, error) {
	if key == "" {
		return principal{}, errNoKey
	}
	hash := tenancy.HashSecret(key)
	now := a.cfg.Clock()
	if e, ok := a.keys.Load(hash); ok && now.Before(e.(keyEntry).until) {
		c := e.(keyEntry).cred
		return principal{ServerID: c.ServerID, CredentialID: c.ID, Hold: c.Hold, key: "k:" + c.ID}, nil
	}
	c, err := a.cfg.Tenancy.CredentialByKeyHash(ctx, hash)
	if errors.Is(err, tenancy.ErrNotFound) {
		// A credential created a moment ago may still be on its way into the store's read
		// path (MariaDB stamps positions after commit): look once more before refusing.
		c, err = a.cfg.Tenancy.CredentialByKeyHash(ctx, hash)
	}
	if errors.Is(err, tenancy.ErrNotFound) {
		return principal{}, errBadKey
	}
	if err != nil {
		return principal{}, fmt.Errorf("httpapi: check key: %w", err)
	}
	if c.Revoked {
		a.keys.Delete(hash)
		return principal{}, errRevokedKey
	}
	a.keys.Store(hash, keyEntry{cred: c, until: now.Add(a.cfg.KeyCacheTTL)})
	return principal{ServerID: c.ServerID, CredentialID: c.ID, Hold: c.Hold, key: "k:" + c.ID}, nil
}

// isAdmin compares a bearer token with the admin token in constant time.
func (a *API) isAdmin(token string) bool {
	return a.cfg.AdminToken != "" && token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(a.cfg.AdminToken)) == 1
}

// bucket is one key's token bucket.
type bucket struct {
	tokens float64
	last   time.Time
}

// allow takes one token of key's bucket; it returns the wait before the next token when empty.
func (a *API) allow(key string) (bool, time.Duration) {
	if a.cfg.RatePerSecond < 0 {
		return true, 0
	}
	now := a.cfg.Clock()
	a.limitMu.Lock()
	defer a.limitMu.Unlock()
	b := a.buckets[key]
	if b == nil {
		b = &bucket{tokens: float64(a.cfg.Burst), last: now}
		a.buckets[key] = b
	}
	b.tokens = math.Min(float64(a.cfg.Burst), b.tokens+now.Sub(b.last).Seconds()*a.cfg.RatePerSecond)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / a.cfg.RatePerSecond * float64(time.Second))
	return false, wait
}

// retryAfter renders a wait as whole seconds, at least 1.
func retryAfter(d time.Duration) string {
	s := int(math.Ceil(d.Seconds()))
	if s < 1 {
		s = 1
	}
	return strconv.Itoa(s)
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
