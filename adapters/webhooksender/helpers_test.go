package webhooksender_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/sqlstore"
	"github.com/posthaste/posthaste/adapters/sqlstore/sqlstoretest"
	"github.com/posthaste/posthaste/adapters/webhooksender"
	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/tenancy"
	"github.com/posthaste/posthaste/domain/webhook"
	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections/webhookqueue"
)

// fixture is one backend with the webhook handlers, the delivery store and the projection
// applied by hand (as the runner would, one transaction per batch).
type fixture struct {
	es      domain.EventStore
	db      *sql.DB
	dialect string
	secrets tenancy.SecretStore
	h       *webhook.Handlers
	store   webhookStore
	clock   *fakeClock
}

// webhookStore is the delivery tables: the read model's listing and the sender's queue.
type webhookStore struct {
	*webhookqueue.Reader
	*sqlstore.WebhookQueue
}

// sqlDialect is the sqlstore dialect of the fixture's database.
func (f *fixture) sqlDialect() sqlstore.Dialect {
	if f.dialect == "sqlite" {
		return sqlstore.SQLite
	}
	return sqlstore.MariaDB
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var key = make([]byte, 32)

func backends() map[string]func(t testing.TB) *fixture {
	return map[string]func(t testing.TB) *fixture{
		"sqlite": func(t testing.TB) *fixture {
			s := sqlstoretest.SQLite(t)
			sec, err := s.Secrets(key, rand.Reader, time.Now)
			if err != nil {
				t.Fatal(err)
			}
			return newFixture(t, s, s.DB(), "sqlite", sec)
		},
		"mariadb": func(t testing.TB) *fixture {
			s := sqlstoretest.MariaDB(t)
			sec, err := s.Secrets(key, rand.Reader, time.Now)
			if err != nil {
				t.Fatal(err)
			}
			return newFixture(t, s, s.DB(), "mysql", sec)
		},
	}
}

func newFixture(t testing.TB, es domain.EventStore, db *sql.DB, dialect string, sec tenancy.SecretStore) *fixture {
	f := &fixture{es: es, db: db, dialect: dialect, secrets: sec, clock: &fakeClock{t: time.Now().UTC()}}
	var err error
	f.h, err = webhook.NewHandlers(webhook.Deps{Store: es, Secrets: sec, Clock: time.Now, Rand: rand.Reader})
	if err != nil {
		t.Fatal(err)
	}
	if f.store.Reader, err = webhookqueue.NewReader(db); err != nil {
		t.Fatal(err)
	}
	if f.store.WebhookQueue, err = sqlstore.NewWebhookQueue(db, f.sqlDialect()); err != nil {
		t.Fatal(err)
	}
	return f
}

// project applies records to the webhooks projection in one transaction.
func (f *fixture) project(t testing.TB, envs []events.Envelope) {
	t.Helper()
	ctx := context.Background()
	for len(envs) > 0 {
		n := min(len(envs), 2000)
		tx, err := f.db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		ptx := sqlstore.NewProjectionTx(tx, f.sqlDialect())
		for _, e := range envs[:n] {
			if err := (webhookqueue.Projection{}).Apply(ctx, ptx, events.Record{Envelope: e}); err != nil {
				tx.Rollback()
				t.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		envs = envs[n:]
	}
}

// subscribe creates a subscription and projects its creation; it returns it with its secret.
func (f *fixture) subscribe(t testing.TB, url string, args ...string) (webhook.Subscription, string) {
	t.Helper()
	format := ""
	if len(args) > 0 {
		format = args[0]
	}
	s, secret, err := f.h.Create(context.Background(), webhook.Create{ServerID: "acme/main", URL: url, Format: format,
		Cause: domain.Cause{Actor: events.Actor{Type: events.ActorCLI, ID: "test"}}})
	if err != nil {
		t.Fatal(err)
	}
	f.projectStream(t, s.ID)
	return s, secret
}

func (f *fixture) projectStream(t testing.TB, id string) {
	t.Helper()
	recs, err := f.es.ReadStream(context.Background(), events.StreamWebhook, id, 1)
	if err != nil {
		t.Fatal(err)
	}
	var envs []events.Envelope
	for _, r := range recs {
		envs = append(envs, r.Envelope)
	}
	f.project(t, envs)
}

// messageEvents returns a queued event and the given later events of one message, at t.
func messageEvents(t testing.TB, id string, at time.Time, later ...events.Event) []events.Envelope {
	t.Helper()
	all := append([]events.Event{events.MessageQueued{SubmissionID: "sub-" + id, RcptTo: "rcpt-" + id + "@remote.test",
		MailFrom: "alerts@example.org", Subject: "hello " + id, MessageID: "<" + id + "@example.org>"}}, later...)
	var out []events.Envelope
	for i, ev := range all {
		env, err := events.New(ev, events.Meta{ID: events.NewID(at, nil), StreamType: events.StreamMessage, StreamID: id,
			StreamVersion: int64(i + 1), ServerID: "acme/main", OccurredAt: at.Add(time.Duration(i) * time.Millisecond),
			Actor: events.Actor{Type: events.ActorSystem, ID: "test"}})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, env)
	}
	return out
}

func (f *fixture) sender(t testing.TB, owner string, cfg webhooksender.Config, clock func() time.Time) *webhooksender.Sender {
	t.Helper()
	cfg.Owner = owner
	if cfg.Poll == 0 {
		cfg.Poll = 20 * time.Millisecond
	}
	s, err := webhooksender.New(cfg, webhooksender.Deps{
		Queue: f.store, Secrets: f.secrets, Disabler: f.h,
		PostalKey: func(ctx context.Context) (webhook.PostalKey, error) {
			return webhook.LoadPostalKey(ctx, f.secrets, rand.Reader)
		},
		Clock: clock, Rand: func() float64 { return 0.5 }, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// run runs a sender until the test ends.
func run(t testing.TB, s *webhooksender.Sender) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

func waitUntil(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func deliveries(t testing.TB, f *fixture, webhookID string) []webhookqueue.Delivery {
	t.Helper()
	ds, err := f.store.Deliveries(context.Background(), webhookID, 100000)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func header(h http.Header, k string) string { return h.Get(k) }

var _ = fmt.Sprint

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
