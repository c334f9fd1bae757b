package sqlstore

import (
	"context"
	"database/sql"
	"log/slog"
	"time"

	"github.com/posthaste/posthaste/projections"
)

// Dialect is what differs between the two databases. Its two implementations live in
// mariadb.go and sqlite.go; nothing else in the package branches on the database.
type Dialect interface {
	// Name is "mariadb" or "sqlite" (logs, status, `migrate` output).
	Name() string
	// InsertIgnore is the statement prefix of an INSERT that skips rows whose key exists.
	InsertIgnore() string

	// read side

	// upsertTail follows the VALUES of a multi-row INSERT INTO table (columns) so that a row
	// whose key (the columns marked Key) exists is merged as each column's rule says; a column
	// list whose non-key columns are all Keep still writes (and so locks) the existing row
	// (projections.Tx.Upsert). The rules were checked by the caller.
	upsertTail(columns []projections.Column) string
	// greatest is the SQL of the larger of two integer expressions.
	greatest(a, b string) string
	// releaseSavepoint is the statement that ends a savepoint whose work stands or was rolled
	// back to, or "" where a savepoint of the same name replaces the previous one.
	releaseSavepoint(name string) string
	// isDriverError reports whether err is, or wraps, an error of the database's driver.
	isDriverError(err error) bool

	// columnsQuery reads the columns of the table named by its one argument, in column order:
	// name, declared type, 1-based position in the primary key (0 when not part of it).
	columnsQuery() string
	// byteOrder is the ORDER BY term that sorts a character column by its bytes.
	byteOrder(column string) string

	// replayDurability is the statement that makes the replay's connection commit without
	// (fast) or with a sync to disk again, or "" where the replay does not change it.
	replayDurability(fast bool) string
	// createShadow creates, on conn, an empty temporary copy of table under the live name, with
	// its indexes: the connection's statements on table reach the copy until it is set aside.
	createShadow(ctx context.Context, conn *sql.Conn, table string) error
	// setAsideShadow is the statement renaming the temporary copy of table to table+"__rebuild".
	setAsideShadow(table string) string
	// tablesLikeQuery lists the tables of the database whose name is LIKE its one argument
	// (escape character '!').
	tablesLikeQuery() string
	// createRebuildTable creates b's new real table of a live table, like it but without its
	// non-unique secondary indexes, and records in b what the swap needs to make it whole.
	createRebuildTable(ctx context.Context, conn *sql.Conn, b *build, table string) error
	// swapRebuild swaps b's new tables in for the live ones, with the projection's rebuilt
	// bookkeeping, so that a live consumer never sees the new tables with the old checkpoints.
	swapRebuild(ctx context.Context, db *sql.DB, conn *sql.Conn, b *build) error
	// storage

	// open connects to target (a go-sql-driver DSN, or the path of a SQLite file) with the
	// durable settings and returns the pool every write goes through (SQLite: its one writer
	// connection) and the pool of reads that may run beside writes (MariaDB: the same pool).
	open(ctx context.Context, target string, log *slog.Logger) (w, r *sql.DB, err error)
	// migrations is the dialect name migrations.Up (and projections.DB) know it by: "mysql"
	// or "sqlite".
	migrations() string
	// storedTime is the column value of a time: UTC at microsecond resolution, as DATETIME(6)
	// (MariaDB) or fixed-width text that sorts and compares as time (SQLite).
	storedTime(t time.Time) any
	// isUniqueViolation reports whether err is, or wraps, the driver's error for a duplicate
	// primary or unique key.
	isUniqueViolation(err error) bool
	// isLockFailure reports whether err is, or wraps, the driver's error for a deadlock or a
	// lock wait timeout: the statement or transaction was rolled back and may be retried.
	isLockFailure(err error) bool
	// replaceInto is the statement prefix of an INSERT that replaces a row whose key exists.
	replaceInto() string
	// lockingRead follows a SELECT whose rows the transaction must hold until it ends, or is
	// "" where every write transaction holds the database's write lock from BEGIN.
	lockingRead() string

	// lanes are the group-commit queues: appends (events alone, or with a transcript) and
	// acceptances (body, events and Postal ids), or nil when acceptances share the appends'
	// lane. committers is WithCommitters' value (the appends' committers on MariaDB).
	lanes(committers int) (appends lanePlan, accepts *lanePlan)
	// insertBounds bound one multi-row INSERT of events, bodies, transcripts and outbox rows.
	insertBounds() insertBounds
	// writeGroup writes a group of live requests and sets each one's err: how a group shares
	// its transaction, and how one faulty request is kept from failing the others.
	writeGroup(s *Store, live []*request)
	// positionsAtInsert reports the position strategy: true when each event gets its position
	// as it is inserted (base+1, base+2, … under the single writer, with seq = position); false
	// when seq is an auto-increment value and the relay stamps positions later (stamp).
	positionsAtInsert() bool
	// stamp gives positions, in commit order, to up to want committed events that have none and
	// returns how many it stamped (always 0 when positions are given at insert).
	stamp(ctx context.Context, s *Store, want int) (int, error)
	// pendingQuery reads up to $2 stamped outbox entries (position, data) with a position above
	// $1, in position order.
	pendingQuery() string
}
