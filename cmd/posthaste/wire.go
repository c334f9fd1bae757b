package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/posthaste/posthaste/adapters/cli"
	"github.com/posthaste/posthaste/adapters/dkimsign"
	"github.com/posthaste/posthaste/adapters/dnsresolver"
	"github.com/posthaste/posthaste/adapters/kdf"
	"github.com/posthaste/posthaste/adapters/memory"
	"github.com/posthaste/posthaste/adapters/metrics"
	"github.com/posthaste/posthaste/adapters/rabbitmq"
	"github.com/posthaste/posthaste/adapters/redisstore"
	"github.com/posthaste/posthaste/adapters/smtpin"
	"github.com/posthaste/posthaste/adapters/smtpout"
	"github.com/posthaste/posthaste/adapters/sqlstore"
	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/delivery"
	"github.com/posthaste/posthaste/domain/platform"
	"github.com/posthaste/posthaste/domain/relay"
	"github.com/posthaste/posthaste/domain/sendpolicy"
	"github.com/posthaste/posthaste/domain/submission"
	"github.com/posthaste/posthaste/domain/webhook"
	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections"
	"github.com/posthaste/posthaste/projections/deliveryqueue"
	"github.com/posthaste/posthaste/projections/eventcount"
	"github.com/posthaste/posthaste/projections/messageview"
	"github.com/posthaste/posthaste/projections/stats"
	"github.com/posthaste/posthaste/projections/tenancyview"
	"github.com/posthaste/posthaste/projections/webhookqueue"
)

// The wiring: the configuration's backends (the SQL store; for serve the bus, the locks and the
// counters) and, composed once on them, the application every role and admin command calls.
// adapters/cli calls openSession, migrateStore, serve and dkimVerifier (cli.Deps).

// shutdownTimeout bounds the drain after SIGTERM: HTTP requests in flight, the relay's batch,
// the projections' transactions.
const shutdownTimeout = 30 * time.Second

// Failed SMTP AUTH attempts allowed per client IP and window before 454 4.7.0.
const (
	authFailures      = 5
	authFailureWindow = 10 * time.Minute
)

// platformProjections is the list of projections serve runs, replay rebuilds and checksum hashes.
func platformProjections() []projections.Projection {
	return []projections.Projection{eventcount.New(), deliveryqueue.Projection{}, tenancyview.New(), webhookqueue.New(), messageview.New(), stats.New()}
}

func projectionNames() []string {
	ps := platformProjections()
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Name()
	}
	return out
}

// openSession opens and migrates the configured store and composes the application for one admin
// command: no workflows and no bus. On the production stack RabbitMQ and Redis are reached only
// when asked for their state (status), so other commands never connect to them.
func openSession(ctx context.Context, v cli.Values) (*cli.Session, error) {
	cfg, err := loadSettings(os.Getenv, v)
	if err != nil {
		return nil, err
	}
	logger := stderrLogger(cfg)
	b, err := openBackends(ctx, &cfg, logger)
	if err != nil {
		return nil, err
	}
	if cfg.Production() {
		b.lazyBus(cfg, logger)
	}
	d, err := newDeps(cfg, b, logger)
	if err != nil {
		b.Close()
		return nil, err
	}
	d.DKIMVerifier = dkimVerify{servers: cfg.DNSResolver}
	app, err := platform.New(d)
	if err != nil {
		b.Close()
		return nil, err
	}
	return &cli.Session{App: app, Close: b.Close}, nil
}

// migrateStore migrates the configured store and returns its dialect ("mysql" or "sqlite").
func migrateStore(ctx context.Context, v cli.Values) (string, error) {
	cfg, err := loadSettings(os.Getenv, v)
	if err != nil {
		return "", err
	}
	b, err := openBackends(ctx, &cfg, stderrLogger(cfg)) // migrates
	if err != nil {
		return "", err
	}
	defer b.Close()
	return b.store.SQLDialect(), nil
}

