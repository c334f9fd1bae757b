package platform_test

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/kdf"
	"github.com/posthaste/posthaste/adapters/memory"
	"github.com/posthaste/posthaste/adapters/sqlstore"
	"github.com/posthaste/posthaste/adapters/sqlstore/sqlstoretest"
	"github.com/posthaste/posthaste/domain/platform"
	"github.com/posthaste/posthaste/domain/tenancy"
	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections"
	"github.com/posthaste/posthaste/projections/deliveryqueue"
	"github.com/posthaste/posthaste/projections/messageview"
	"github.com/posthaste/posthaste/projections/tenancyview"
	"github.com/posthaste/posthaste/projections/webhookqueue"
)

// store is what both SQL backends give the application.
type backend struct {
	store *sqlstore.Store
	sql   sqlstore.Dialect
}

// eachBackend runs fn on a fresh SQLite file and a fresh MariaDB database.
func eachBackend(t *testing.T, fn func(t *testing.T, b backend)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, backend{sqlstoretest.SQLite(t), sqlstore.SQLite}) })
	t.Run("mariadb", func(t *testing.T) { fn(t, backend{sqlstoretest.MariaDB(t), sqlstore.MariaDB}) })
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	t.Cleanup(cancel)
	return ctx
}

var (
	discard = slog.New(slog.NewTextHandler(io.Discard, nil))
	cli     = platform.Operator(events.Actor{Type: events.ActorCLI, ID: "alice"})
	testKey = []byte("0123456789abcdef0123456789abcdef")
	cfg     = platform.Config{Hostname: "mx.posthaste.test", ReturnPathDomain: "rp.posthaste.test", SPFInclude: "spf.posthaste.test",
		ServerSecret: testKey}
)

// env is an application on a backend with every read model wired, and the projector that
// builds those models from the log on request.
type env struct {
	b      backend
	app    *platform.Application
	deps   platform.Deps
	runner *sqlstore.Runner
}

// newDeps returns the Deps of a whole platform on b (no workflows).
func newDeps(t *testing.T, b backend) platform.Deps {
	t.Helper()
	db := b.store.DB()
	secrets, err := b.store.Secrets(testKey, rand.Reader, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	hasher, err := kdf.New(kdf.Params{MemoryKiB: 64, Passes: 1, Lanes: 1, SaltLen: 16, KeyLen: 16}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	credentials, err := sqlstore.NewCredentialIndex(db)
	if err != nil {
		t.Fatal(err)
	}
	view, err := sqlstore.NewMessageView(db)
	if err != nil {
		t.Fatal(err)
	}
	reports, err := sqlstore.NewStatsReports(db)
	if err != nil {
		t.Fatal(err)
	}
	deliveries, err := sqlstore.NewWebhookDeliveries(db, b.sql)
	if err != nil {
		t.Fatal(err)
	}
	inb := b.store.Inbound()
	queue, err := sqlstore.NewDeliveryQueue(db, b.sql)
	if err != nil {
		t.Fatal(err)
	}
	return platform.Deps{
		Events: b.store, Acceptor: b.store, Bodies: b.store, Transcripts: b.store, Secrets: secrets, Hasher: hasher,
		Credentials: credentials, Messages: view, Stats: reports,
		WebhookDeliveries: deliveries, Inbound: inb, DeliveryQueue: queue,
		Config: cfg, Clock: time.Now, Rand: rand.Reader, Logger: discard,
	}
}

func newEnv(t *testing.T, b backend, edit ...func(*platform.Deps)) *env {
	t.Helper()
	d := newDeps(t, b)
	for _, f := range edit {
		f(&d)
	}
	app, err := platform.New(d)
	if err != nil {
		t.Fatal(err)
	}
	bus, err := memory.NewBus(0)
	if err != nil {
		t.Fatal(err)
	}
	projs := []projections.Projection{tenancyview.New(), messageview.New(), deliveryqueue.Projection{}, webhookqueue.New()}
	rn, err := sqlstore.NewRunner(b.store.DB(), b.sql, b.store, bus, projs, discard, sqlstore.ProjectionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return &env{b: b, app: app, deps: d, runner: rn}
}

// project runs the projector once: the relay's stamping of positions, then a catch-up of every
// read model from the log (what a running projector does continuously).
func (e *env) project(t *testing.T) {
	t.Helper()
	ctx := ctxT(t)
	if _, err := e.b.store.Pending(ctx, 1_000_000); err != nil {
		t.Fatal(err)
	}
	if err := e.runner.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// tenant creates org/server (org made when missing) and a verified sending domain of it.
func (e *env) tenant(t *testing.T, org, server, domainName string) tenancy.ServerRef {
	t.Helper()
	ctx := ctxT(t)
	if _, err := e.app.Queries.Org(ctx, cli, org); err != nil {
		_, err := e.app.Commands.CreateOrg(ctx, cli, org)
		must(t, err)
	}
	ref := tenancy.ServerRef{Org: org, Name: server}
	_, err := e.app.Commands.CreateServer(ctx, cli, tenancy.CreateServer{Ref: ref})
	must(t, err)
	if domainName != "" {
		_, err = e.app.Commands.AddDomain(ctx, cli, tenancy.AddDomain{Domain: domainName, Server: ref, SkipVerification: true})
		must(t, err)
	}
	return ref
}

func (e *env) credential(t *testing.T, ref tenancy.ServerRef, typ, cidr string) tenancy.NewCredential {
	t.Helper()
	c, err := e.app.Commands.CreateCredential(ctxT(t), cli, tenancy.CreateCredential{Server: ref, Type: typ, CIDR: cidr})
	must(t, err)
	return c
}
