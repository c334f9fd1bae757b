package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections"
)

// ReplayResult says what a replay did.
type ReplayResult struct {
	Projection  string `json:"projection"`
	Events      int    `json:"events"`       // read from the store
	Applied     int    `json:"applied"`      // applied to the rebuilt model
	DeadLetters int    `json:"dead_letters"` // poison events met (recorded again)
	Position    int64  `json:"position"`     // the rebuilt model covers the store up to here
}

// replayBatchSize is the default number of events per read and per transaction of a replay.
const replayBatchSize = 5000

// Replay rebuilds a projection from the store with the default options and no logging.
func Replay(ctx context.Context, db *sql.DB, d Dialect, reader projections.Reader, proj projections.Projection) (ReplayResult, error) {
	return ReplayWith(ctx, db, d, reader, proj, slog.New(slog.NewTextHandler(io.Discard, nil)), ProjectionOptions{})
}

// ReplayWith rebuilds one projection (see ReplayAll).
func ReplayWith(ctx context.Context, db *sql.DB, d Dialect, reader projections.Reader, proj projections.Projection, logger *slog.Logger, opts ProjectionOptions) (ReplayResult, error) {
	res, err := ReplayAll(ctx, db, d, reader, []projections.Projection{proj}, logger, opts)
	if len(res) == 1 {
		return res[0], err
	}
	if proj != nil {
		return ReplayResult{Projection: proj.Name()}, err
	}
	return ReplayResult{}, err
}

