package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/posthaste/posthaste/domain/submission"
)

// ErrNoBody is returned by Body for an unknown body id.
var ErrNoBody = errors.New("sqlite: no such body")

// Accept stores a submission's body, appends its events with their outbox rows and inserts
// its extra rows in one transaction (submission.Acceptor), group-committed with concurrent
// appends: when it returns nil the client may be told 250.
func (s *Store) Accept(ctx context.Context, a submission.Acceptance) error {
	extra, err := buildExtraRows(a.Rows)
	if err != nil {
		return err
	}
	return s.appendWith(ctx, a.Events, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO bodies (id, server_id, size, data, created_us) VALUES (?, ?, ?, ?, ?)`,
			a.BodyID, a.ServerID, len(a.Body), a.Body, time.Now().UTC().UnixMicro())
		if err != nil {
			return fmt.Errorf("sqlite: accept: store body: %w", err)
		}
		for _, st := range extra {
			if _, err := tx.ExecContext(ctx, st.query, st.args...); err != nil {
				return fmt.Errorf("sqlite: accept: extra rows: %w", err)
			}
		}
		return nil
	})
}

// extraStmt is one INSERT of an acceptance's extra rows.
type extraStmt struct {
	query string
	args  []any
}

// maxExtraVars bounds the bound variables of one extra-rows INSERT (SQLite allows 32766).
const maxExtraVars = 30000

// buildExtraRows turns submission rows into multi-row INSERTs, one per run of rows with the same
// table and columns. Identifiers are checked: they are written into the statement.
func buildExtraRows(rows []submission.Row) ([]extraStmt, error) {
	var out []extraStmt
	for i := 0; i < len(rows); {
		r := rows[i]
		if !plainIdent(r.Table) || len(r.Columns) == 0 {
			return nil, fmt.Errorf("sqlite: accept: extra row: bad table %q or no columns", r.Table)
		}
		for _, c := range r.Columns {
			if !plainIdent(c) {
				return nil, fmt.Errorf("sqlite: accept: extra row: bad column %q", c)
			}
		}
		head := "INSERT INTO " + r.Table + " (" + strings.Join(r.Columns, ", ") + ") VALUES "
		tuple := "(?" + strings.Repeat(", ?", len(r.Columns)-1) + ")"
		var b strings.Builder
		b.WriteString(head)
		var args []any
		j := i
		for ; j < len(rows) && sameShape(rows[j], r) && len(args)+len(r.Columns) <= maxExtraVars; j++ {
			if len(rows[j].Values) != len(r.Columns) {
				return nil, fmt.Errorf("sqlite: accept: extra row of %s: %d values for %d columns", r.Table, len(rows[j].Values), len(r.Columns))
			}
			if j > i {
				b.WriteString(", ")
			}
			b.WriteString(tuple)
			args = append(args, rows[j].Values...)
		}
		out = append(out, extraStmt{query: b.String(), args: args})
		i = j
	}
	return out, nil
}

func sameShape(a, b submission.Row) bool {
	if a.Table != b.Table || len(a.Columns) != len(b.Columns) {
		return false
	}
	for i := range a.Columns {
		if a.Columns[i] != b.Columns[i] {
			return false
		}
	}
	return true
}

// plainIdent reports whether s is [a-z_][a-z0-9_]*.
func plainIdent(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9' {
			continue
		}
		return false
	}
	return true
}

// Body returns a stored body (dispatch.Bodies).
func (s *Store) Body(ctx context.Context, id string) ([]byte, error) {
	var data []byte
	err := s.w.QueryRowContext(ctx, `SELECT data FROM bodies WHERE id = ?`, id).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s", ErrNoBody, id)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: body %s: %w", id, err)
	}
	return data, nil
}

// SaveTranscript stores an attempt's SMTP transcript (dispatch.Transcripts). Saving the same
// attempt again replaces it.
func (s *Store) SaveTranscript(ctx context.Context, messageID string, attempt int, text string) (string, error) {
	id := messageID + "." + strconv.Itoa(attempt)
	_, err := s.w.ExecContext(ctx, `INSERT OR REPLACE INTO transcripts (id, message_id, attempt, text, created_us) VALUES (?, ?, ?, ?, ?)`,
		id, messageID, attempt, text, time.Now().UTC().UnixMicro())
	if err != nil {
		return "", fmt.Errorf("sqlite: save transcript %s: %w", id, err)
	}
	return id, nil
}

// Transcript returns a stored transcript by id.
func (s *Store) Transcript(ctx context.Context, id string) (string, error) {
	var text string
	if err := s.w.QueryRowContext(ctx, `SELECT text FROM transcripts WHERE id = ?`, id).Scan(&text); err != nil {
		return "", fmt.Errorf("sqlite: transcript %s: %w", id, err)
	}
	return text, nil
}
