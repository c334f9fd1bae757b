package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/posthaste/posthaste/projections"
)

// projectionTx is projections.Tx over one SQL transaction of a dialect: what a projection applies
// in. The runner makes one per transaction and hands the same value to Apply, Flush and Discard.
type projectionTx struct {
	*sql.Tx
	d Dialect
}

// NewProjectionTx returns the projections.Tx of tx on a database of dialect d: a projection's
// Apply (and Flush) can run in a transaction of the caller's own (tests, one-off tools). The
// caller commits or rolls back tx.
func NewProjectionTx(tx *sql.Tx, d Dialect) projections.Tx { return &projectionTx{Tx: tx, d: d} }

// InsertIgnore implements projections.Tx.
func (t *projectionTx) InsertIgnore(ctx context.Context, table string, columns []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	return insertRows(ctx, t.Tx, t.d.InsertIgnore()+" INTO "+table+" ("+strings.Join(columns, ", ")+") VALUES ", "", rows)
}

// Upsert implements projections.Tx.
func (t *projectionTx) Upsert(ctx context.Context, table string, columns []projections.Column, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	head, tail, err := upsertStatement(t.d, table, columns)
	if err != nil {
		return err
	}
	return insertRows(ctx, t.Tx, head, tail, rows)
}

// upsertStatement returns the head and the tail of a multi-row upsert into table.
func upsertStatement(d Dialect, table string, columns []projections.Column) (head, tail string, err error) {
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + " (")
	keys := 0
	for i, c := range columns {
		switch c.On {
		case projections.Key:
			keys++
		case projections.Replace, projections.Add, projections.Keep:
		default:
			return "", "", fmt.Errorf("sqlstore: upsert into %s: column %s has no conflict rule", table, c.Name)
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.Name)
	}
	if keys == 0 {
		return "", "", fmt.Errorf("sqlstore: upsert into %s: no key column", table)
	}
	b.WriteString(") VALUES ")
	return b.String(), d.upsertTail(columns), nil
}

// chunkPlaceholders bounds the placeholders of one multi-row statement (SQLite's limit is
// 32766, MariaDB's 65535; a smaller statement is parsed faster).
const chunkPlaceholders = 4000

// insertRows runs head + "(?, …), (?, …)…" + tail for rows, in chunks of at most
// chunkPlaceholders placeholders. The statement of a full chunk is prepared once per call, so
// a long run of rows is parsed once.
func insertRows(ctx context.Context, tx *sql.Tx, head, tail string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	width := len(rows[0])
	if width == 0 {
		return errors.New("sqlstore: insert rows without columns")
	}
	per := max(1, chunkPlaceholders/width)
	ph := "(" + strings.TrimSuffix(strings.Repeat("?, ", width), ", ") + ")"
	text := func(n int) string {
		var b strings.Builder
		b.Grow(len(head) + n*(len(ph)+2) + len(tail))
		b.WriteString(head)
		for i := range n {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(ph)
		}
		b.WriteString(tail)
		return b.String()
	}
	var full *sql.Stmt
	if len(rows) >= 2*per {
		st, err := tx.PrepareContext(ctx, text(per))
		if err != nil {
			return err
		}
		defer st.Close()
		full = st
	}
	args := make([]any, 0, min(per, len(rows))*width)
	for len(rows) > 0 {
		n := min(per, len(rows))
		args = args[:0]
		for _, r := range rows[:n] {
			args = append(args, r...)
		}
		var err error
		if n == per && full != nil {
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, text(n), args...)
		}
		if err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}
