package main

import (
	"context"
	"database/sql"
	"flag"
	"log/slog"
	"time"

	"github.com/posthaste/posthaste/adapters/cli"
	"github.com/posthaste/posthaste/adapters/sqlstore"
	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/delivery"
	"github.com/posthaste/posthaste/domain/inbound"
	"github.com/posthaste/posthaste/domain/platform"
	"github.com/posthaste/posthaste/domain/submission"
	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections/webhookqueue"
)

// old CLI: goes when the cli branch lands. Everything in this file is what today's admin
// commands (cmd_*.go) still use, opened with the same backends as serve (wire.go); the cli
// branch's commands call the application (openSession) instead.

// Store is what admin commands need: the event log, its outbox and the SQL database of the read
// models, on the embedded default (SQLite) or the production stack (MariaDB), migrated. Close it.
type Store struct {
	Events domain.EventStore
	Outbox domain.Outbox
	DB     sqlDatabase
	// Messages stores bodies (with their queued events, atomically) and transcripts.
	Messages messageStore
	// Inbound keeps the reports received by the MX listener (raw bytes and their outcome).
	Inbound inbound.Store
	// SQL is the SQL store all of the above live in (secrets, the HTTP API's rows).
	SQL *sqlstore.Store

	b *backends
}

// sqlDatabase is the store's SQL database (the event log and the read models) and its dialect.
type sqlDatabase struct {
	SQL     *sql.DB
	Dialect sqlstore.Dialect
}

// messageStore is the durable acceptance (body + events in one transaction), bodies and transcripts.
type messageStore interface {
	submission.Acceptor
	delivery.Bodies
	delivery.Transcripts
	Transcript(ctx context.Context, id string) (string, error)
}

// Kind is "embedded" (SQLite, in-process bus and locks) or "production" (MariaDB, RabbitMQ, Redis).
func (s *Store) Kind() string { return s.b.kind }

// Close releases every backend, last opened first.
func (s *Store) Close() error { return s.b.Close() }

// openStore opens and migrates the event store for cfg (openBackends).
func openStore(ctx context.Context, cfg Config, logger *slog.Logger) (*Store, error) {
	b, err := openBackends(ctx, &cfg, logger)
	if err != nil {
		return nil, err
	}
	st := b.store
	return &Store{Events: st, Outbox: st, DB: sqlDatabase{SQL: st.DB(), Dialect: st.Dialect()}, Messages: st, Inbound: st.Inbound(), SQL: st, b: b}, nil
}

// oldSession opens the application for an old admin command whose flags fs parsed (openSession),
// acting as the operator cli:<OS user>.
func oldSession(ctx context.Context, fs *flag.FlagSet, cio cliIO) (*cli.Session, platform.Caller, error) {
	s, err := openSession(ctx, cli.Values(flagValues(fs)))
	if err != nil {
		return nil, platform.Caller{}, err
	}
	return s, platform.Operator(events.Actor{Type: events.ActorCLI, ID: cliActorID(cio.env)}), nil
}

// statusTimeout bounds one status collection.
const statusTimeout = 5 * time.Second

// webhookDeliveries lists webhook deliveries from the read model and makes them due again
// through the sender's queue (the old webhook commands, and today's httpapi until the http
// branch lands).
type webhookDeliveries struct {
	*webhookqueue.Reader
	*sqlstore.WebhookQueue
}

func newWebhookDeliveries(db sqlDatabase) (webhookDeliveries, error) {
	r, err := webhookqueue.NewReader(db.SQL)
	if err != nil {
		return webhookDeliveries{}, err
	}
	q, err := sqlstore.NewWebhookQueue(db.SQL, db.Dialect)
	if err != nil {
		return webhookDeliveries{}, err
	}
	return webhookDeliveries{Reader: r, WebhookQueue: q}, nil
}
