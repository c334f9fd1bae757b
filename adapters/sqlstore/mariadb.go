package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/posthaste/posthaste/migrations"
	"github.com/posthaste/posthaste/projections"
)

// mariaDB is the production dialect (go-sql-driver/mysql).
type mariaDB struct{}

func (mariaDB) Name() string         { return "mariadb" }
func (mariaDB) InsertIgnore() string { return "INSERT IGNORE" }

// storage

// OpenMariaDB connects to MariaDB with a go-sql-driver DSN (see ParseMariaDBURL), forcing
// parseTime=true and UTC times, checks the connection and starts the group committers. It
// does not migrate: call Migrate first.
//
// Durability stays the operator's setting (innodb_flush_log_at_trx_commit; a warning is logged
// when it is not 1). Positions are stamped by the relay in commit order (Pending), never taken
// from auto-increment values, which commit out of order.
func OpenMariaDB(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	return openStore(ctx, mariaDB{}, dsn, opts)
}

// ParseMariaDBURL maps POSTHASTE_DATABASE_URL (mysql://user:pass@host:3306/db?param=value) to
// a go-sql-driver DSN with parseTime=true and UTC times. The port defaults to 3306. Query
// parameters are passed to the driver (e.g. tls=true, timeout=5s). Errors never print the
// password.
func ParseMariaDBURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("sqlstore: parse url: %w", err)
	}
	if u.Scheme != "mysql" && u.Scheme != "mariadb" {
		return "", fmt.Errorf("sqlstore: parse url: scheme %q, want mysql://", u.Scheme)
	}
	if u.Host == "" {
		return "", fmt.Errorf("sqlstore: parse url: no host in %q", redactURL(u))
	}
	db := strings.TrimPrefix(u.Path, "/")
	if db == "" || strings.Contains(db, "/") {
		return "", fmt.Errorf("sqlstore: parse url: want exactly one database name in the path of %q", redactURL(u))
	}
	cfg := mysql.NewConfig()
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "3306"
	}
	cfg.Net = "tcp"
	cfg.Addr = net.JoinHostPort(host, port)
	cfg.DBName = db
	// Pass the query through the driver's own parser so its parameters keep their meaning.
	if q := u.RawQuery; q != "" {
		extra, err := mysql.ParseDSN("/?" + q)
		if err != nil {
			return "", fmt.Errorf("sqlstore: parse url parameters: %w", err)
		}
		extra.User, extra.Passwd, extra.Net, extra.Addr, extra.DBName = cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName
		cfg = extra
	}
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	return cfg.FormatDSN(), nil
}

func redactURL(u *url.URL) string {
	c := *u
	if c.User != nil {
		c.User = url.User(c.User.Username())
	}
	return c.String()
}

// mariaDBPoolSize is the connections of the one pool reads and writes share.
const mariaDBPoolSize = 32

func (mariaDB) open(ctx context.Context, dsn string, log *slog.Logger) (w, r *sql.DB, err error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("sqlstore: open mariadb: %w", err)
	}
	if cfg.DBName == "" {
		return nil, nil, errors.New("sqlstore: open mariadb: the DSN names no database")
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
		return nil, nil, fmt.Errorf("sqlstore: open mariadb: %w", err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(mariaDBPoolSize)
	db.SetMaxIdleConns(mariaDBPoolSize)
	db.SetConnMaxLifetime(time.Hour)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("sqlstore: open mariadb: %w", err)
	}
	// Durability is the operator's setting, never ours to change; say so when it is weaker.
	var flush int
	if err := db.QueryRowContext(ctx, `SELECT @@innodb_flush_log_at_trx_commit`).Scan(&flush); err == nil && flush != 1 {
		log.Warn("sqlstore: innodb_flush_log_at_trx_commit is not 1: a crash may lose appends already acknowledged",
			"innodb_flush_log_at_trx_commit", flush)
	}
	return db, db, nil
}

func (mariaDB) migrations() string { return migrations.DialectMySQL }

func (mariaDB) storedTime(t time.Time) any { return t.UTC().Truncate(time.Microsecond) }

// MySQL error numbers the store reacts to.
const (
	mysqlDupEntry     = 1062
	mysqlLockDeadlock = 1213
	mysqlLockTimeout  = 1205
)

func mysqlErrNumber(err error) uint16 {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}

