package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/posthaste/posthaste/migrations"
	"github.com/posthaste/posthaste/projections"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
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

// read side

// SQLite is the dialect of the embedded default's database (modernc.org/sqlite).
var SQLite Dialect = sqLite{}

func (sqLite) upsertTail(columns []projections.Column) string {
	var b strings.Builder
	b.WriteString(" ON CONFLICT (")
	keys := 0
	for _, c := range columns {
		if c.On == projections.Key {
			if keys > 0 {
				b.WriteString(", ")
			}
			keys++
			b.WriteString(c.Name)
		}
	}
	b.WriteString(") DO UPDATE SET ")
	sets := 0
	for _, c := range columns {
		var set string
		switch c.On {
		case projections.Replace:
			set = c.Name + " = excluded." + c.Name
		case projections.Add:
			set = c.Name + " = " + c.Name + " + excluded." + c.Name
		default:
			continue
		}
		if sets > 0 {
			b.WriteString(", ")
		}
		sets++
		b.WriteString(set)
	}
	if sets == 0 { // every column kept: assign one to itself, which still writes the row
		n := noopColumn(columns)
		b.WriteString(n + " = " + n)
	}
	return b.String()
}

func (sqLite) greatest(a, b string) string { return "MAX(" + a + ", " + b + ")" }

// releaseSavepoint: SQLite stacks savepoints of the same name.
func (sqLite) releaseSavepoint(name string) string { return "RELEASE SAVEPOINT " + name }

func (sqLite) isDriverError(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se)
}

func (sqLite) columnsQuery() string {
	return `SELECT name, type, pk FROM pragma_table_info(?) ORDER BY cid`
}

// byteOrder: SQLite's default BINARY collation compares the bytes.
func (sqLite) byteOrder(column string) string { return column }

// replayDurability: the rebuilt model is thrown away if the process dies, so its batches commit
// without a sync (WAL stays consistent with NORMAL); the swap is synced (FULL).
func (sqLite) replayDurability(fast bool) string {
	if fast {
		return "PRAGMA synchronous = NORMAL"
	}
	return "PRAGMA synchronous = FULL"
}

// createShadow: the live DDL and indexes in the temp schema (which hides main's table of the same
// name on its connection).
func (sqLite) createShadow(ctx context.Context, conn *sql.Conn, table string) error {
	exec := func(q string) error {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("shadow %s: %w", table, err)
		}
		return nil
	}
	var ddl string
	err := conn.QueryRowContext(ctx, `SELECT sql FROM main.sqlite_master WHERE type = 'table' AND name = ?`, table).Scan(&ddl)
	if err != nil {
		return fmt.Errorf("shadow %s: read definition: %w", table, err)
	}
	rest, ok := strings.CutPrefix(ddl, "CREATE TABLE ")
	if !ok {
		return fmt.Errorf("shadow %s: unexpected definition %q", table, ddl)
	}
	if err := exec("CREATE TEMP TABLE " + rest); err != nil {
		return err
	}
	idx, err := sqliteIndexes(ctx, conn, table)
	if err != nil {
		return fmt.Errorf("shadow %s: %w", table, err)
	}
	for _, s := range idx {
		// "CREATE [UNIQUE] INDEX [IF NOT EXISTS] name ON table (...)": the copy lives in temp.
		head := "CREATE INDEX "
		if strings.HasPrefix(s, "CREATE UNIQUE INDEX ") {
			head = "CREATE UNIQUE INDEX "
		}
		rest, ok := strings.CutPrefix(s, head)
		if !ok {
			return fmt.Errorf("shadow %s: unexpected index definition %q", table, s)
		}
		rest = strings.TrimPrefix(rest, "IF NOT EXISTS ")
		if err := exec(head + "temp." + rest); err != nil {
			return err
		}
	}
	return nil
}

func (sqLite) setAsideShadow(table string) string {
	return "ALTER TABLE temp." + table + " RENAME TO " + table + "__rebuild"
}

func (sqLite) tablesLikeQuery() string {
	return `SELECT name FROM main.sqlite_master WHERE type = 'table' AND name LIKE ? ESCAPE '!'`
}

