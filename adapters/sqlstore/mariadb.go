package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/posthaste/posthaste/projections"
)

// mariaDB is the production dialect (go-sql-driver/mysql).
type mariaDB struct{}

func (mariaDB) Name() string         { return "mariadb" }
func (mariaDB) InsertIgnore() string { return "INSERT IGNORE" }

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

// storedTime: a DATETIME(6) column takes the time (parseTime=true reads it back).
func (mariaDB) storedTime(t time.Time) any { return t.UTC().Truncate(time.Microsecond) }

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
