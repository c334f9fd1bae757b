package projections

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// ReplayResult says what a replay did.
type ReplayResult struct {
	Projection  string `json:"projection"`
	Events      int    `json:"events"`       // read from the store
	Applied     int    `json:"applied"`      // applied to the rebuilt model
	DeadLetters int    `json:"dead_letters"` // poison events met (recorded again)
	Position    int64  `json:"position"`     // the rebuilt model covers the store up to here
}

// Replay rebuilds a projection from the store with the default options and no logging.
func Replay(ctx context.Context, db DB, reader Reader, proj Projection) (ReplayResult, error) {
	return ReplayWith(ctx, db, reader, proj, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{})
}

// ReplayWith rebuilds a projection from the store in position order, beside the live model, then
// swaps it in.
//
// The new model is built in shadow tables on one pinned connection: temporary tables created like
// the live ones (MariaDB: CREATE TEMPORARY TABLE … LIKE; SQLite: the live DDL in the temp schema),
// under the live names, so the projection's own SQL writes to them unchanged; the checkpoint
// tables are shadowed too. Events are applied BatchSize per transaction through the same code as
// the live runner. The swap is one transaction that takes the projection's position lock (so a
// live consumer waits), replaces the live rows with the rebuilt ones and replaces the projection's
// checkpoints, horizon and dead letters. Readers see the old model until it commits and the new
// one after; a running consumer then applies anything newer from the store (its horizon is the
// rebuilt one).
//
// The swap copies rows instead of MariaDB's RENAME TABLE: RENAME commits implicitly, so the table
// swap and the checkpoint swap could not be atomic together, and a consumer between the two would
// apply events twice or not at all.
//
// The store is read while the connection is pinned, so it must not read through that one
// connection. The embedded SQLite store writes through a single connection: a replay inside the
// serving process holds it for the whole rebuild and appends wait; `posthaste replay` runs in its
// own process, where each batch holds the file's write lock only for its own transaction.
func ReplayWith(ctx context.Context, db DB, reader Reader, proj Projection, logger *slog.Logger, opts Options) (res ReplayResult, err error) {
	if db.SQL == nil || reader == nil || proj == nil || logger == nil {
		return res, errors.New("projections: replay: nil database, reader, projection or logger")
	}
	if db.Dialect != DialectMySQL && db.Dialect != DialectSQLite {
		return res, fmt.Errorf("projections: replay: unknown dialect %q", db.Dialect)
	}
	if err := checkProjection(proj); err != nil {
		return res, fmt.Errorf("projections: replay: %w", err)
	}
	name := proj.Name()
	res.Projection = name
	conn, err := db.SQL.Conn(ctx)
	if err != nil {
		return res, fmt.Errorf("projections: replay %s: connect: %w", name, err)
	}
	defer func() {
		// The connection holds temporary tables shadowing live ones: never give it back to the pool.
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		_ = conn.Close()
	}()

	tables := append(append([]string{}, proj.Tables()...), tableStreams, tablePositions, tableDeadLetters)
	for _, t := range tables {
		if err := createShadow(ctx, conn, db.Dialect, t); err != nil {
			return res, fmt.Errorf("projections: replay %s: %w", name, err)
		}
	}

	w := &worker{conn: conn, dialect: db.Dialect, reader: reader, proj: proj, log: logger.With("projection", name),
		opts: opts.withDefaults(), stats: &counters{}}
	n, err := w.catchUp(ctx)
	if err != nil {
		return res, fmt.Errorf("projections: replay %s: %w", name, err)
	}
	res.Events = n
	res.Applied = int(w.stats.applied.Load())
	res.DeadLetters = int(w.stats.deadLettered.Load())
	if res.Position, _, err = readHorizon(ctx, conn, name); err != nil {
		return res, fmt.Errorf("projections: replay %s: %w", name, err)
	}

	// Move the shadows aside so the live names mean the live tables again on this connection.
	for _, t := range tables {
		q := "ALTER TABLE " + t + " RENAME TO " + t + "__rebuild"
		if db.Dialect == DialectSQLite {
			q = "ALTER TABLE temp." + t + " RENAME TO " + t + "__rebuild"
		}
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return res, fmt.Errorf("projections: replay %s: set aside %s: %w", name, t, err)
		}
	}
	if err := swapIn(ctx, conn, db.Dialect, name, proj.Tables()); err != nil {
		return res, fmt.Errorf("projections: replay %s: swap: %w", name, err)
	}
	logger.Info("projection replayed", "projection", name, "events", res.Events, "position", res.Position, "dead_letters", res.DeadLetters)
	return res, nil
}

// createShadow creates an empty temporary copy of a live table under the live name.
func createShadow(ctx context.Context, conn *sql.Conn, dialect, table string) error {
	exec := func(q string) error {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("shadow %s: %w", table, err)
		}
		return nil
	}
	if dialect == DialectMySQL {
		if err := exec("CREATE TEMPORARY TABLE " + table + "__rebuild LIKE " + table); err != nil {
			return err
		}
		return exec("ALTER TABLE " + table + "__rebuild RENAME TO " + table)
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
	rows, err := conn.QueryContext(ctx, `SELECT sql FROM main.sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL`, table)
	if err != nil {
		return fmt.Errorf("shadow %s: read indexes: %w", table, err)
	}
	var idx []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return fmt.Errorf("shadow %s: read indexes: %w", table, err)
		}
		idx = append(idx, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("shadow %s: read indexes: %w", table, err)
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

// swapIn replaces the live model and the projection's bookkeeping with the rebuilt ones
// (<table>__rebuild) in one transaction.
func swapIn(ctx context.Context, conn *sql.Conn, dialect, name string, tables []string) (err error) {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err := lockPosition(ctx, tx, dialect, name); err != nil {
		return err
	}
	exec := func(q string, args ...any) error {
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("%s: %w", strings.SplitN(q, " WHERE", 2)[0], err)
		}
		return nil
	}
	for _, t := range tables {
		if err := exec("DELETE FROM " + t); err != nil {
			return err
		}
		if err := exec("INSERT INTO " + t + " SELECT * FROM " + t + "__rebuild"); err != nil {
			return err
		}
	}
	for _, t := range []string{tableStreams, tablePositions, tableDeadLetters} {
		if err := exec("DELETE FROM "+t+" WHERE projection = ?", name); err != nil {
			return err
		}
		if err := exec("INSERT INTO "+t+" SELECT * FROM "+t+"__rebuild WHERE projection = ?", name); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
