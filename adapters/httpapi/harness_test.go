package httpapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/httpapi"
	"github.com/posthaste/posthaste/adapters/sqlstore"
	"github.com/posthaste/posthaste/adapters/sqlstore/sqlstoretest"
	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/message"
	"github.com/posthaste/posthaste/domain/sendpolicy"
	"github.com/posthaste/posthaste/domain/submission"
	"github.com/posthaste/posthaste/domain/suppression"
	"github.com/posthaste/posthaste/domain/tenancy"
	"github.com/posthaste/posthaste/domain/webhook"
	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections/messageview"
	"github.com/posthaste/posthaste/projections/stats"
	"github.com/posthaste/posthaste/projections/webhookqueue"
)

// backend is the store the API runs on (events, acceptance, bodies, its own rows, the SQL
// database), on SQLite or MariaDB.
type backend = *sqlstore.Store

// env is a running API on a real store with one org "acme" and servers acme/main
// (domain example.org, verified) and acme/other (domain other.org).
type env struct {
	t       testing.TB
	url     string
	api     *httpapi.API
	store   backend
	dialect string
	th      *tenancy.Handlers
	key     string // api key of acme/main
	other   string // api key of acme/other
	admin   string
	mu      sync.Mutex
	log     []exchange // every /api/v2 response, for the contract test
}

// exchange is one /api/v2 request and its response, as the API saw and wrote them.
type exchange struct {
	Method, Path string
	Query        string // raw query, without "?"
	ReqHeader    http.Header
	ReqBody      []byte
	Status       int
	Type         string
	Body         []byte
}

type options struct {
	rate  float64
	burst int
	max   int64
}

func sqliteBackend(t testing.TB) (backend, string) {
	return sqlstoretest.SQLite(t), "sqlite"
}

func mariadbBackend(t testing.TB) (backend, string) {
	return sqlstoretest.MariaDB(t, sqlstore.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))), "mysql"
}

func newEnv(t testing.TB, mk func(t testing.TB) (backend, string), o options) *env {
	t.Helper()
	ctx := context.Background()
	st, dialect := mk(t)
	key := make([]byte, 32)
	rand.Read(key)
	var secrets tenancy.SecretStore
	secrets, err := st.Secrets(key, rand.Reader, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	th, err := tenancy.NewHandlers(tenancy.Deps{Store: st, Clock: time.Now, Rand: rand.Reader, Secrets: secrets,
		DNS:      tenancy.DNSConfig{SPFInclude: "spf.posthaste.test", ReturnPathDomain: "rp.posthaste.test", Hostname: "posthaste.test"},
		Resolver: emptyResolver{}})
	if err != nil {
		t.Fatal(err)
	}
	rec := domain.Recorder{Clock: time.Now}
	sup, err := suppression.NewHandler(st, rec)
	if err != nil {
		t.Fatal(err)
	}
	acc, err := sendpolicy.New(th, sup, nil, st, rec)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := submission.NewHandler(submission.Config{Hostname: "posthaste.test", Domains: httpapi.NewDomainCache(acc, 10*time.Second, nil), Acceptor: st, Holds: acc})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := message.NewHandler(st, rec)
	if err != nil {
		t.Fatal(err)
	}
	search, err := messageview.NewReader(st.DB())
	if err != nil {
		t.Fatal(err)
	}
	store := st.API()
	actor := events.Actor{Type: events.ActorCLI, ID: "test"}
	if _, err := th.CreateOrg(ctx, tenancy.CreateOrg{Name: "acme", Actor: actor}); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, store: st, dialect: dialect, th: th, admin: "admin-token-for-tests-0123456789"}
	for _, s := range []struct{ name, domain string }{{"main", "example.org"}, {"other", "other.org"}} {
		ref := tenancy.ServerRef{Org: "acme", Name: s.name}
		if _, err := th.CreateServer(ctx, tenancy.CreateServer{Ref: ref, Actor: actor}); err != nil {
			t.Fatal(err)
		}
		if _, err := th.AddDomain(ctx, tenancy.AddDomain{Domain: s.domain, Server: ref, SkipVerification: true, Actor: actor}); err != nil {
			t.Fatal(err)
		}
		nc, err := th.CreateCredential(ctx, tenancy.CreateCredential{Server: ref, Type: tenancy.CredentialAPI, Actor: actor})
		if err != nil {
			t.Fatal(err)
		}
		if s.name == "main" {
			e.key = nc.Key
		} else {
			e.other = nc.Key
		}
	}
	wh, err := webhook.NewHandlers(webhook.Deps{Store: st, Secrets: secrets, Clock: time.Now, Rand: rand.Reader})
	if err != nil {
		t.Fatal(err)
	}
	whReader, err := webhookqueue.NewReader(st.DB())
	if err != nil {
		t.Fatal(err)
	}
	whQueue, err := sqlstore.NewWebhookQueue(st.DB(), sqlstoreDialect(dialect))
	if err != nil {
		t.Fatal(err)
	}
	whStore := webhookDeliveries{whReader, whQueue}
	api, err := httpapi.New(httpapi.Config{Webhooks: wh, WebhookDeliveries: whStore, Submitter: sub, Tenancy: th, Messages: msgs, Streams: st, Bodies: st, Suppressions: sup,
		Search: search, Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), AdminToken: e.admin,
		Stats: func(ctx context.Context, req stats.ReportRequest) (stats.Report, error) {
			return stats.BuildReport(ctx, st.DB(), req)
		},
		RatePerSecond: o.rate, Burst: o.burst, MaxBodyBytes: o.max})
	if err != nil {
		t.Fatal(err)
	}
	e.api = api
	h := api.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqBody, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(reqBody))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
		if len(r.URL.Path) > 8 && r.URL.Path[:8] == "/api/v2/" {
			e.mu.Lock()
			e.log = append(e.log, exchange{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, ReqHeader: r.Header.Clone(), ReqBody: reqBody,
				Status: rec.Code, Type: rec.Header().Get("Content-Type"), Body: rec.Body.Bytes()})
			e.mu.Unlock()
		}
	}))
	t.Cleanup(srv.Close)
	if t, ok := t.(*testing.T); ok {
		// Every response of every test validates against the OpenAPI document (not in
		// benchmarks: they record thousands of sends).
		t.Cleanup(func() { checkExchanges(t, e) })
	}
	e.url = srv.URL
	return e
}

