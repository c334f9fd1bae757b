package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/posthaste/posthaste/migrations"
)

// sqLite is the embedded default's dialect (modernc.org/sqlite, pure Go).
type sqLite struct{}

func (sqLite) Name() string         { return "sqlite" }
func (sqLite) InsertIgnore() string { return "INSERT OR IGNORE" }

// storage

// OpenSQLite opens (creating if needed) the SQLite file at path in WAL mode with
// synchronous=FULL and busy_timeout, and starts the group committer. It does not migrate:
// call Migrate first.
//
// SQLite serializes writers, so the store writes through one connection and gives each event
// its position as it inserts it (position = seq): gap-free and monotonic in commit order by
// construction. Reads go through a separate read-only pool, so they never wait for the writer.
func OpenSQLite(ctx context.Context, path string, opts ...Option) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlstore: open sqlite: empty path")
	}
	return openStore(ctx, sqLite{}, path, opts)
}

const (
	sqliteBusyTimeoutMillis = 10000
	sqliteReaderConns       = 4
	// sqliteTimeFormat is fixed-width so times sort and compare as text.
	sqliteTimeFormat = "2006-01-02T15:04:05.000000Z"
)

// sqliteDSN builds a modernc.org/sqlite DSN with the durable defaults.
func sqliteDSN(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", sqliteBusyTimeoutMillis))
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

func (sqLite) open(ctx context.Context, path string, _ *slog.Logger) (w, r *sql.DB, err error) {
	w, err = sql.Open("sqlite", sqliteDSN(path, false))
	if err != nil {
		return nil, nil, fmt.Errorf("sqlstore: open sqlite %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, nil, fmt.Errorf("sqlstore: open sqlite %s: %w", path, err)
	}
	var mode string
	if err := w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		w.Close()
		return nil, nil, fmt.Errorf("sqlstore: open sqlite %s: journal_mode is %q, want wal (%v)", path, mode, err)
	}
	r, err = sql.Open("sqlite", sqliteDSN(path, true))
	if err != nil {
		w.Close()
		return nil, nil, fmt.Errorf("sqlstore: open sqlite %s for reading: %w", path, err)
	}
	r.SetMaxOpenConns(sqliteReaderConns)
	r.SetMaxIdleConns(sqliteReaderConns)
	return w, r, nil
}

func (sqLite) migrations() string { return migrations.DialectSQLite }

func (sqLite) storedTime(t time.Time) any {
	return t.UTC().Truncate(time.Microsecond).Format(sqliteTimeFormat)
}

func (sqLite) isUniqueViolation(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// isLockFailure is false: the one writer connection takes the write lock at BEGIN
// (BEGIN IMMEDIATE, waiting up to busy_timeout), so a transaction never loses a lock midway.
func (sqLite) isLockFailure(error) bool { return false }

func (sqLite) replaceInto() string { return "INSERT OR REPLACE INTO" }
func (sqLite) lockingRead() string { return "" }

// Group commit on SQLite: one lane and one committer for every write (there is one writer),
// groups up to 1000 events; one multi-row INSERT carries at most 500 rows (15 variables
// each, well under SQLite's limit).
const (
	sqliteMaxGroupEvents = 1000
	sqliteQueueSize      = 1024
	sqliteRowsPerInsert  = 500
)

func (sqLite) lanes(int) (lanePlan, *lanePlan) {
	return lanePlan{committers: 1, waiting: sqliteQueueSize, maxEvents: sqliteMaxGroupEvents}, nil
}

func (sqLite) insertBounds() insertBounds { return insertBounds{rows: sqliteRowsPerInsert} }

// writeGroup writes every live request of the group in one transaction, each inside its own
// savepoint: a request that fails (a stream clash, a duplicate body) is rolled back to its
// savepoint and gets its own error, and the others commit together. The positions of the
// requests written follow each other without gaps. If BEGIN or COMMIT fails, every request
// not failed on its own gets that error.
func (sqLite) writeGroup(s *Store, live []*request) {
	if err := sqliteWriteSavepointed(s, live); err != nil {
		for _, r := range live {
			if r.err == nil {
				r.err = err
			}
		}
	}
}

func sqliteWriteSavepointed(s *Store, reqs []*request) (err error) {
	ctx, cancel := context.WithTimeout(context.Background(), groupTxTimeout)
	defer cancel()
	op := reqs[0].op
	tx, err := s.w.BeginTx(ctx, nil) // BEGIN IMMEDIATE: the write lock is ours from here
	if err != nil {
		return fmt.Errorf("sqlstore: %s: begin: %w", op, err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	var last int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM events`).Scan(&last); err != nil {
		return fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	written := 0
	for _, r := range reqs {
		if _, err := tx.ExecContext(ctx, "SAVEPOINT group_req"); err != nil {
			return fmt.Errorf("sqlstore: %s: savepoint: %w", op, err)
		}
		r.err = s.writeRequests(ctx, tx, []*request{r}, last)
		if r.err != nil {
			if _, err := tx.ExecContext(ctx, "ROLLBACK TO group_req"); err != nil {
				return fmt.Errorf("sqlstore: %s: rollback to savepoint: %w", op, err)
			}
		} else {
			last += int64(len(r.rows))
			written++
		}
		if _, err := tx.ExecContext(ctx, "RELEASE group_req"); err != nil {
			return fmt.Errorf("sqlstore: %s: release savepoint: %w", op, err)
		}
	}
	if written == 0 {
		return tx.Rollback()
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: %s: commit: %w", op, err)
	}
	return nil
}

func (sqLite) positionsAtInsert() bool { return true }

// stamp has nothing to do: every event got its position as it was inserted.
func (sqLite) stamp(context.Context, *Store, int) (int, error) { return 0, nil }

// pendingQuery: the outbox is keyed by position (acked rows leave the B-tree at once), so a
// call reads O(limit) rows whatever the backlog.
func (sqLite) pendingQuery() string {
	return `SELECT o.position, e.data FROM outbox o JOIN events e ON e.position = o.position
		 WHERE o.position > ? ORDER BY o.position LIMIT ?`
}