// ReplayAll rebuilds projections from the store in position order, beside the live models of
// db (a database of dialect d), then swaps each one in. The log is read (and its pages decoded)
// once for all of them: each page is applied to every projection's new model in turn.
// ProjectionOptions.BatchSize is the page size and the number of events per transaction
// (default 5000 for a replay).
//
// The new models are built on one pinned connection. A projections.Retargetable one writes real
// tables named <table>__rb<6 hex> (created like the live ones, without non-unique secondary
// indexes); any other projection writes temporary tables created like the live ones under the
// live names (MariaDB: CREATE TEMPORARY TABLE … LIKE; SQLite: the live DDL in the temp schema),
// so its own SQL writes to them unchanged. The bookkeeping tables (positions, dead letters) are
// shadowed by temporary tables too. Events are applied through the same code as the live
// runner, except that the per-stream checkpoints are kept in memory (the model is built from
// scratch in position order, so each stream's versions come in order) and written once, at the
// swap; a stream whose versions have a gap is filled from the store as in the live runner. That
// map costs memory per stream (roughly 100–150 bytes: ~40 MB for the 317k streams of 1M events).
//
// On SQLite the swap of a Retargetable projection builds the live indexes inside the swap
// transaction (SQLite has no RENAME INDEX, so they cannot be built beforehand under their
// names); another process waits for the file's write lock meanwhile (busy_timeout).
//
// Each projection's swap takes its position lock, so a live consumer of it waits, and replaces
// the model together with the projection's checkpoints, horizon and dead letters:
//   - temporary tables: one transaction deletes the live rows and copies the rebuilt ones in;
//   - SQLite, Retargetable: one transaction drops the live tables, renames the new ones to the
//     live names (ALTER TABLE … RENAME), creates the live indexes on them and replaces the
//     bookkeeping;
//   - MariaDB, Retargetable: the secondary indexes are added to the new tables first; then a
//     second connection opens a transaction that takes the position lock and writes the new
//     bookkeeping, the pinned connection swaps the tables with one atomic multi-table RENAME
//     TABLE (which commits by itself), and the bookkeeping transaction commits. A live consumer
//     is held on the position lock from before the RENAME to the commit, so it never applies
//     events to the new tables with the old checkpoints; if the commit fails, the RENAME is
//     undone. (A crash of the replay between the RENAME and that commit would leave the new
//     tables with the old checkpoints: replay again.)
//
// Readers see the old model until the swap and the new one after; a running consumer then
// applies anything newer from the store (its horizon is the rebuilt one). Leftover new tables
// of an interrupted replay are dropped when the next replay of the projection starts: run one
// replay of a projection at a time (a second one makes the first fail).
//
// The store is read while the connection is pinned, so it must not read through that one
// connection. The embedded SQLite store writes through a single connection: a replay inside the
// serving process holds it for the whole rebuild and appends wait; `posthaste replay` runs in its
// own process, where each batch holds the file's write lock only for its own transaction.
func ReplayAll(ctx context.Context, db *sql.DB, d Dialect, reader projections.Reader, projs []projections.Projection, logger *slog.Logger, opts ProjectionOptions) (results []ReplayResult, err error) {
	if db == nil || d == nil || reader == nil || logger == nil {
		return nil, errors.New("projections: replay: nil database, dialect, reader or logger")
	}
	if len(projs) == 0 {
		return nil, errors.New("projections: replay: no projection")
	}
	seen := map[string]bool{}
	for _, p := range projs {
		if p == nil {
			return nil, errors.New("projections: replay: nil projection")
		}
		if err := checkProjection(p); err != nil {
			return nil, fmt.Errorf("projections: replay: %w", err)
		}
		if seen[p.Name()] {
			return nil, fmt.Errorf("projections: replay: projection %q is given twice", p.Name())
		}
		seen[p.Name()] = true
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = replayBatchSize
	}
	opts = opts.withDefaults()
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("projections: replay: connect: %w", err)
	}
	var builds []*build
	defer func() {
		// Drop the new tables of builds not swapped in (an error met on the way).
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		for _, b := range builds {
			for _, t := range b.created {
				if _, derr := conn.ExecContext(cctx, "DROP TABLE IF EXISTS "+t); derr != nil {
					logger.Warn("replay: drop a new table", "table", t, "error", derr)
				}
			}
		}
		// The connection holds temporary tables shadowing live ones: never give it back to the pool.
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		_ = conn.Close()
	}()
	// The new model is thrown away if the process dies: no need to sync each batch's commit.
	// The swap is synced again.
	if q := d.replayDurability(true); q != "" {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("projections: replay: %w", err)
		}
	}
	for _, t := range []string{tablePositions, tableDeadLetters} {
		if err := d.createShadow(ctx, conn, t); err != nil {
			return nil, fmt.Errorf("projections: replay: %w", err)
		}
	}
	for _, p := range projs {
		b, err := newBuild(ctx, conn, d, reader, p, logger, opts)
		if b != nil {
			builds = append(builds, b)
		}
		if err != nil {
			return nil, fmt.Errorf("projections: replay %s: %w", p.Name(), err)
		}
	}

	// Read the log once, the next page while the current one is applied.
	type page struct {
		recs []events.Record
		err  error
	}
	pages := make(chan page, 1)
	rctx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	go func() {
		defer close(pages)
		var after int64
		for {
			recs, err := reader.ReadAll(rctx, after, opts.BatchSize)
			if err != nil {
				err = fmt.Errorf("projections: replay: read store after %d: %w", after, err)
			}
			select {
			case pages <- page{recs, err}:
			case <-rctx.Done():
				return
			}
			if err != nil || len(recs) < opts.BatchSize {
				return
			}
			after = recs[len(recs)-1].Position
		}
	}()
	total, position := 0, int64(0)
	for pg := range pages {
		if pg.err != nil {
			return nil, pg.err
		}
		if len(pg.recs) == 0 {
			break
		}
		for _, b := range builds {
			if err := b.apply(ctx, pg.recs); err != nil {
				return nil, fmt.Errorf("projections: replay %s: %w", b.proj.Name(), err)
			}
		}
		total += len(pg.recs)
		position = pg.recs[len(pg.recs)-1].Position
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	// Move the temporary shadows aside so the live names mean the live tables again on this
	// connection.
	aside := []string{tablePositions, tableDeadLetters}
	for _, b := range builds {
		if b.renames == nil {
			aside = append(aside, b.proj.Tables()...)
		}
	}
	for _, t := range aside {
		if _, err := conn.ExecContext(ctx, d.setAsideShadow(t)); err != nil {
			return nil, fmt.Errorf("projections: replay: set aside %s: %w", t, err)
		}
	}
	if q := d.replayDurability(false); q != "" {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("projections: replay: %w", err)
		}
	}
	for _, b := range builds {
		name := b.proj.Name()
		res := ReplayResult{Projection: name, Events: total, Position: position,
			Applied: int(b.w.stats.applied.Load()), DeadLetters: int(b.w.stats.deadLettered.Load())}
		start := time.Now()
		if b.renames == nil {
			err = swapCopy(ctx, conn, d, name, b.proj.Tables(), b.mem)
		} else {
			err = d.swapRebuild(ctx, db, conn, b)
		}
		if err != nil {
			return results, fmt.Errorf("projections: replay %s: swap: %w", name, err)
		}
		b.created = nil
		results = append(results, res)
		logger.Info("projection replayed", "projection", name, "events", res.Events, "position", res.Position,
			"dead_letters", res.DeadLetters, "swap", time.Since(start).Round(time.Millisecond))
	}
	return results, nil
}

