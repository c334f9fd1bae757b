package projections

import (
	"context"
	"database/sql"
	"strings"
)

// InsertRows runs head + "(?, …), (?, …)…" + tail for rows, in chunks that stay below every
// supported database's limit on placeholders. The statement of a full chunk is prepared once
// per call, so a long run of rows is parsed once.
//
// Projections do not use it (they write through Tx). It is kept only for the message bodies of
// the two event store adapters until those move into adapters/sqlstore, which has its own;
// delete it then.
func InsertRows(ctx context.Context, tx *sql.Tx, head, tail string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	width := len(rows[0])
	per := max(1, 4000/width)
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