// serve runs the configured roles until ctx ends (SIGTERM, SIGINT), then drains (roles.go).
func serve(ctx context.Context, v cli.Values) error {
	cfg, err := loadSettings(os.Getenv, v)
	if err != nil {
		return err
	}
	logger := stderrLogger(cfg)
	s, err := openServer(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer s.Close()
	roles, err := buildRoles(s, logger)
	if err != nil {
		return err
	}
	return runRoles(ctx, s, roles, logger)
}

// dkimVerifier verifies DKIM signatures for `dkim verify` without opening a store: keys from a
// key file, or DNS through POSTHASTE_DNS_RESOLVER (the system's resolver when unset).
func dkimVerifier(v cli.Values) (platform.DKIMVerifier, error) {
	servers, ok := v["dns-resolver"]
	if !ok {
		servers = strings.TrimSpace(os.Getenv("POSTHASTE_DNS_RESOLVER"))
	}
	return dkimVerify{servers: servers}, nil
}

// stderrLogger writes text logs at the configured level to stderr.
func stderrLogger(cfg Config) *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
}

// backends are the outside world one process opened: the SQL store always; for serve also the
// bus, the relay's lock, the send counter and the AUTH failure limiter (in-process on the
// embedded default, RabbitMQ and Redis in production); the probes of each. Close releases them.
type backends struct {
	store   *sqlstore.Store
	kind    string // "embedded" or "production"
	probes  []platform.Probe
	closers []func() error

	publisher      domain.Publisher
	subscriber     projections.Subscriber
	locker         domain.Locker
	counter        sendpolicy.Counter
	authFailures   submission.RateLimiter
	busDeadLetters platform.BusDeadLetters
}

// Close releases every backend, last opened first.
func (b *backends) Close() error {
	var errs []error
	for i := len(b.closers) - 1; i >= 0; i-- {
		errs = append(errs, b.closers[i]())
	}
	b.closers = nil
	return errors.Join(errs...)
}

// openBackends opens and migrates the store of cfg: a SQLite file under the data dir (created on
// first start, with a generated secret key, which it sets in cfg) with nothing configured,
// MariaDB with POSTHASTE_DATABASE_URL.
func openBackends(ctx context.Context, cfg *Config, logger *slog.Logger) (*backends, error) {
	if err := cfg.ensureSecretKey(nil); err != nil {
		return nil, err
	}
	b := &backends{}
	var err error
	if cfg.Production() {
		dsn, err := sqlstore.ParseMariaDBURL(cfg.DatabaseURL)
		if err != nil {
			return nil, fmt.Errorf("open store: POSTHASTE_DATABASE_URL: %w", err)
		}
		if b.store, err = sqlstore.OpenMariaDB(ctx, dsn, sqlstore.WithLogger(logger)); err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		b.kind = "production"
	} else {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("open store: create data dir: %w", err)
		}
		if b.store, err = sqlstore.OpenSQLite(ctx, filepath.Join(cfg.DataDir, "posthaste.db"), sqlstore.WithLogger(logger)); err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		b.kind = "embedded"
	}
	b.closers = append(b.closers, b.store.Close)
	b.probes = append(b.probes, platform.Probe{Name: b.store.Dialect().Name(), Ping: b.store.Ping})
	if err := b.store.Migrate(ctx); err != nil {
		b.Close()
		return nil, fmt.Errorf("open store: migrate: %w", err)
	}
	return b, nil
}