// build is one projection's new model under construction.
type build struct {
	proj projections.Projection // the live projection
	w    *worker                // applies to the new model: proj over temporary shadows, or its retargeted copy
	mem  map[streamKey]int64
	// renames maps each live table to its new real table (Retargetable), nil for temporary shadows.
	renames map[string]string
	suffix  string
	created []string // new real tables not swapped in yet (dropped on failure)
	// addKeys holds, per live table, the MariaDB secondary index clauses left out of the new table.
	addKeys map[string][]string
	// uniques holds, per live table, the SQLite unique indexes made on the new table under
	// temporary names (replaced by the live ones at the swap).
	uniques map[string][]string
}

func newBuild(ctx context.Context, conn *sql.Conn, d Dialect, reader projections.Reader, p projections.Projection, logger *slog.Logger, opts ProjectionOptions) (*build, error) {
	b := &build{proj: p, mem: map[streamKey]int64{}}
	target := p
	if rt, ok := p.(projections.Retargetable); ok {
		var r [3]byte
		if _, err := rand.Read(r[:]); err != nil {
			return nil, err
		}
		b.suffix = hex.EncodeToString(r[:])
		b.renames = map[string]string{}
		for _, t := range p.Tables() {
			if err := dropLeftovers(ctx, conn, d, t); err != nil {
				return nil, err
			}
			b.renames[t] = t + "__rb" + b.suffix
		}
		for _, t := range p.Tables() {
			if err := d.createRebuildTable(ctx, conn, b, t); err != nil {
				return b, err
			}
		}
		target = rt.WithTables(b.renames)
		if target == nil || target.Name() != p.Name() {
			return b, errors.New("WithTables returned another projection")
		}
	} else {
		for _, t := range p.Tables() {
			if err := d.createShadow(ctx, conn, t); err != nil {
				return b, err
			}
		}
	}
	b.w = &worker{conn: conn, d: d, reader: reader, proj: target, log: logger.With("projection", p.Name()),
		opts: opts, stats: &counters{}}
	return b, nil
}

// apply applies one page of the log to the new model in one transaction.
func (b *build) apply(ctx context.Context, recs []events.Record) error {
	a, err := b.w.inTx(ctx, func(a *txApplier) error {
		a.mem = b.mem
		for _, rec := range recs {
			if _, err := a.handle(ctx, rec); err != nil {
				return err
			}
		}
		return a.setHorizon(ctx, recs[len(recs)-1].Position)
	})
	if err != nil {
		return err
	}
	b.w.account(a)
	for k := range a.dirty {
		b.mem[k] = a.versions[k]
	}
	return nil
}