func (mariaDB) isUniqueViolation(err error) bool {
	return err != nil && mysqlErrNumber(err) == mysqlDupEntry
}

// isLockFailure: InnoDB rolled back the transaction (deadlock) or the statement (lock wait
// timeout; the writer then rolls back), so a retry is safe.
func (mariaDB) isLockFailure(err error) bool {
	n := mysqlErrNumber(err)
	return err != nil && (n == mysqlLockDeadlock || n == mysqlLockTimeout)
}

func (mariaDB) replaceInto() string { return "REPLACE INTO" }
func (mariaDB) lockingRead() string { return " FOR UPDATE" }

// Group commit on MariaDB: appends (with transcripts) and acceptances have lanes of their own.
// Appends: 2 committers (WithCommitters), groups up to 200 events / 4 MiB. Acceptances: at
// least 4 committers, so that while one group waits for its durable commit the next is being
// written (the block profile of the API showed sends waiting for pool connections), groups up
// to 100 acceptances / 4 MiB. Numbers from docs/benchmarks.md.
const (
	mariaDBMaxGroupEvents = 200
	mariaDBAcceptors      = 4
	mariaDBMaxAcceptGroup = 100
	mariaDBMaxStatement   = 4 << 20 // stored bytes per multi-row INSERT (max_allowed_packet is 16 MiB by default)
	mariaDBLockRetries    = 3       // attempts of a request alone that lost a deadlock
)

func (mariaDB) lanes(committers int) (lanePlan, *lanePlan) {
	appends := lanePlan{committers: committers, waiting: 4 * mariaDBMaxGroupEvents,
		maxEvents: mariaDBMaxGroupEvents, maxBytes: mariaDBMaxStatement}
	accepts := lanePlan{committers: max(mariaDBAcceptors, committers), waiting: 4 * mariaDBMaxGroupEvents,
		maxRequests: mariaDBMaxAcceptGroup, maxBytes: mariaDBMaxStatement}
	return appends, &accepts
}

func (mariaDB) insertBounds() insertBounds { return insertBounds{bytes: mariaDBMaxStatement} }

// writeGroup writes the whole group with shared multi-row INSERTs in one transaction (one
// statement of events for up to 200 callers). If it fails before COMMIT, InnoDB has written
// nothing of it, and each request is retried alone, so only a faulty one (a conflicting
// caller, a deadlock victim twice over) fails. After a failed COMMIT the outcome is unknown:
// no retry, which could report a caller's own committed events as a conflict.
func (d mariaDB) writeGroup(s *Store, live []*request) {
	committing, err := s.writeTx(live)
	switch {
	case err == nil:
	case committing:
		for _, r := range live {
			r.err = err
		}
	case len(live) > 1 || d.isLockFailure(err):
		for _, r := range live {
			r.err = d.writeAlone(s, r)
		}
	default:
		live[0].err = err
	}
}

// writeAlone writes one request in its own transaction, retrying deadlock victims.
func (d mariaDB) writeAlone(s *Store, r *request) error {
	for attempt := 1; ; attempt++ {
		_, err := s.writeTx([]*request{r})
		if d.isLockFailure(err) && attempt < mariaDBLockRetries {
			time.Sleep(time.Duration(attempt) * time.Millisecond)
			continue
		}
		return err
	}
}

func (mariaDB) positionsAtInsert() bool { return false }

// Stamping (the relay's side of positions on MariaDB).
const (
	// mariaDBUnstampedQuery reads the oldest committed unstamped events. FORCE INDEX: left
	// alone, the optimizer scans the primary key (every event ever stamped) or filesorts the
	// whole backlog from UNIQUE(position); ORDER BY seq (not position, seq) keeps the ordered
	// ref scan on events_unstamped, which stops after LIMIT entries
	// (TestStampingReadsOnlyTheBatch).
	mariaDBUnstampedQuery = `SELECT seq FROM events FORCE INDEX (events_unstamped)
	WHERE position IS NULL ORDER BY seq LIMIT ?`
	// mariaDBPendingQuery reads stamped outbox entries past a position, on outbox_position.
	mariaDBPendingQuery = `SELECT o.position, e.data FROM outbox o JOIN events e ON e.id = o.event_id
	WHERE o.position > ? ORDER BY o.position LIMIT ?`
	mariaDBMaxStampAttempts = 20
)

func (mariaDB) pendingQuery() string { return mariaDBPendingQuery }