// do sends a request with headers (name, value pairs) and returns status, headers and body.
func (e *env) do(method, path string, body any, hdr ...string) (int, http.Header, []byte) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, out
}

// v2 calls /api/v2 with the main server's key and decodes a JSON answer into v (if not nil).
func (e *env) v2(method, path string, body any, want int, v any, hdr ...string) []byte {
	e.t.Helper()
	code, _, out := e.do(method, path, body, append([]string{"Authorization", "Bearer " + e.key}, hdr...)...)
	if code != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, code, want, out)
	}
	if v != nil {
		if err := json.Unmarshal(out, v); err != nil {
			e.t.Fatalf("%s %s: %v: %s", method, path, err, out)
		}
	}
	return out
}

// postal calls a Postal v1 endpoint with key and returns the decoded envelope.
func (e *env) postal(path, key string, params any, hdr ...string) postalReply {
	e.t.Helper()
	h := []string{}
	if key != "" {
		h = append(h, "X-Server-API-Key", key)
	}
	code, _, out := e.do("POST", path, params, append(h, hdr...)...)
	if code != http.StatusOK {
		e.t.Fatalf("%s: HTTP %d (Postal answers 200 always): %s", path, code, out)
	}
	var r postalReply
	if err := json.Unmarshal(out, &r); err != nil {
		e.t.Fatalf("%s: %v: %s", path, err, out)
	}
	r.raw = out
	return r
}

type postalReply struct {
	Status string          `json:"status"`
	Time   *float64        `json:"time"`
	Flags  map[string]any  `json:"flags"`
	Data   json.RawMessage `json:"data"`
	raw    []byte
}

func (r postalReply) code() string {
	var d struct{ Code string }
	json.Unmarshal(r.Data, &d)
	return d.Code
}

// queuedCount counts message.queued events of the store.
func (e *env) queuedCount() int {
	e.t.Helper()
	recs, err := e.store.Query(context.Background(), domain.EventFilter{StreamType: events.StreamMessage, Limit: 1 << 20})
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, r := range recs {
		if r.Envelope.Type == "message.queued" {
			n++
		}
	}
	return n
}

// project applies every message event to the messages read model (no projector runs here;
// on MariaDB positions are stamped by the relay, so Replay would see nothing yet).
func (e *env) project() {
	e.t.Helper()
	ctx := context.Background()
	recs, err := e.store.Query(ctx, domain.EventFilter{StreamType: events.StreamMessage, Limit: 1 << 20})
	if err != nil {
		e.t.Fatal(err)
	}
	tx, err := e.store.DB().BeginTx(ctx, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	defer tx.Rollback()
	ptx := sqlstore.NewProjectionTx(tx, sqlstoreDialect(e.dialect))
	p := messageview.New()
	for _, r := range recs {
		if err := p.Apply(ctx, ptx, r); err != nil {
			e.t.Fatal(err)
		}
	}
	if err := p.Flush(ctx, ptx); err != nil {
		e.t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		e.t.Fatal(err)
	}
}

type emptyResolver struct{}

func (emptyResolver) LookupTXT(context.Context, string) ([]string, error)    { return nil, nil }
func (emptyResolver) LookupCNAME(context.Context, string) (string, error)    { return "", nil }
func (emptyResolver) LookupMX(context.Context, string) ([]tenancy.MX, error) { return nil, nil }
func (emptyResolver) LookupIP(context.Context, string) ([]netip.Addr, error) { return nil, nil }

// sqlstoreDialect is the sqlstore dialect of a backend's dialect name ("mysql" or "sqlite").
func sqlstoreDialect(name string) sqlstore.Dialect {
	if name == "sqlite" {
		return sqlstore.SQLite
	}
	return sqlstore.MariaDB
}

// webhookDeliveries lists deliveries from the read model and re-queues them through the queue.
type webhookDeliveries struct {
	*webhookqueue.Reader
	*sqlstore.WebhookQueue
}
