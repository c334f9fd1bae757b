package mariadb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/migrations"
)

var (
	_ domain.EventStore = (*Store)(nil)
	_ domain.Outbox     = (*Store)(nil)
)

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("mariadb: store closed")

const (
	defaultCommitters = 2
	defaultMaxBatch   = 200     // events per group-commit transaction
	maxStatementBytes = 4 << 20 // stored bytes per multi-row INSERT (max_allowed_packet is 16 MiB by default)
	defaultQueryLimit = 1000    // Query and ReadAll when no limit is given
	defaultTxTimeout  = 30 * time.Second
	stampBatch        = 1000 // positions stamped per Pending round
	maxStampAttempts  = 20
	maxStampRounds    = 10 // full stampBatch rounds per Pending call
)

// Option configures Open.
type Option func(*options)

type options struct {
	logger     *slog.Logger
	committers int
	maxBatch   int
}

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithCommitters sets how many group-commit transactions may run at once (default 2: fewer,
// larger groups beat more, smaller ones on the 2-core project machine; see docs/benchmarks.md).
func WithCommitters(n int) Option { return func(o *options) { o.committers = n } }

// WithMaxBatch sets the most events one group-commit transaction carries (default 200).
func WithMaxBatch(n int) Option { return func(o *options) { o.maxBatch = n } }

// Store is the MariaDB event store. It is safe for concurrent use; Close stops it.
type Store struct {
	db     *sql.DB
	log    *slog.Logger
	opts   options
	queue  chan *appendReq
	mu     sync.RWMutex // guards closed against in-flight sends to queue
	closed bool
	done   chan struct{}
	wg     sync.WaitGroup
	groups atomic.Int64 // group-commit transactions attempted (tests, metrics)

	acceptOnce sync.Once // starts the accept committers (bodies.go) on first Accept
	acceptQ    chan *acceptReq
}

// Open connects to MariaDB with a go-sql-driver DSN (see ParseURL), forcing parseTime=true and
// UTC times, checks the connection and starts the group committers. It does not migrate: call
// Migrate (or migrations.Up) first.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	o := options{committers: defaultCommitters, maxBatch: defaultMaxBatch}
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	if o.committers < 1 || o.maxBatch < 1 {
		return nil, fmt.Errorf("mariadb: open: committers (%d) and max batch (%d) must be >= 1", o.committers, o.maxBatch)
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("mariadb: open: %w", err)
	}
	if cfg.DBName == "" {
		return nil, errors.New("mariadb: open: the DSN names no database")
	}
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	// One round trip per statement instead of prepare+execute+close; safe with utf8mb4.
	cfg.InterpolateParams = true
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	// Store and compare times in UTC whatever the server's zone.
	cfg.Params["time_zone"] = "'+00:00'"
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("mariadb: open: %w", err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)
	db.SetConnMaxLifetime(time.Hour)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("mariadb: open: %w", err)
	}
	// Durability is the operator's setting, never ours to change; say so when it is weaker.
	var flush int
	if err := db.QueryRowContext(ctx, `SELECT @@innodb_flush_log_at_trx_commit`).Scan(&flush); err == nil && flush != 1 {
		o.logger.Warn("mariadb: innodb_flush_log_at_trx_commit is not 1: a crash may lose appends already acknowledged",
			"innodb_flush_log_at_trx_commit", flush)
	}
	s := &Store{
		db:    db,
		log:   o.logger,
		opts:  o,
		queue: make(chan *appendReq, 4*o.maxBatch),
		done:  make(chan struct{}),
	}
	for i := 0; i < o.committers; i++ {
		s.wg.Add(1)
		go s.committer()
	}
	return s, nil
}

// DB returns the connection pool, shared with read models (projections.DB with dialect "mysql").
func (s *Store) DB() *sql.DB { return s.db }

// Migrate applies every embedded MariaDB migration.
func (s *Store) Migrate(ctx context.Context) error {
	return migrations.Up(ctx, s.db, migrations.DialectMySQL)
}

// Ping checks that the database answers (for /readyz).
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("mariadb: ping: %w", err)
	}
	return nil
}

// Close finishes the appends already queued, stops the committers and closes the pool.
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
	return s.db.Close()
}