// openBus opens what serve needs beside the store and declares the bus topology (every
// projection's queue and dead-letter queue) before anything publishes.
func (b *backends) openBus(ctx context.Context, cfg Config, logger *slog.Logger) error {
	if !cfg.Production() {
		bus, err := memory.NewBus(0)
		if err != nil {
			return fmt.Errorf("open bus: %w", err)
		}
		if err := bus.DeclareTopology(ctx, projectionNames()); err != nil {
			return fmt.Errorf("open bus: declare topology: %w", err)
		}
		b.publisher, b.subscriber, b.locker = bus, bus, memory.NewLocker()
		b.counter = memory.NewCounter(nil)
		b.authFailures = smtpin.NewMemoryLimiter(authFailures, authFailureWindow, time.Now)
		b.busDeadLetters = bus.DeadLetterCounts
		return nil
	}
	pub, err := openPublisher(ctx, cfg, logger)
	if err != nil {
		return err
	}
	b.closers = append(b.closers, pub.Close)
	sub, err := rabbitmq.NewSubscriber(amqpConfig(cfg), logger)
	if err != nil {
		return fmt.Errorf("open bus: %w", err)
	}
	rs, err := openRedis(ctx, cfg, logger)
	if err != nil {
		return err
	}
	b.closers = append(b.closers, rs.Close)
	b.probes = append(b.probes, platform.Probe{Name: "rabbitmq", Ping: pub.Ping}, platform.Probe{Name: "redis", Ping: rs.Ping})
	b.publisher, b.subscriber, b.locker = pub, sub, rs
	b.counter = rs
	b.authFailures = rs.FailureLimiter(authFailures, authFailureWindow)
	b.busDeadLetters = pub.DeadLetterCounts
	return nil
}

func amqpConfig(cfg Config) rabbitmq.Config {
	return rabbitmq.Config{URL: cfg.AMQPURL, Exchange: cfg.AMQPExchange, QueuePrefix: cfg.AMQPQueuePrefix}
}

// openPublisher connects to RabbitMQ and declares the topology.
func openPublisher(ctx context.Context, cfg Config, logger *slog.Logger) (*rabbitmq.Publisher, error) {
	pub, err := rabbitmq.NewPublisher(amqpConfig(cfg), logger)
	if err != nil {
		return nil, fmt.Errorf("open bus: %w", err)
	}
	if err := pub.DeclareTopology(ctx, projectionNames()); err != nil {
		pub.Close()
		return nil, fmt.Errorf("open bus: declare topology: %w", err)
	}
	return pub, nil
}

func openRedis(ctx context.Context, cfg Config, logger *slog.Logger) (*redisstore.Store, error) {
	rs, err := redisstore.Open(ctx, redisstore.Config{URL: cfg.RedisURL, KeyPrefix: cfg.RedisPrefix}, logger, rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("open locker: %w", err)
	}
	return rs, nil
}

// lazyBus adds the probes of RabbitMQ and Redis and the bus's dead-letter counts for an admin
// command: each connects when called and closes again (only status calls them), and a
// connection that fails is that backend's failed probe.
func (b *backends) lazyBus(cfg Config, logger *slog.Logger) {
	withPublisher := func(ctx context.Context, use func(*rabbitmq.Publisher) error) error {
		pub, err := openPublisher(ctx, cfg, logger)
		if err != nil {
			return err
		}
		defer pub.Close()
		return use(pub)
	}
	b.probes = append(b.probes,
		platform.Probe{Name: "rabbitmq", Ping: func(ctx context.Context) error {
			return withPublisher(ctx, func(p *rabbitmq.Publisher) error { return p.Ping(ctx) })
		}},
		platform.Probe{Name: "redis", Ping: func(ctx context.Context) error {
			rs, err := openRedis(ctx, cfg, logger)
			if err != nil {
				return err
			}
			defer rs.Close()
			return rs.Ping(ctx)
		}})
	b.busDeadLetters = func(ctx context.Context) (counts map[string]int, err error) {
		err = withPublisher(ctx, func(p *rabbitmq.Publisher) error {
			counts, err = p.DeadLetterCounts(ctx)
			return err
		})
		return counts, err
	}
}

