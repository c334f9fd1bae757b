package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"github.com/posthaste/posthaste/domain/sendpolicy"
	"github.com/posthaste/posthaste/domain/submission"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/posthaste/posthaste/adapters/memory"
	"github.com/posthaste/posthaste/adapters/rabbitmq"
	"github.com/posthaste/posthaste/adapters/redisstore"
	"github.com/posthaste/posthaste/adapters/sqlstore"
	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/inbound"
	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections"
	"github.com/posthaste/posthaste/projections/deliveryqueue"
	"github.com/posthaste/posthaste/projections/eventcount"
	"github.com/posthaste/posthaste/projections/messageview"
	"github.com/posthaste/posthaste/projections/stats"
	"github.com/posthaste/posthaste/projections/tenancyview"
	"github.com/posthaste/posthaste/projections/webhookqueue"
)

// Store is what admin commands need: the event log, its outbox and the SQL database of the read
// models, on the embedded default (SQLite) or the production stack (MariaDB), migrated. Close it.
type Store struct {
	Events domain.EventStore // Append is timed into AppendSeconds
	Outbox domain.Outbox
	DB     sqlDatabase
	// Messages stores bodies (with their queued events, atomically) and transcripts.
	Messages messageStore
	// Inbound keeps the reports received by the MX listener (raw bytes and their outcome).
	Inbound inbound.Store
	// SQL is the SQL store all of the above live in (secrets, the HTTP API's rows).
	SQL *sqlstore.Store

	// AppendSeconds observes the latency of every Append (exported on /metrics by serve).
	AppendSeconds prometheus.Histogram

	kind    string // "embedded" or "production"
	pings   []backendPing
	closers []func() error
}

// sqlDatabase is the store's SQL database (the event log and the read models) and its dialect.
type sqlDatabase struct {
	SQL     *sql.DB
	Dialect sqlstore.Dialect
}

// Kind is "embedded" (SQLite, in-process bus and locks) or "production" (MariaDB, RabbitMQ, Redis).
func (s *Store) Kind() string { return s.kind }

// Pings lists the backends /readyz and status check.
func (s *Store) Pings() []backendPing { return s.pings }

// Close releases every backend, last opened first.
func (s *Store) Close() error {
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i]())
	}
	s.closers = nil
	return errors.Join(errs...)
}

// Platform is everything serve runs on: the store plus the bus, the locker and the projections.
type Platform struct {
	*Store
	Publisher   domain.Publisher
	Subscriber  projections.Subscriber
	Locker      domain.Locker
	Projections []projections.Projection
	// Counter counts submissions for send limits (in-process, or Redis in production).
	Counter sendpolicy.Counter
	// AuthLimiter counts failed SMTP AUTH attempts per client IP (shared by the nodes in production).
	AuthLimiter submission.RateLimiter

	// wakers are the local delivery workers, woken after an acceptance in this process.
	wakers        []func()
	attempts      *attemptMetrics
	relayMetrics  *relayMetrics
	lifecycleDeps *lifecycleDeps

	// notify wakes the relay after an in-process append (embedded default); nil otherwise.
	notify <-chan struct{}
	// busDeadLetters counts the messages in each projection's dead-letter queue on the bus.
	busDeadLetters func(ctx context.Context) (map[string]int, error)
}

// ProjectionNames lists the names of the platform's projections (bus queues, checkpoints).
func (p *Platform) ProjectionNames() []string {
	out := make([]string, len(p.Projections))
	for i, pr := range p.Projections {
		out[i] = pr.Name()
	}
	return out
}

// platformProjections is the list of projections serve runs, replay rebuilds and checksum hashes.
func platformProjections() []projections.Projection {
	return []projections.Projection{eventcount.New(), deliveryqueue.Projection{}, tenancyview.New(), webhookqueue.New(), messageview.New(), stats.New()}
}

