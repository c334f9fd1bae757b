package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/delivery"
	"github.com/posthaste/posthaste/domain/submission"
	"github.com/posthaste/posthaste/migrations"
)

var (
	_ domain.EventStore        = (*Store)(nil)
	_ domain.Outbox            = (*Store)(nil)
	_ submission.Acceptor      = (*Store)(nil)
	_ delivery.Bodies          = (*Store)(nil)
	_ delivery.Transcripts     = (*Store)(nil)
	_ delivery.AttemptRecorder = (*Store)(nil)
)

// ErrClosed is returned by the writes (Append, Accept, AppendWithTranscript) after Close.
var ErrClosed = errors.New("sqlstore: store closed")

// defaultCommitters is how many group-commit transactions of appends run at once on MariaDB:
// fewer, larger groups beat more, smaller ones on the 2-core project machine (an interleaved
// comparison with 64 appenders gave 2 > 4 > 8; docs/benchmarks.md).
const defaultCommitters = 2

// Option configures OpenMariaDB and OpenSQLite.
type Option func(*options)

type options struct {
	logger     *slog.Logger
	committers int
}

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithCommitters sets how many group-commit transactions of appends may run at once on
// MariaDB (default 2). SQLite has one writer, so it always runs one.
func WithCommitters(n int) Option { return func(o *options) { o.committers = n } }

// Store is the SQL store on one database: the event store and outbox (domain.EventStore,
// domain.Outbox), acceptances (submission.Acceptor), bodies and transcripts (the delivery
// worker's ports), and through Secrets, Inbound and API the other stores the platform keeps
// in the same database. It is safe for concurrent use; Close stops it.
//
// Writes that must be durable together are group-committed: concurrent Append, Accept and
// AppendWithTranscript calls are queued and written many to one transaction (multi-row
// INSERTs, one durable commit), and each caller still gets its own result.
type Store struct {
	d   Dialect
	w   *sql.DB // every write; on SQLite the single writer connection
	r   *sql.DB // reads that may run beside writes; on MariaDB the same pool as w
	log *slog.Logger

	appends, accepts *lane        // accepts == appends where the dialect has one lane
	mu               sync.RWMutex // guards closed against in-flight sends to the lanes
	closed           bool
	done             chan struct{}
	wg               sync.WaitGroup
	groups           atomic.Int64 // group-commit transactions attempted (tests)

	api     *API
	inbound *Inbound
}

// openStore opens the database with d and starts the group committers. It does not migrate.
func openStore(ctx context.Context, d Dialect, target string, opts []Option) (*Store, error) {
	o := options{committers: defaultCommitters}
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	if o.committers < 1 {
		return nil, fmt.Errorf("sqlstore: open %s: committers (%d) must be >= 1", d.Name(), o.committers)
	}
	w, r, err := d.open(ctx, target, o.logger)
	if err != nil {
		return nil, err
	}
	s := &Store{d: d, w: w, r: r, log: o.logger, done: make(chan struct{})}
	appends, accepts := d.lanes(o.committers)
	s.appends = s.startLane(appends)
	s.accepts = s.appends
	if accepts != nil {
		s.accepts = s.startLane(*accepts)
	}
	s.api = &API{s: s, block: IDBlock}
	s.inbound = &Inbound{s: s}
	return s, nil
}

// DB returns the pool writes go through (on SQLite the single writer connection: holding a
// transaction on it blocks every write until it ends), shared with the read models.
func (s *Store) DB() *sql.DB { return s.w }

// Dialect returns the store's dialect.
func (s *Store) Dialect() Dialect { return s.d }

// SQLDialect is the dialect string migrations.Up and projections.DB know the database by:
// "mysql" (MariaDB) or "sqlite".
func (s *Store) SQLDialect() string { return s.d.migrations() }

// Migrate applies every embedded migration of the store's database.
func (s *Store) Migrate(ctx context.Context) error {
	return migrations.Up(ctx, s.w, s.d.migrations())
}

// Ping checks that the database answers (for /readyz).
func (s *Store) Ping(ctx context.Context) error {
	if err := s.r.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlstore: ping %s: %w", s.d.Name(), err)
	}
	return nil
}

// Close finishes the writes already queued, stops the committers and closes the pools.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.done)
	s.wg.Wait()
	if s.r == s.w {
		return s.w.Close()
	}
	return errors.Join(s.r.Close(), s.w.Close())
}