// errStampRace means another relay stamped some of the same events first; the round is retried.
var errStampRace = errors.New("another relay stamped concurrently")

// stamp gives positions to up to want committed unpositioned events (fewer when fewer are
// committed), at most stampBatch per transaction.
//
// Stamping rule: auto-increment values commit out of order, so an event's position is given
// only once its transaction has committed and the relay sees it. One READ COMMITTED transaction
// reads the committed unpositioned events in seq order (a plain read: it neither waits for nor
// locks appends still open) and gives them max(position)+1, +2, ... An append that commits
// later gets a later position, so a follower that saw p never misses anything by asking for
// > p. Two overlapping relays collide on UNIQUE(position) or find the event already stamped;
// the loser rolls back and retries, so no event gets two positions and no position two events.
//
// Cost: every statement is O(batch) whatever the backlog (unstamped events) and the log size:
// the unstamped events are found on the (position, seq) index events_unstamped, MAX(position)
// is one index dive, updates go by primary key, and the outbox is read on outbox_position.
func (d mariaDB) stamp(ctx context.Context, s *Store, want int) (int, error) {
	done := 0
	for attempt := 0; done < want; {
		batch := min(stampBatch, want-done)
		n, err := d.stampOnce(ctx, s.w, batch)
		switch {
		case err == nil && n < batch:
			return done + n, nil // everything committed is stamped
		case err == nil:
			attempt = 0
			done += n
		case d.retryableStamp(err) && attempt < mariaDBMaxStampAttempts:
			attempt++
			s.log.Debug("sqlstore: stamp positions: retrying", "attempt", attempt, "err", err)
			select {
			case <-ctx.Done():
				return done, fmt.Errorf("sqlstore: stamp positions: %w", ctx.Err())
			case <-time.After(time.Duration(attempt) * time.Millisecond):
			}
		default:
			return done, fmt.Errorf("sqlstore: stamp positions: %w", err)
		}
	}
	return done, nil
}

func (d mariaDB) retryableStamp(err error) bool {
	return errors.Is(err, errStampRace) || d.isUniqueViolation(err) || d.isLockFailure(err)
}

