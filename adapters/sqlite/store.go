package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/migrations"
)

var (
	_ domain.EventStore = (*Store)(nil)
	_ domain.Outbox     = (*Store)(nil)
)

const (
	defaultQueryLimit = 1000
	maxInsertRows     = 500 // rows per multi-row INSERT (13 variables each, well under SQLite's limit)
	busyTimeoutMillis = 10000
	readerConns       = 4
)

// Option configures Open.
type Option func(*options)

type options struct{ logger *slog.Logger }

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// Store is the SQLite event store. It is safe for concurrent use.
type Store struct {
	w   *sql.DB // the single writer connection; also handed to read models via DB()
	r   *sql.DB // a small pool of read-only connections for reads that may run beside writes
	log *slog.Logger

	queue  chan *appendReq
	mu     sync.RWMutex // guards closed against in-flight sends to queue
	closed bool
	done   chan struct{}
	wg     sync.WaitGroup
}

// Open opens (creating if needed) the SQLite file at path with WAL, busy_timeout and
// synchronous=FULL. It does not migrate: call Migrate (or migrations.Up) first.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: open: empty path")
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	w, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	var mode string
	if err := w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: journal_mode is %q, want wal (%v)", path, mode, err)
	}
	r, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s for reading: %w", path, err)
	}
	r.SetMaxOpenConns(readerConns)
	r.SetMaxIdleConns(readerConns)
	s := &Store{w: w, r: r, log: o.logger, queue: make(chan *appendReq, 1024), done: make(chan struct{})}
	s.wg.Add(1)
	go s.committer()
	return s, nil
}

// dsn builds a modernc.org/sqlite DSN with the durable defaults.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMillis))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "temp_store(MEMORY)") // savepoint sub-journals in memory: no temp-file writes per request
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		// Take the write lock at BEGIN, so a transaction never fails to upgrade mid-way.
		q.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}

// DB returns the single writer connection, shared with read models (projections.DB with
// dialect "sqlite"). Holding a transaction on it blocks appends until it ends.
func (s *Store) DB() *sql.DB { return s.w }

// Migrate applies every embedded SQLite migration.
func (s *Store) Migrate(ctx context.Context) error {
	return migrations.Up(ctx, s.w, migrations.DialectSQLite)
}

// Ping checks that the file answers (for /readyz).
func (s *Store) Ping(ctx context.Context) error {
	if err := s.r.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// Close finishes the appends already queued, stops the committer and closes both pools.
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
	return errors.Join(s.r.Close(), s.w.Close())
}

// timeFormat is fixed-width so occurred_at sorts and compares as text.
const timeFormat = "2006-01-02T15:04:05.000000Z"

func dbTime(t time.Time) string { return t.UTC().Truncate(time.Microsecond).Format(timeFormat) }