// dropLeftovers drops the new (__rb) and old (__ro) tables an interrupted replay of table left.
func dropLeftovers(ctx context.Context, conn *sql.Conn, d Dialect, table string) error {
	rows, err := conn.QueryContext(ctx, d.tablesLikeQuery(), strings.ReplaceAll(table, "_", "!_")+"!_!_r%")
	if err != nil {
		return fmt.Errorf("list leftovers of %s: %w", table, err)
	}
	var drop []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return fmt.Errorf("list leftovers of %s: %w", table, err)
		}
		rest, _ := strings.CutPrefix(n, table+"__r")
		if len(rest) == 7 && (rest[0] == 'b' || rest[0] == 'o') {
			if _, err := hex.DecodeString(rest[1:]); err == nil {
				drop = append(drop, n)
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list leftovers of %s: %w", table, err)
	}
	for _, n := range drop {
		if _, err := conn.ExecContext(ctx, "DROP TABLE IF EXISTS "+n); err != nil {
			return fmt.Errorf("drop leftover %s: %w", n, err)
		}
	}
	return nil
}

// writeCheckpoints writes a rebuilt model's stream checkpoints (in key order) in tx.
func writeCheckpoints(ctx context.Context, tx *sql.Tx, name string, mem map[streamKey]int64) error {
	keys := make([]streamKey, 0, len(mem))
	for k := range mem {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b streamKey) int {
		if c := strings.Compare(a.typ, b.typ); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	const chunk = 1000
	rows := make([][]any, 0, chunk)
	for len(keys) > 0 {
		n := min(chunk, len(keys))
		rows = rows[:0]
		for _, k := range keys[:n] {
			rows = append(rows, []any{name, k.typ, k.id, mem[k]})
		}
		if err := insertRows(ctx, tx, `INSERT INTO projection_streams (projection, stream_type, stream_id, version) VALUES `, "", rows); err != nil {
			return fmt.Errorf("write checkpoints: %w", err)
		}
		keys = keys[n:]
	}
	return nil
}

// replaceBookkeeping replaces the projection's checkpoints (from mem) and, from the temporary
// shadows set aside on the same connection (<table>__rebuild), its horizon and dead letters.
func replaceBookkeeping(ctx context.Context, tx *sql.Tx, name string, mem map[streamKey]int64) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM "+tableStreams+" WHERE projection = ?", name); err != nil {
		return fmt.Errorf("delete checkpoints: %w", err)
	}
	if err := writeCheckpoints(ctx, tx, name, mem); err != nil {
		return err
	}
	for _, t := range []string{tablePositions, tableDeadLetters} {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+t+" WHERE projection = ?", name); err != nil {
			return fmt.Errorf("delete from %s: %w", t, err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO "+t+" SELECT * FROM "+t+"__rebuild WHERE projection = ?", name); err != nil {
			return fmt.Errorf("copy into %s: %w", t, err)
		}
	}
	return nil
}

// swapCopy replaces the live model and the projection's bookkeeping with the rebuilt ones
// (temporary <table>__rebuild) in one transaction, copying the rows.
func swapCopy(ctx context.Context, conn *sql.Conn, d Dialect, name string, tables []string, mem map[streamKey]int64) (err error) {
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
	for _, t := range tables {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+t); err != nil {
			return fmt.Errorf("delete from %s: %w", t, err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO "+t+" SELECT * FROM "+t+"__rebuild"); err != nil {
			return fmt.Errorf("copy into %s: %w", t, err)
		}
	}
	if err := replaceBookkeeping(ctx, tx, name, mem); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// rowSet is rows of a table read generically.
type rowSet struct {
	cols []string
	rows [][]any
}

func readRows(ctx context.Context, conn *sql.Conn, table, name string) (rowSet, error) {
	var rs rowSet
	rows, err := conn.QueryContext(ctx, "SELECT * FROM "+table+" WHERE projection = ?", name)
	if err != nil {
		return rs, fmt.Errorf("read %s: %w", table, err)
	}
	defer rows.Close()
	if rs.cols, err = rows.Columns(); err != nil {
		return rs, fmt.Errorf("read %s: %w", table, err)
	}
	for rows.Next() {
		vals := make([]any, len(rs.cols))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return rs, fmt.Errorf("read %s: %w", table, err)
		}
		rs.rows = append(rs.rows, vals)
	}
	if err := rows.Err(); err != nil {
		return rs, fmt.Errorf("read %s: %w", table, err)
	}
	return rs, nil
}