// newDeps returns the ports every application of this binary has: the store and its read
// models, secrets, the password hasher, DNS, DKIM, the read side, and the backends b opened.
func newDeps(cfg Config, b *backends, logger *slog.Logger) (platform.Deps, error) {
	st, db := b.store, b.store.DB()
	var errs []error
	check := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	secrets, err := st.Secrets(cfg.SecretKey, rand.Reader, time.Now)
	check(err)
	hasher, err := kdf.New(kdf.DefaultParams, rand.Reader)
	check(err)
	credentials, err := sqlstore.NewCredentialIndex(db)
	check(err)
	view, err := sqlstore.NewMessageView(db)
	check(err)
	reports, err := sqlstore.NewStatsReports(db)
	check(err)
	deliveries, err := sqlstore.NewWebhookDeliveries(db, st.Dialect())
	check(err)
	queue, err := sqlstore.NewDeliveryQueue(db, st.Dialect())
	check(err)
	readSide, err := sqlstore.NewReadSide(st, platformProjections(), logger, sqlstore.ProjectionOptions{})
	check(err)
	if err := errors.Join(errs...); err != nil {
		return platform.Deps{}, err
	}
	d := platform.Deps{
		Events: st, Acceptor: st, Bodies: st, Transcripts: st, Secrets: secrets, Hasher: hasher,
		Credentials: credentials, Messages: view, Stats: reports, WebhookDeliveries: deliveries, Inbound: st.Inbound(),
		DeliveryQueue: queue, DKIM: dkimsign.NewCrypto(), Outbox: st,
		Config: platform.Config{
			Hostname: cfg.Hostname, ReturnPathDomain: cfg.ReturnPathDomain, SPFInclude: cfg.SPFInclude,
			Retry:           delivery.RetryPolicy{Initial: cfg.RetryInitial, Factor: cfg.RetryFactor, MaxAttempts: cfg.RetryMaxAttempts},
			WebhookSchedule: webhook.DefaultSchedule.WithInitial(cfg.WebhookRetryInitial),
			ServerSecret:    cfg.SecretKey,
			WorkerOwner:     leaseOwner(),
			Relay:           relay.Config{DrainTimeout: shutdownTimeout},
		},
		Clock: time.Now, Rand: rand.Reader, Logger: logger,
		ReadSide: readSide, Probes: b.probes, BusDeadLetters: b.busDeadLetters, Backend: b.kind,
	}
	// The DNS client of domain verification, built only where the host has one: without it
	// every command but `domain verify` still works.
	if r, err := dnsresolver.New(cfg.DNSResolver, "/etc/resolv.conf", dnsresolver.DefaultTimeout); err == nil {
		d.Resolver = r
	} else {
		logger.Debug("no dns resolver: domain verification is not available", "err", err)
	}
	if b.counter != nil {
		d.SendCounter = b.counter
	}
	if b.authFailures != nil {
		d.AuthFailures = b.authFailures
	}
	if b.publisher != nil {
		d.Publisher, d.Locker = b.publisher, b.locker
	}
	return d, nil
}

// leaseOwner names this process for leases (delivery claims, webhook deliveries).
func leaseOwner() string {
	host, _ := os.Hostname()
	return domain.LeaseOwner(host, os.Getpid(), time.Now(), nil)
}

// server is one serve process: its backends, the application composed for its roles, and the
// metrics of what it does.
type server struct {
	cfg     Config
	b       *backends
	deps    platform.Deps
	app     *platform.Application
	metrics *metrics.Metrics
	smtp    *smtpout.Client // the worker role's SMTP client (nil without it)
}

func (s *server) Close() error {
	if s.smtp != nil {
		s.smtp.Close()
	}
	return s.b.Close()
}

// workflows are the application's workflows each role runs.
var workflows = map[string][]platform.Workflow{
	"smtp":   {platform.RunSMTPSubmission},
	"worker": {platform.RunDelivery, platform.RunHoldExpiry},
	"relay":  {platform.RunRelay},
	"mx":     {platform.RunMXIntake},
}

// openServer opens every backend serve needs and composes the application with the workflows
// of the configured roles. Appends are timed, attempts and relay batches counted (metrics).
func openServer(ctx context.Context, cfg Config, logger *slog.Logger) (*server, error) {
	b, err := openBackends(ctx, &cfg, logger)
	if err != nil {
		return nil, err
	}
	s := &server{cfg: cfg, b: b}
	if err := s.compose(ctx, logger); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *server) compose(ctx context.Context, logger *slog.Logger) error {
	if err := s.b.openBus(ctx, s.cfg, logger); err != nil {
		return err
	}
	m, err := metrics.New(logger)
	if err != nil {
		return err
	}
	d, err := newDeps(s.cfg, s.b, logger)
	if err != nil {
		return err
	}
	d.Events = m.TimeAppends(s.b.store)
	d.AttemptObserver, d.RelayObserver = m.Deliveries(), m.Relay()
	for _, r := range s.cfg.Roles {
		d.Run = append(d.Run, workflows[r]...)
	}
	if s.cfg.HasRole("worker") {
		if s.smtp, err = newSMTPClient(s.cfg, logger.With("role", "worker")); err != nil {
			return err
		}
		d.Sender = s.smtp
	}
	app, err := platform.New(d)
	if err != nil {
		return err
	}
	s.deps, s.app, s.metrics = d, app, m
	return nil
}