// openStore opens and migrates the event store for cfg: a SQLite file under the data dir
// (created on first start, with a generated secret key) with nothing configured, MariaDB with
// POSTHASTE_DATABASE_URL. Admin commands need only this; serve uses openPlatform.
func openStore(ctx context.Context, cfg Config, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		return nil, errors.New("open store: logger is nil")
	}
	if err := cfg.ensureSecretKey(nil); err != nil {
		return nil, err
	}
	st := &Store{AppendSeconds: newAppendHistogram()}
	var s *sqlstore.Store
	if cfg.Production() {
		dsn, err := sqlstore.ParseMariaDBURL(cfg.DatabaseURL)
		if err != nil {
			return nil, fmt.Errorf("open store: POSTHASTE_DATABASE_URL: %w", err)
		}
		if s, err = sqlstore.OpenMariaDB(ctx, dsn, sqlstore.WithLogger(logger)); err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		st.kind = "production"
	} else {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("open store: create data dir: %w", err)
		}
		var err error
		if s, err = sqlstore.OpenSQLite(ctx, filepath.Join(cfg.DataDir, "posthaste.db"), sqlstore.WithLogger(logger)); err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		st.kind = "embedded"
	}
	st.closers = append(st.closers, s.Close)
	st.pings = append(st.pings, backendPing{s.Dialect().Name(), s.Ping})
	st.DB = sqlDatabase{SQL: s.DB(), Dialect: s.Dialect()}
	st.SQL, st.Messages, st.Inbound = s, s, s.Inbound()
	if err := s.Migrate(ctx); err != nil {
		st.Close()
		return nil, fmt.Errorf("open store: migrate: %w", err)
	}
	st.Events = timedStore{EventStore: s, h: st.AppendSeconds}
	st.Outbox = s
	return st, nil
}

// openPlatform opens the store and the bus, locker and projections serve needs, and declares
// the bus topology (every projection's queue and dead-letter queue) before anything publishes.
func openPlatform(ctx context.Context, cfg Config, logger *slog.Logger) (*Platform, error) {
	st, err := openStore(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	p := &Platform{Store: st, Projections: platformProjections(), attempts: newAttemptMetrics(), relayMetrics: newRelayMetrics()}
	if cfg.Production() {
		err = openProductionBus(ctx, cfg, p, logger)
	} else {
		err = openEmbeddedBus(ctx, p)
	}
	if err != nil {
		st.Close()
		return nil, err
	}
	return p, nil
}

func openEmbeddedBus(ctx context.Context, p *Platform) error {
	bus, err := memory.NewBus(0)
	if err != nil {
		return fmt.Errorf("open bus: %w", err)
	}
	if err := bus.DeclareTopology(ctx, p.ProjectionNames()); err != nil {
		return fmt.Errorf("open bus: declare topology: %w", err)
	}
	p.Publisher, p.Subscriber, p.Locker = bus, bus, memory.NewLocker()
	p.Counter = memory.NewCounter(nil)
	p.busDeadLetters = bus.DeadLetterCounts
	// In one process the relay need not poll: every append wakes it.
	wake := make(chan struct{}, 1)
	p.notify = wake
	p.Events = notifyingStore{EventStore: p.Events, wake: wake}
	if p.Messages != nil {
		p.Messages = notifyingMessages{messageStore: p.Messages, wake: wake}
	}
	return nil
}

func openProductionBus(ctx context.Context, cfg Config, p *Platform, logger *slog.Logger) error {
	rc := rabbitmq.Config{URL: cfg.AMQPURL, Exchange: cfg.AMQPExchange, QueuePrefix: cfg.AMQPQueuePrefix}
	pub, err := rabbitmq.NewPublisher(rc, logger)
	if err != nil {
		return fmt.Errorf("open bus: %w", err)
	}
	p.closers = append(p.closers, pub.Close)
	if err := pub.DeclareTopology(ctx, p.ProjectionNames()); err != nil {
		return fmt.Errorf("open bus: declare topology: %w", err)
	}
	sub, err := rabbitmq.NewSubscriber(rc, logger)
	if err != nil {
		return fmt.Errorf("open bus: %w", err)
	}
	rs, err := redisstore.Open(ctx, redisstore.Config{URL: cfg.RedisURL, KeyPrefix: cfg.RedisPrefix}, logger, rand.Reader)
	if err != nil {
		return fmt.Errorf("open locker: %w", err)
	}
	p.closers = append(p.closers, rs.Close)
	p.pings = append(p.pings, backendPing{"rabbitmq", pub.Ping}, backendPing{"redis", rs.Ping})
	p.Publisher, p.Subscriber, p.Locker = pub, sub, rs
	p.Counter = rs
	p.AuthLimiter = rs.FailureLimiter(authFailures, authFailureWindow)
	p.busDeadLetters = pub.DeadLetterCounts
	return nil
}

// notifyingStore wakes the in-process relay after every successful append.
type notifyingStore struct {
	domain.EventStore
	wake chan struct{}
}

func (s notifyingStore) Append(ctx context.Context, envs ...events.Envelope) error {
	err := s.EventStore.Append(ctx, envs...)
	if err == nil {
		select {
		case s.wake <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
	return err
}

// notifyingMessages wakes the in-process relay after every acceptance (body + queued events).
type notifyingMessages struct {
	messageStore
	wake chan struct{}
}

func (s notifyingMessages) Accept(ctx context.Context, a submission.Acceptance) error {
	err := s.messageStore.Accept(ctx, a)
	if err == nil {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	return err
}
