package sqlstore

import (
	"context"
	"database/sql"
	"log/slog"
	"time"
)

// Dialect is what differs between the two databases. Its two implementations live in
// mariadb.go and sqlite.go; nothing else in the package branches on the database.
type Dialect interface {
	// Name is "mariadb" or "sqlite" (logs, status, `migrate` output).
	Name() string
	// InsertIgnore is the statement prefix of an INSERT that skips rows whose key exists.
	InsertIgnore() string

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