// metricsCaller is who /metrics reads the platform's status as.
var metricsCaller = platform.Operator(events.Actor{Type: events.ActorSystem, ID: "metrics"})

// metricsSources are the reads of a /metrics scrape: the application's status, the delivery
// queue and the webhook backlog.
func metricsSources(s *server) (metrics.Sources, error) {
	st := s.b.store
	queue, err := sqlstore.NewDeliveryQueue(st.DB(), st.Dialect())
	if err != nil {
		return metrics.Sources{}, err
	}
	hooks, err := webhookqueue.NewReader(st.DB())
	if err != nil {
		return metrics.Sources{}, err
	}
	return metrics.Sources{
		Status: func(ctx context.Context) (platform.Status, error) { return s.app.Queries.Status(ctx, metricsCaller) },
		DeliveryQueue: func(ctx context.Context) (metrics.QueueStats, error) {
			depth, oldestUS, err := queue.Stats(ctx)
			q := metrics.QueueStats{Depth: depth}
			if oldestUS > 0 {
				q.Oldest = time.UnixMicro(oldestUS)
			}
			return q, err
		},
		Webhooks: func(ctx context.Context) (metrics.WebhookBacklog, error) {
			b, err := hooks.Stats(ctx)
			return metrics.WebhookBacklog{Pending: b.Pending, OldestEvent: b.OldestEvent, DisabledGone: b.DisabledGone}, err
		},
	}, nil
}

// newSMTPClient is the worker's SMTP client: to the smart hosts of POSTHASTE_SMTP_RELAYS, or to
// the recipients' MX hosts found through POSTHASTE_DNS_RESOLVER (answers cached).
func newSMTPClient(cfg Config, log *slog.Logger) (*smtpout.Client, error) {
	ocfg := smtpout.Config{Hostname: cfg.Hostname, ReturnPathDomain: cfg.ReturnPathDomain, Logger: log}
	if len(cfg.SMTPRelays) > 0 {
		relays, err := smtpout.ParseRelays(strings.Join(cfg.SMTPRelays, ","))
		if err != nil {
			return nil, fmt.Errorf("worker: POSTHASTE_SMTP_RELAYS: %w", err)
		}
		ocfg.Relays = relays
	} else {
		r, err := dnsresolver.New(cfg.DNSResolver, "/etc/resolv.conf", 10*time.Second, dnsresolver.WithCache())
		if err != nil {
			return nil, fmt.Errorf("worker: POSTHASTE_DNS_RESOLVER: %w", err)
		}
		ocfg.Resolver = r
	}
	return smtpout.New(ocfg)
}

// dkimVerify is the application's DKIM verifier (platform.DKIMVerifier) over dkimsign: keys from
// the key file given, else from DNS through servers (the system's resolver when empty).
type dkimVerify struct{ servers string }

// Verify uses the key file when one is given; else DNS, whose client is made only then (a host
// without a resolver can still verify against a key file).
func (d dkimVerify) Verify(ctx context.Context, msg, keyFile []byte) ([]platform.DKIMVerdict, error) {
	if keyFile != nil {
		return dkimsign.NewVerifier(nil).Verify(ctx, msg, keyFile)
	}
	r, err := dnsresolver.New(d.servers, "/etc/resolv.conf", dnsresolver.DefaultTimeout)
	if err != nil {
		return nil, fmt.Errorf("%w (set POSTHASTE_DNS_RESOLVER to host:port)", err)
	}
	return dkimsign.NewVerifier(r.LookupTXT).Verify(ctx, msg, nil)
}