// stampOnce stamps up to limit committed unpositioned events in one transaction.
func (mariaDB) stampOnce(ctx context.Context, db *sql.DB, limit int) (n int, err error) {
	tx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	rows, err := tx.QueryContext(ctx, mariaDBUnstampedQuery, limit)
	if err != nil {
		return 0, err
	}
	seqs := make([]uint64, 0, limit)
	for rows.Next() {
		var seq uint64
		if err := rows.Scan(&seq); err != nil {
			rows.Close()
			return 0, err
		}
		seqs = append(seqs, seq)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if len(seqs) == 0 {
		return 0, tx.Commit()
	}
	var top int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(position), 0) FROM events`).Scan(&top); err != nil {
		return 0, err
	}
	// Positions follow seq order: the k-th event read gets top+k. Its seqs come in runs of
	// consecutive values (one per group commit, typically hundreds long), and within a run
	// position = seq + (a constant), so each run is one PK range of the UPDATE, with no
	// per-row CASE (a CASE of n WHENs costs O(n) per row, O(n²) per batch). Every seq inside a
	// run was read above, so no other event can be in its range.
	type run struct {
		from, to uint64
		offset   int64
	}
	var runs []run
	for i, seq := range seqs {
		pos := top + int64(i) + 1
		if n := len(runs); n > 0 && runs[n-1].to+1 == seq {
			runs[n-1].to = seq
			continue
		}
		runs = append(runs, run{from: seq, to: seq, offset: pos - int64(seq)})
	}
	var set, where strings.Builder
	var setArgs, whereArgs []any
	set.WriteString("CASE")
	for i, r := range runs {
		set.WriteString(" WHEN seq BETWEEN ? AND ? THEN CAST(seq AS SIGNED) + ?")
		setArgs = append(setArgs, r.from, r.to, r.offset)
		if i > 0 {
			where.WriteString(" OR ")
		}
		where.WriteString("e.seq BETWEEN ? AND ?")
		whereArgs = append(whereArgs, r.from, r.to)
	}
	set.WriteString(" END")
	res, err := tx.ExecContext(ctx,
		"UPDATE events e FORCE INDEX (PRIMARY) SET position = "+set.String()+
			" WHERE position IS NULL AND ("+where.String()+")",
		append(setArgs, whereArgs...)...)
	if err != nil {
		return 0, err
	}
	if got, err := res.RowsAffected(); err != nil {
		return 0, err
	} else if got != int64(len(seqs)) {
		return 0, errStampRace
	}
	// Outbox rows of already acked events are gone; fewer outbox updates than events is fine.
	// Driven from the events' PK ranges, one outbox PK lookup per event.
	if _, err := tx.ExecContext(ctx,
		`UPDATE events e STRAIGHT_JOIN outbox o ON o.event_id = e.id SET o.position = e.position
		 WHERE o.position IS NULL AND (`+where.String()+`)`, whereArgs...); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	return len(seqs), nil
}

// read side

// MariaDB is the dialect of the production database (go-sql-driver/mysql).
var MariaDB Dialect = mariaDB{}

// upsertTail: ON DUPLICATE KEY UPDATE fires on any unique key, hence Upsert's contract that the
// key is the table's only one.
func (mariaDB) upsertTail(columns []projections.Column) string {
	var b strings.Builder
	b.WriteString(" ON DUPLICATE KEY UPDATE ")
	sets := 0
	for _, c := range columns {
		var set string
		switch c.On {
		case projections.Replace:
			set = c.Name + " = VALUES(" + c.Name + ")"
		case projections.Add:
			set = c.Name + " = " + c.Name + " + VALUES(" + c.Name + ")"
		default:
			continue
		}
		if sets > 0 {
			b.WriteString(", ")
		}
		sets++
		b.WriteString(set)
	}
	if sets == 0 { // every column kept: assign one to itself, which still locks the row
		n := noopColumn(columns)
		b.WriteString(n + " = " + n)
	}
	return b.String()
}

// noopColumn is the column an upsert that changes nothing assigns to itself: the first that is
// not part of the key, else the first.
func noopColumn(columns []projections.Column) string {
	for _, c := range columns {
		if c.On != projections.Key {
			return c.Name
		}
	}
	return columns[0].Name
}

func (mariaDB) greatest(a, b string) string { return "GREATEST(" + a + ", " + b + ")" }

// releaseSavepoint: MariaDB replaces a savepoint of the same name.
func (mariaDB) releaseSavepoint(string) string { return "" }

func (mariaDB) isDriverError(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me)
}

func (mariaDB) columnsQuery() string {
	return `SELECT c.COLUMN_NAME, c.DATA_TYPE, COALESCE(k.ORDINAL_POSITION, 0)
			FROM information_schema.COLUMNS c
			LEFT JOIN information_schema.KEY_COLUMN_USAGE k
			  ON k.TABLE_SCHEMA = c.TABLE_SCHEMA AND k.TABLE_NAME = c.TABLE_NAME
			 AND k.COLUMN_NAME = c.COLUMN_NAME AND k.CONSTRAINT_NAME = 'PRIMARY'
			WHERE c.TABLE_SCHEMA = DATABASE() AND c.TABLE_NAME = ?
			ORDER BY c.ORDINAL_POSITION`
}

// byteOrder: the columns' collation ignores case; BINARY compares the bytes, as SQLite does.
func (mariaDB) byteOrder(column string) string { return "BINARY " + column }

// replayDurability: a MariaDB replay keeps the server's durability.
func (mariaDB) replayDurability(bool) string { return "" }

// createShadow: a temporary table LIKE the live one, renamed to the live name (a temporary table
// hides a base table of the same name on its connection).
func (mariaDB) createShadow(ctx context.Context, conn *sql.Conn, table string) error {
	for _, q := range []string{"CREATE TEMPORARY TABLE " + table + "__rebuild LIKE " + table, "ALTER TABLE " + table + "__rebuild RENAME TO " + table} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("shadow %s: %w", table, err)
		}
	}
	return nil
}

func (mariaDB) setAsideShadow(table string) string {
	return "ALTER TABLE " + table + " RENAME TO " + table + "__rebuild"
}

func (mariaDB) tablesLikeQuery() string {
	return `SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE ? ESCAPE '!'`
}

// createRebuildTable: CREATE TABLE … LIKE, then its non-unique keys dropped; the swap adds them
// back (b.addKeys) once the rows are in.
func (mariaDB) createRebuildTable(ctx context.Context, conn *sql.Conn, b *build, table string) error {
	nt := b.renames[table]
	exec := func(q string) error {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("create %s: %w", nt, err)
		}
		return nil
	}
	var name, ddl string
	if err := conn.QueryRowContext(ctx, "SHOW CREATE TABLE "+table).Scan(&name, &ddl); err != nil {
		return fmt.Errorf("create %s: read definition: %w", nt, err)
	}
	if err := exec("CREATE TABLE " + nt + " LIKE " + table); err != nil {
		return err
	}
	b.created = append(b.created, nt)
	var drops, adds []string
	for _, line := range strings.Split(ddl, "\n") {
		line = strings.TrimSuffix(strings.TrimSpace(line), ",")
		if !strings.HasPrefix(line, "KEY `") {
			continue
		}
		key := strings.TrimPrefix(line, "KEY ")
		drops = append(drops, "DROP KEY "+key[:strings.Index(key[1:], "`")+2])
		adds = append(adds, "ADD "+line)
	}
	if len(drops) > 0 {
		if err := exec("ALTER TABLE " + nt + " " + strings.Join(drops, ", ")); err != nil {
			return err
		}
	}
	if b.addKeys == nil {
		b.addKeys = map[string][]string{}
	}
	b.addKeys[table] = adds
	return nil
}