// createRebuildTable: the live DDL under the new name, with the live unique indexes under
// temporary names (they decide the projection's upserts); the swap builds the live indexes.
func (sqLite) createRebuildTable(ctx context.Context, conn *sql.Conn, b *build, table string) error {
	nt := b.renames[table]
	exec := func(q string) error {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("create %s: %w", nt, err)
		}
		return nil
	}
	var ddl string
	if err := conn.QueryRowContext(ctx, `SELECT sql FROM main.sqlite_master WHERE type = 'table' AND name = ?`, table).Scan(&ddl); err != nil {
		return fmt.Errorf("create %s: read definition: %w", nt, err)
	}
	// The name is bare, or quoted once SQLite has rewritten the definition (ALTER TABLE RENAME).
	rest, ok := strings.CutPrefix(ddl, "CREATE TABLE ")
	if ok {
		ok = false
		for _, n := range []string{table, `"` + table + `"`, "`" + table + "`", "[" + table + "]"} {
			if r, found := strings.CutPrefix(rest, n); found && r != "" && (r[0] == ' ' || r[0] == '(') {
				rest, ok = r, true
				break
			}
		}
	}
	if !ok {
		return fmt.Errorf("create %s: unexpected definition %q", nt, ddl)
	}
	if err := exec("CREATE TABLE main." + nt + rest); err != nil {
		return err
	}
	b.created = append(b.created, nt)
	idx, err := sqliteIndexes(ctx, conn, table)
	if err != nil {
		return err
	}
	for _, s := range idx {
		// Unique indexes decide the projection's upserts: made now, under a temporary name.
		rest, ok := strings.CutPrefix(s, "CREATE UNIQUE INDEX ")
		if !ok {
			continue
		}
		rest = strings.TrimPrefix(rest, "IF NOT EXISTS ")
		iname, on, ok := strings.Cut(rest, " ON "+table)
		if !ok {
			iname, on, ok = strings.Cut(rest, ` ON "`+table+`"`)
		}
		if !ok {
			return fmt.Errorf("create %s: unexpected index definition %q", nt, s)
		}
		tmp := iname + "__rb" + b.suffix
		if err := exec("CREATE UNIQUE INDEX main." + tmp + " ON " + nt + on); err != nil {
			return err
		}
		if b.uniques == nil {
			b.uniques = map[string][]string{}
		}
		b.uniques[table] = append(b.uniques[table], tmp)
	}
	return nil
}

// swapRebuild swaps the new tables in, in one transaction: drop the live tables, rename the new
// ones, create the live indexes, replace the bookkeeping.
func (d sqLite) swapRebuild(ctx context.Context, _ *sql.DB, conn *sql.Conn, b *build) (err error) {
	name := b.proj.Name()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err := lockPosition(ctx, tx, d, name); err != nil {
		return err
	}
	exec := func(q string) error {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
		return nil
	}
	for _, t := range b.proj.Tables() {
		idx, err := sqliteIndexes(ctx, tx, t)
		if err != nil {
			return err
		}
		if err := exec("DROP TABLE main." + t); err != nil {
			return err
		}
		if err := exec("ALTER TABLE main." + b.renames[t] + " RENAME TO " + t); err != nil {
			return err
		}
		for _, u := range b.uniques[t] {
			if err := exec("DROP INDEX main." + u); err != nil {
				return err
			}
		}
		for _, s := range idx {
			if err := exec(s); err != nil {
				return err
			}
		}
	}
	if err := replaceBookkeeping(ctx, tx, name, b.mem); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

type sqliteQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// sqliteIndexes returns the CREATE INDEX statements of a table of the main schema.
func sqliteIndexes(ctx context.Context, q sqliteQuerier, table string) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT sql FROM main.sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL ORDER BY name`, table)
	if err != nil {
		return nil, fmt.Errorf("read indexes of %s: %w", table, err)
	}
	defer rows.Close()
	var idx []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("read indexes of %s: %w", table, err)
		}
		idx = append(idx, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read indexes of %s: %w", table, err)
	}
	return idx, nil
}