// swapRebuild: secondary indexes added, then the bookkeeping written in a transaction of another
// connection that holds the position lock across the atomic RENAME TABLE of the pinned one (see
// ReplayAll).
func (d mariaDB) swapRebuild(ctx context.Context, db *sql.DB, conn *sql.Conn, b *build) (err error) {
	name := b.proj.Name()
	tables := b.proj.Tables()
	for _, t := range tables {
		if adds := b.addKeys[t]; len(adds) > 0 {
			if _, err := conn.ExecContext(ctx, "ALTER TABLE "+b.renames[t]+" "+strings.Join(adds, ", ")); err != nil {
				return fmt.Errorf("add indexes to %s: %w", b.renames[t], err)
			}
		}
	}
	// The rebuilt horizon and dead letters, read from the temporary shadows of this connection.
	pos, err := readRows(ctx, conn, tablePositions+"__rebuild", name)
	if err != nil {
		return err
	}
	dead, err := readRows(ctx, conn, tableDeadLetters+"__rebuild", name)
	if err != nil {
		return err
	}
	other, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer other.Close()
	tx, err := other.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = tx.Rollback()
		}
	}()
	if err := lockPosition(ctx, tx, d, name); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM "+tableStreams+" WHERE projection = ?", name); err != nil {
		return fmt.Errorf("delete checkpoints: %w", err)
	}
	if err := writeCheckpoints(ctx, tx, name, b.mem); err != nil {
		return err
	}
	for _, r := range []struct {
		table string
		rows  rowSet
	}{{tablePositions, pos}, {tableDeadLetters, dead}} {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+r.table+" WHERE projection = ?", name); err != nil {
			return fmt.Errorf("delete from %s: %w", r.table, err)
		}
		if err := insertRows(ctx, tx, "INSERT INTO "+r.table+" ("+strings.Join(r.rows.cols, ", ")+") VALUES ", "", r.rows.rows); err != nil {
			return fmt.Errorf("write %s: %w", r.table, err)
		}
	}
	var swap, undo, drop []string
	for _, t := range tables {
		old := t + "__ro" + b.suffix
		swap = append(swap, t+" TO "+old, b.renames[t]+" TO "+t)
		undo = append(undo, t+" TO "+b.renames[t], old+" TO "+t)
		drop = append(drop, old)
	}
	if _, err := conn.ExecContext(ctx, "SET SESSION lock_wait_timeout = 120"); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, "RENAME TABLE "+strings.Join(swap, ", ")); err != nil {
		return fmt.Errorf("rename: %w", err)
	}
	committed = true
	if err := tx.Commit(); err != nil {
		// The tables were swapped, the bookkeeping was not: put the live tables back.
		if _, uerr := conn.ExecContext(context.WithoutCancel(ctx), "RENAME TABLE "+strings.Join(undo, ", ")); uerr != nil {
			return fmt.Errorf("commit: %w (and undoing the rename: %v; replay again)", err, uerr)
		}
		return fmt.Errorf("commit: %w", err)
	}
	b.created = nil
	if _, err := conn.ExecContext(ctx, "DROP TABLE "+strings.Join(drop, ", ")); err != nil {
		return fmt.Errorf("drop the old tables: %w", err)
	}
	return nil
}
